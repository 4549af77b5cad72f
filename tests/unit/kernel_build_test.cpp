// Kernels built from linux-source-* (prepare/kernel_build.h), up to the
// point before any compiler runs: fake apt tools (fake_apt.h), nothing is
// downloaded or built.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "fake_apt.h"
#include "prepare/kernel_build.h"
#include "util/error.h"
#include "util/sha256.h"

namespace archmatrix::prepare {
namespace {

namespace fs = std::filesystem;

// The linux-source .deb is checked against the index by archmatrix itself
// before it is unpacked: a file that differs is an error naming it and both
// hashes. (Before that check a tampered package went on to `make`; its
// Makefile here fails at once, so nothing is ever compiled.)
TEST(KernelBuildSource, RefusesALinuxSourceDebWhoseSha256IsNotTheIndexs) {
  testing::FakeApt apt("linux-source-sha");
  if (!apt.ready()) GTEST_SKIP() << "this host's apt names no Debian mirror";
  const fs::path work = apt.dir() / "work";
  fs::create_directories(work / "genuine/linux-source-6.1");
  fs::create_directories(work / "tampered/linux-source-6.1");
  std::ofstream(work / "genuine/linux-source-6.1/Makefile") << "allnoconfig:\n\t@echo genuine; false\n";
  std::ofstream(work / "tampered/linux-source-6.1/Makefile") << "allnoconfig:\n\t@echo tampered; false\n";
  const auto tarball = [&](const std::string& which) {
    const auto r = util::run_command({"tar", "-C", (work / which).string(), "-cf",
                                      (work / (which + ".tar")).string(), "linux-source-6.1"});
    if (r.exit_code != 0) throw util::Error(r.output);
    return util::read_file(work / (which + ".tar"));
  };
  const auto genuine = testing::build_deb(work, "genuine", {{"usr/src/linux-source-6.1.tar", tarball("genuine")}});
  const auto tampered = testing::build_deb(work, "tampered", {{"usr/src/linux-source-6.1.tar", tarball("tampered")}});
  apt.package("linux-source-6.1",
              "Package: linux-source-6.1\nVersion: 6.1.99-1\nSHA256: " + util::sha256_file(genuine) + "\n");
  apt.deb("linux-source-6.1", tampered);

  config::KernelRecipe k;
  k.id = "test-built-arm64";
  k.arch = util::Arch::aarch64;
  k.source = config::KernelSource::built;
  k.suite = "bookworm";
  k.package = "linux-source-6.1";
  KernelBuilder builder(apt.dir() / "cache", [](std::string_view) {}, [](const std::string&, const std::string&) {});
  std::string e;
  try {
    builder.build(k, 1, false);
  } catch (const util::Error& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("linux-source-6.1_6.1.99-1_all.deb"), std::string::npos) << e;
  EXPECT_NE(e.find(util::sha256_file(tampered)), std::string::npos) << e;
  EXPECT_NE(e.find(util::sha256_file(genuine)), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(apt.dir() / "cache/sources/linux-source-6.1_6.1.99-1"));
}

}  // namespace
}  // namespace archmatrix::prepare
