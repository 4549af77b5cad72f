// What `archmatrix exec` sends for a user's program (prepare/program_payload.h):
// a dynamic aarch64 program and its libraries, cross-built here with the real
// toolchain, found in --lib directories, a package root, then the toolchain's;
// a missing or wrong-arch library, a missing loader and inputs that are no
// program are one line with a shell's exit status. Nothing boots.

#include "prepare/program_payload.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "prepare/dynamic_closure.h"
#include "util/error.h"

namespace archmatrix::prepare {
namespace {

namespace fs = std::filesystem;
using util::Arch;

const fs::path kToolchain = "/usr/aarch64-linux-gnu/lib";

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

bool sh(const std::string& command) { return std::system((command + " 2>&1").c_str()) == 0; }

// A failure of program_payload: its status and its message.
struct Failure {
  int status = -1;
  std::string message;
};

Failure failure(const fs::path& program, Arch arch, const LibrarySearch& s) {
  try {
    program_payload(program, arch, s);
  } catch (const util::Error& e) {
    return {e.exit_status(), e.what()};
  }
  return {0, "(no error)"};
}

const PayloadFile* find(const ProgramPayload& p, const std::string& guest_path) {
  auto it = std::find_if(p.files.begin(), p.files.end(), [&](const auto& f) { return f.guest_path == guest_path; });
  return it == p.files.end() ? nullptr : &*it;
}

// dir/a: libbar.so.1 (aarch64) and libqux.so.1 it needs; dir/b: another
// aarch64 libbar.so.1; dir/x86: an x86-64 libbar.so.1; dir/prog linked with
// libbar.so.1 and libc.
class ProgramPayloadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("am-payload-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    const fs::path& d = *dir_;
    write(d / "qux.c", "int qux(void) { return 2; }\n");
    write(d / "bar.c", "int qux(void);\nint bar(void) { return 40 + qux(); }\n");
    write(d / "prog.c", "int bar(void);\nint main(void) { return bar() == 42 ? 0 : 1; }\n");
    fs::create_directories(d / "a");
    fs::create_directories(d / "b");
    fs::create_directories(d / "x86");
    const std::string cc = "aarch64-linux-gnu-gcc -O1 ";
    built_ = sh(cc + "-shared -fPIC -Wl,-soname,libqux.so.1 -o " + (d / "a/libqux.so.1").string() + " " +
                (d / "qux.c").string()) &&
             sh(cc + "-shared -fPIC -Wl,-soname,libbar.so.1 -o " + (d / "a/libbar.so.1").string() + " " +
                (d / "bar.c").string() + " " + (d / "a/libqux.so.1").string()) &&
             sh(cc + "-shared -fPIC -Wl,-soname,libbar.so.1 -o " + (d / "b/libbar.so.1").string() + " " +
                (d / "bar.c").string() + " " + (d / "a/libqux.so.1").string()) &&
             sh(cc + "-o " + (d / "prog").string() + " " + (d / "prog.c").string() + " " +
                (d / "a/libbar.so.1").string() + " -Wl,-rpath-link," + (d / "a").string()) &&
             sh("cc -shared -fPIC -Wl,-soname,libbar.so.1 -o " + (d / "x86/libbar.so.1").string() + " " +
                (d / "qux.c").string());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    if (::access("/usr/bin/aarch64-linux-gnu-gcc", X_OK) != 0) GTEST_SKIP() << "no aarch64-linux-gnu-gcc";
    ASSERT_TRUE(built_) << "the test programs did not build";
  }
  static LibrarySearch search(std::vector<fs::path> lib_dirs) {
    return {std::move(lib_dirs), {}, {}, {kToolchain}};
  }
  static fs::path* dir_;
  static bool built_;
};
fs::path* ProgramPayloadTest::dir_ = nullptr;
bool ProgramPayloadTest::built_ = false;

TEST_F(ProgramPayloadTest, ADynamicProgramTakesItsLoaderAndWholeClosure) {
  const fs::path& d = *dir_;
  const auto p = program_payload(d / "prog", Arch::aarch64, search({d / "a"}));
  EXPECT_EQ(p.exec_path, "/archmatrix/exec/prog");
  ASSERT_FALSE(p.files.empty());
  EXPECT_EQ(p.files[0].host, d / "prog");
  EXPECT_EQ(p.files[0].guest_path, "/archmatrix/exec/prog");
  EXPECT_EQ(p.files[0].mode, 0755u);
  const auto* loader = find(p, "/lib/ld-linux-aarch64.so.1");
  ASSERT_NE(loader, nullptr);
  EXPECT_EQ(loader->host, kToolchain / "ld-linux-aarch64.so.1");
  EXPECT_EQ(loader->mode, 0755u);  // the kernel opens it for execution
  const auto* bar = find(p, "/lib/aarch64-linux-gnu/libbar.so.1");
  ASSERT_NE(bar, nullptr);
  EXPECT_EQ(bar->host, d / "a/libbar.so.1");
  const auto* qux = find(p, "/lib/aarch64-linux-gnu/libqux.so.1");  // needed by libbar, not by the program
  ASSERT_NE(qux, nullptr);
  EXPECT_EQ(qux->host, d / "a/libqux.so.1");
  const auto* libc = find(p, "/lib/aarch64-linux-gnu/libc.so.6");
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(libc->host, kToolchain / "libc.so.6");
  EXPECT_EQ(p.files.size(), 5u);
}

TEST_F(ProgramPayloadTest, TheFirstLibDirWithTheSonameWins) {
  const fs::path& d = *dir_;
  // b has libbar.so.1 but not libqux.so.1: that one still comes from a.
  auto p = program_payload(d / "prog", Arch::aarch64, search({d / "b", d / "a"}));
  EXPECT_EQ(find(p, "/lib/aarch64-linux-gnu/libbar.so.1")->host, d / "b/libbar.so.1");
  EXPECT_EQ(find(p, "/lib/aarch64-linux-gnu/libqux.so.1")->host, d / "a/libqux.so.1");
  p = program_payload(d / "prog", Arch::aarch64, search({d / "a", d / "b"}));
  EXPECT_EQ(find(p, "/lib/aarch64-linux-gnu/libbar.so.1")->host, d / "a/libbar.so.1");
}

TEST_F(ProgramPayloadTest, LibDirsComeBeforeAPackageRootWhichComesBeforeTheToolchain) {
  const fs::path& d = *dir_;
  const fs::path root = d / "pkgroot";
  const fs::path pkg_lib = root / "usr/lib/aarch64-linux-gnu";
  fs::create_directories(pkg_lib);
  fs::copy_file(d / "b/libbar.so.1", pkg_lib / "libbar.so.1", fs::copy_options::overwrite_existing);
  fs::copy_file(d / "a/libqux.so.1", pkg_lib / "libqux.so.1", fs::copy_options::overwrite_existing);
  fs::copy_file(kToolchain / "libc.so.6", pkg_lib / "libc.so.6", fs::copy_options::overwrite_existing);
  LibrarySearch s{{}, root, {"libbar1"}, {kToolchain}};
  auto p = program_payload(d / "prog", Arch::aarch64, s);
  EXPECT_EQ(find(p, "/lib/aarch64-linux-gnu/libbar.so.1")->host, pkg_lib / "libbar.so.1");
  EXPECT_EQ(find(p, "/lib/aarch64-linux-gnu/libc.so.6")->host, pkg_lib / "libc.so.6");
  s.lib_dirs = {d / "a"};
  p = program_payload(d / "prog", Arch::aarch64, s);
  EXPECT_EQ(find(p, "/lib/aarch64-linux-gnu/libbar.so.1")->host, d / "a/libbar.so.1");
}

TEST_F(ProgramPayloadTest, AMissingSonameNamesItWhoNeedsItAndEveryPlaceSearched) {
  const fs::path& d = *dir_;
  Failure f = failure(d / "prog", Arch::aarch64, search({}));
  EXPECT_EQ(f.status, 126);
  EXPECT_EQ(f.message, "libbar.so.1 (needed by " + (d / "prog").string() + ") not found in " + kToolchain.string());
  // libbar.so.1 found in b, its libqux.so.1 nowhere: libbar is who needs it.
  LibrarySearch s{{d / "b", d / "x86"}, d / "nowhere", {"libfoo1", "libfoo-dev"}, {kToolchain}};
  f = failure(d / "prog", Arch::aarch64, s);
  EXPECT_EQ(f.status, 126);
  EXPECT_EQ(f.message, "libqux.so.1 (needed by " + (d / "b/libbar.so.1").string() + ") not found in --lib " +
                           (d / "b").string() + ", --lib " + (d / "x86").string() +
                           ", --package libfoo1 libfoo-dev or " + kToolchain.string());
}

TEST_F(ProgramPayloadTest, AMissingLoaderIs126) {
  const fs::path& d = *dir_;
  const Failure f = failure(d / "prog", Arch::aarch64, {{d / "a"}, {}, {}, {}});
  EXPECT_EQ(f.status, 126);
  EXPECT_EQ(f.message, (d / "prog").string() + ": its loader /lib/ld-linux-aarch64.so.1 not found in --lib " +
                           (d / "a").string());
}

TEST_F(ProgramPayloadTest, ALibraryOfAnotherArchIsRefusedNamingBothMachines) {
  const fs::path& d = *dir_;
  const Failure f = failure(d / "prog", Arch::aarch64, search({d / "x86", d / "a"}));
  EXPECT_EQ(f.status, 126);
  EXPECT_EQ(f.message, (d / "x86/libbar.so.1").string() + " (needed by " + (d / "prog").string() +
                           ") is ELF64 x86-64, expected ELF64 AArch64 for aarch64");
}

TEST_F(ProgramPayloadTest, AProgramOfAnotherArchNamesBothMachines) {
  const Failure f = failure(*dir_ / "prog", Arch::x86_64, {});
  EXPECT_EQ(f.status, 126);
  EXPECT_NE(f.message.find("is ELF64 AArch64, expected ELF64 x86-64 for x86_64"), std::string::npos) << f.message;
  EXPECT_FALSE(program_mismatch(read_program(*dir_ / "prog"), Arch::aarch64));
  EXPECT_TRUE(program_mismatch(read_program(*dir_ / "prog"), Arch::armhf));
}

TEST_F(ProgramPayloadTest, AStaticProgramIsSentAlone) {
  const fs::path& d = *dir_;
  write(d / "static.c", "int main(void) { return 0; }\n");
  ASSERT_TRUE(sh("aarch64-linux-gnu-gcc -static -o " + (d / "static").string() + " " + (d / "static.c").string()));
  const auto p = program_payload(d / "static", Arch::aarch64, {{}, {}, {}, {}});
  ASSERT_EQ(p.files.size(), 1u);
  EXPECT_EQ(p.files[0].guest_path, "/archmatrix/exec/static");
}

// A build tree's program finds its libraries by its RUNPATH, as CMake sets
// it: $ORIGIN-relative and absolute entries are searched after --lib.
TEST_F(ProgramPayloadTest, TheProgramsOwnRunpathIsSearchedAfterLibDirs) {
  const fs::path& d = *dir_;
  ASSERT_TRUE(sh("aarch64-linux-gnu-gcc -o " + (d / "rp-origin").string() + " " + (d / "prog.c").string() + " " +
                 (d / "a/libbar.so.1").string() + " -Wl,-rpath-link," + (d / "a").string() +
                 " -Wl,-rpath,'$ORIGIN/b:/nonexistent/$PLATFORM:" + (d / "a").string() + "'"));
  auto p = program_payload(d / "rp-origin", Arch::aarch64, search({}));
  EXPECT_EQ(find(p, "/lib/aarch64-linux-gnu/libbar.so.1")->host, d / "b/libbar.so.1");  // $ORIGIN/b first
  EXPECT_EQ(find(p, "/lib/aarch64-linux-gnu/libqux.so.1")->host, d / "a/libqux.so.1");  // then the absolute a
  p = program_payload(d / "rp-origin", Arch::aarch64, search({d / "a"}));
  EXPECT_EQ(find(p, "/lib/aarch64-linux-gnu/libbar.so.1")->host, d / "a/libbar.so.1");  // --lib before RUNPATH
  // An RPATH (no --enable-new-dtags) is honoured the same way, and named when the search fails.
  ASSERT_TRUE(sh("aarch64-linux-gnu-gcc -o " + (d / "rp-old").string() + " " + (d / "prog.c").string() + " " +
                 (d / "a/libbar.so.1").string() + " -Wl,-rpath-link," + (d / "a").string() +
                 " -Wl,--disable-new-dtags,-rpath,'$ORIGIN/x86'"));
  const Failure f = failure(d / "rp-old", Arch::aarch64, search({}));
  EXPECT_EQ(f.message, (d / "x86/libbar.so.1").string() + " (needed by " + (d / "rp-old").string() +
                           ") is ELF64 x86-64, expected ELF64 AArch64 for aarch64");
  LibrarySearch none{{}, {}, {}, {kToolchain}};
  fs::rename(d / "x86", d / "x86-away");
  const Failure g = failure(d / "rp-old", Arch::aarch64, none);
  fs::rename(d / "x86-away", d / "x86");
  EXPECT_EQ(g.message, "libbar.so.1 (needed by " + (d / "rp-old").string() + ") not found in RUNPATH " +
                           (d / "x86").string() + " or " + kToolchain.string());
}

// The host's own arch: its libraries come from the host's multiarch directories.
TEST(ProgramPayload, AnX86ProgramTakesTheHostsOwnLibraries) {
  const fs::path d = fs::temp_directory_path() / ("am-payload-x86-" + std::to_string(::getpid()));
  write(d / "hello.c", "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n");
  ASSERT_TRUE(sh("cc -o " + (d / "hello").string() + " " + (d / "hello.c").string()));
  const auto p = program_payload(d / "hello", Arch::x86_64, {{}, {}, {}, target_library_dirs(Arch::x86_64)});
  const auto* loader = find(p, "/lib64/ld-linux-x86-64.so.2");
  ASSERT_NE(loader, nullptr);
  EXPECT_EQ(loader->mode, 0755u);
  const auto* libc = find(p, "/lib/x86_64-linux-gnu/libc.so.6");
  ASSERT_NE(libc, nullptr);
  EXPECT_TRUE(libc->host == "/lib/x86_64-linux-gnu/libc.so.6" || libc->host == "/usr/lib/x86_64-linux-gnu/libc.so.6")
      << libc->host;
  fs::remove_all(d);
}

// Inputs that are no program: one line naming the path and what it is, 126;
// 127 only when there is nothing at the path (as a shell says).
TEST(ProgramPayload, WhatIsNotAProgramIsSaidInOneLine) {
  const fs::path d = fs::temp_directory_path() / ("am-payload-bad-" + std::to_string(::getpid()));
  write(d / "run.sh", "#!/bin/sh\necho hi\n");
  write(d / "notes.txt", "just some text\nover two lines\n");
  write(d / "empty", "");
  write(d / "junk", std::string("\x01\x02\x00\x03 binary", 10));
  ::mkfifo((d / "fifo").c_str(), 0600);
  const auto fail = [&](const fs::path& p) {
    try {
      read_program(p);
    } catch (const util::Error& e) {
      return Failure{e.exit_status(), e.what()};
    }
    return Failure{0, "(no error)"};
  };
  const std::vector<std::tuple<fs::path, int, std::string>> cases{
      {d / "run.sh", 126,
       "run.sh: a script (#!/bin/sh), not an ELF executable; exec runs ELF programs of the cell's architecture"},
      {d / "notes.txt", 126, "notes.txt: a text file, not an ELF executable"},
      {d / "empty", 126, "empty: an empty file, not an ELF executable"},
      {d / "junk", 126, "junk: not an ELF executable ("},
      {d, 126, ": is a directory, not a program"},
      {d / "fifo", 126, "fifo: is not a regular file"},
      {d / "missing", 127, "missing: no such file"},
      {d / "run.sh" / "x", 127, "x: no such file"},
  };
  for (const auto& [path, status, what] : cases) {
    const Failure f = fail(path);
    EXPECT_EQ(f.status, status) << path;
    EXPECT_NE(f.message.find(what), std::string::npos) << path << ": " << f.message;
    EXPECT_EQ(f.message.find('\n'), std::string::npos) << f.message;
    EXPECT_EQ(f.message.rfind(path.string(), 0), 0u) << f.message;
  }
  fs::remove_all(d);
}

TEST(ProgramPayload, ALibDirThatIsNotADirectoryIs125) {
  try {
    program_payload("/bin/true", Arch::x86_64, {{"/nonexistent-lib-dir"}, {}, {}, {}});
    ADD_FAILURE() << "no error";
  } catch (const util::Error& e) {
    EXPECT_EQ(e.exit_status(), 125);
    EXPECT_EQ(std::string(e.what()), "--lib /nonexistent-lib-dir: not a directory");
  }
}

}  // namespace
}  // namespace archmatrix::prepare
