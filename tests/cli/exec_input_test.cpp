// `archmatrix exec` given something it cannot run: one line on stderr, the
// exit status a shell would give (126; 127 when there is no file), and
// nothing prepared or booted. "Nothing" is observed: the cache is a fresh
// directory that must stay empty (no kernel, no apt state), and the QEMU
// directory's programs leave a mark when started.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

class ExecInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch("exec-input");
    for (const char* name : {"qemu-system-aarch64", "qemu-system-arm", "qemu-system-x86_64"}) {
      write(dir_ / "qemu" / name, "#!/bin/sh\necho \"$0\" >> \"" + (dir_ / "booted").string() + "\"\nexit 1\n");
      fs::permissions(dir_ / "qemu" / name, fs::perms::owner_all);
    }
    fs::create_directories(dir_ / "cache");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // exec on one cell with these arguments before `--` and this program.
  Outcome exec(const std::string& cell, std::vector<std::string> options, const fs::path& program) {
    std::vector<std::string> args{"exec", "--cell", cell, "--qemu-dir", (dir_ / "qemu").string()};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"--", program.string(), "arg"});
    return run_archmatrix(args, dir_ / "log", {{"XDG_CACHE_HOME", (dir_ / "cache").string()}});
  }

  // The contract: this status, exactly one line "archmatrix exec: <what>...",
  // nothing in the cache, no QEMU started.
  void expect_refused(const Outcome& o, int status, const std::string& what) {
    EXPECT_EQ(o.exit_code, status) << o.log;
    ASSERT_FALSE(o.log.empty());
    EXPECT_EQ(o.log.find('\n'), o.log.size() - 1) << "not one line:\n" << o.log;
    EXPECT_EQ(o.log.rfind("archmatrix exec: " + what, 0), 0u) << "expected 'archmatrix exec: " << what << "' in:\n"
                                                               << o.log;
    EXPECT_TRUE(!fs::exists(dir_ / "cache" / "archmatrix") || fs::is_empty(dir_ / "cache" / "archmatrix"))
        << "something was prepared in the cache";
    EXPECT_FALSE(fs::exists(dir_ / "booted")) << "QEMU was started";
  }

  fs::path dir_;
};

TEST_F(ExecInput, NoFileAtThePathIs127) {
  const fs::path p = dir_ / "no-such-program";
  expect_refused(exec("x86_64-6.1", {}, p), 127, p.string() + ": no such file");
}

TEST_F(ExecInput, ADirectoryIs126) {
  expect_refused(exec("x86_64-6.1", {}, dir_), 126, dir_.string() + ": is a directory, not a program");
}

TEST_F(ExecInput, AScriptIs126AndSaysSo) {
  write(dir_ / "test.sh", "#!/bin/sh\nexit 0\n");
  expect_refused(exec("x86_64-6.1", {}, dir_ / "test.sh"), 126,
                 (dir_ / "test.sh").string() + ": a script (#!/bin/sh), not an ELF executable");
}

TEST_F(ExecInput, ATextFileIs126) {
  write(dir_ / "README", "not a program\n");
  expect_refused(exec("x86_64-6.1", {}, dir_ / "README"), 126,
                 (dir_ / "README").string() + ": a text file, not an ELF executable");
}

TEST_F(ExecInput, ALibDirThatIsNotADirectoryIs125) {
  expect_refused(exec("x86_64-6.1", {"--lib", (dir_ / "nope").string()}, "/bin/true"), 125,
                 "--lib " + (dir_ / "nope").string() + ": not a directory");
}

// A dynamic aarch64 program whose library is not in --lib: the soname, who
// needs it and where it was looked for, before any kernel is prepared.
TEST_F(ExecInput, AMissingLibraryIs126NamingItAndWhoNeedsIt) {
  write(dir_ / "foo.c", "int foo(void) { return 1; }\n");
  write(dir_ / "main.c", "int foo(void);\nint main(void) { return foo(); }\n");
  fs::create_directories(dir_ / "build");
  fs::create_directories(dir_ / "elsewhere");
  const std::string cc = "aarch64-linux-gnu-gcc ";
  if (std::system((cc + "-shared -fPIC -Wl,-soname,libfoo.so.1 -o " + (dir_ / "build/libfoo.so.1").string() + " " +
                   (dir_ / "foo.c").string() + " && " + cc + "-o " + (dir_ / "build/test_bar").string() + " " +
                   (dir_ / "main.c").string() + " " + (dir_ / "build/libfoo.so.1").string())
                      .c_str()) != 0)
    GTEST_SKIP() << "aarch64-linux-gnu-gcc could not build the program";
  fs::remove(dir_ / "build/libfoo.so.1");
  const fs::path prog = dir_ / "build/test_bar";
  expect_refused(exec("aarch64-16k-6.12", {"--lib", (dir_ / "elsewhere").string()}, prog), 126,
                 "libfoo.so.1 (needed by " + prog.string() + ") not found in --lib " + (dir_ / "elsewhere").string() +
                     " or /usr/aarch64-linux-gnu/lib");
}

}  // namespace
}  // namespace archmatrix::testing
