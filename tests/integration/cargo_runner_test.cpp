// Cargo's runner setting with archmatrix exec (README, "Run your own
// program"): Debian's own cargo and rustc cross-build the demo crate
// (tests/fixtures/cargo-demo) for aarch64, with the target's std from
// ci/rust-aarch64-sysroot.sh, and `cargo test` runs the dynamic test binary
// in a real guest. On the 64K cell the test that assumes 4096-byte pages
// fails with its own message and cargo says so; the environment-variable
// form, which overrides the config file, runs the same tests on a 4K cell,
// where both pass. One boot per test.

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <gtest/gtest.h>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

const std::string kRoot = ARCHMATRIX_SOURCE_ROOT;
const std::string kMatrix = kRoot + "/tests/integration/matrix.yaml";

std::string quoted(const std::string& s) { return "'" + s + "'"; }

class CargoRunner : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch("cargo"));
    if (!fs::exists("/usr/bin/cargo") || !fs::exists("/usr/bin/rustc")) {
      setup_error_ = new std::string("no /usr/bin/cargo or /usr/bin/rustc: ci/setup.sh installs Debian's rustc and cargo");
      return;
    }
    // The script prints the sysroot's path last; its progress goes to stderr.
    const fs::path log = *dir_ / "sysroot.log";
    const int rc = std::system(("bash " + quoted(kRoot + "/ci/rust-aarch64-sysroot.sh") + " >" +
                                quoted((*dir_ / "sysroot.path").string()) + " 2>" + quoted(log.string()))
                                   .c_str());
    std::string path = slurp(*dir_ / "sysroot.path");
    while (!path.empty() && path.back() == '\n') path.pop_back();
    if (rc != 0 || path.empty() || !fs::is_directory(path)) {
      setup_error_ = new std::string("ci/rust-aarch64-sysroot.sh failed: " + slurp(log));
      return;
    }
    sysroot_ = new std::string(path);

    // A copy of the fixture: its target/ stays out of the source tree.
    const fs::path crate = *dir_ / "crate";
    fs::create_directories(crate / ".cargo");
    fs::copy(kRoot + "/tests/fixtures/cargo-demo/Cargo.toml", crate / "Cargo.toml");
    fs::copy(kRoot + "/tests/fixtures/cargo-demo/src", crate / "src", fs::copy_options::recursive);
    std::ofstream(crate / ".cargo" / "config.toml")
        << "[target.aarch64-unknown-linux-gnu]\n"
        << "linker = \"aarch64-linux-gnu-gcc\"\n"
        << "runner = [\"" << ARCHMATRIX_BIN << "\", \"exec\", \"--matrix\", \"" << kMatrix
        << "\", \"--cell\", \"aarch64-64k-va48\", \"--\"]\n";
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete sysroot_;
    delete setup_error_;
  }

  // `cargo test` for aarch64 in the crate with Debian's cargo and rustc only
  // (a rustup in PATH or ~/.cargo is not used: RUSTC, CARGO_HOME), offline;
  // `extra_env` is prepended as NAME=value words. Cargo's own output, and
  // the test binary's, which the runner passes through, go to the log.
  static Outcome cargo_test(const std::string& extra_env, const std::string& log_name) {
    const fs::path log = *dir_ / log_name;
    const std::string cmd = "cd " + quoted((*dir_ / "crate").string()) + " && env " + extra_env +
                            " CARGO_HOME=" + quoted((*dir_ / "cargo-home").string()) +
                            " RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTFLAGS=" +
                            quoted("--sysroot " + *sysroot_) +
                            " /usr/bin/cargo test --offline --target aarch64-unknown-linux-gnu >" +
                            quoted(log.string()) + " 2>&1";
    Outcome o;
    const int status = std::system(cmd.c_str());
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.log = slurp(log);
    return o;
  }

  static fs::path* dir_;
  static std::string* sysroot_;
  static std::string* setup_error_;
};
fs::path* CargoRunner::dir_ = nullptr;
std::string* CargoRunner::sysroot_ = nullptr;
std::string* CargoRunner::setup_error_ = nullptr;

TEST_F(CargoRunner, ConfigRunnerOn64KShowsTheTestsOwnFailure) {
  ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
  const Outcome o = cargo_test("", "64k.log");
  EXPECT_EQ(o.exit_code, 101);  // cargo's status for a failed test
  EXPECT_NE(o.log.find("test tests::portable_guard_page_uses_the_kernels_page_size ... ok"), std::string::npos);
  EXPECT_NE(o.log.find("test tests::guard_page_assumes_4k_pages ... FAILED"), std::string::npos);
  EXPECT_NE(o.log.find("assumes_4k_pages: guard page at +4096: Invalid argument (os error 22) (built for "
                       "4096-byte pages, the kernel uses 65536)"),
            std::string::npos);
  EXPECT_NE(o.log.find("test result: FAILED. 1 passed; 1 failed"), std::string::npos);
  EXPECT_EQ(qemu_processes_mentioning("archmatrix-exec-"), 0);
  if (HasFailure()) std::cerr << "cargo test said:\n" << o.log;
}

TEST_F(CargoRunner, EnvironmentRunnerOn4KOverridesTheConfigAndPasses) {
  ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
  const std::string runner = std::string(ARCHMATRIX_BIN) + " exec --matrix " + kMatrix + " --cell aarch64-4k-6.12 --";
  const Outcome o = cargo_test("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=" + quoted(runner), "4k.log");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.log.find("test tests::guard_page_assumes_4k_pages ... ok"), std::string::npos);
  EXPECT_NE(o.log.find("test result: ok. 2 passed; 0 failed"), std::string::npos);
  if (HasFailure()) std::cerr << "cargo test said:\n" << o.log;
}

}  // namespace
}  // namespace archmatrix::testing
