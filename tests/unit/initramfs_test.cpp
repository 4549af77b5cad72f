#include "prepare/initramfs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util/error.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace archmatrix::prepare {
namespace {

namespace fs = std::filesystem;

class Initramfs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("am-initramfs-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "agent") << "#!agent\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  InitramfsBuilder sample() {
    InitramfsBuilder b;
    b.add_directory("proc");
    b.add_char_device("dev/console", 5, 1, 0600);
    b.add_file("init", dir_ / "agent", 0755);
    b.add_bytes("archmatrix/plan", "nonce 0123456789abcdef\n", 0600);
    b.add_symlink("bin/sh", "/init");
    return b;
  }
  fs::path dir_;
};

TEST_F(Initramfs, RealCpioReadsBackNamesModesAndDevice) {
  sample().write(dir_ / "a.cpio");
  util::CommandOptions o;
  o.cwd = dir_;
  auto r = util::run_command({"sh", "-c", "cpio -ivt < a.cpio 2>/dev/null"}, o);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string& t = r.output;
  for (const char* want : {"drwxr-xr-x", " proc", " dev\n", "crw-------", "5,   1", "dev/console", "-rwxr-xr-x",
                           " init", "-rw-------", "archmatrix/plan", "bin/sh -> /init"})
    EXPECT_NE(t.find(want), std::string::npos) << want << " in\n" << t;
  // Parents come before their children, as the kernel's unpacker needs.
  EXPECT_LT(t.find(" dev\n"), t.find("dev/console"));
  EXPECT_LT(t.find(" archmatrix\n"), t.find("archmatrix/plan"));
  auto body = util::run_command({"sh", "-c", "cd " + dir_.string() + " && mkdir -p x && cd x && cpio -id --quiet < ../a.cpio && cat archmatrix/plan init"});
  EXPECT_EQ(body.output, "nonce 0123456789abcdef\n#!agent\n");
}

TEST_F(Initramfs, SameInputsGiveTheSameBytes) {
  sample().write(dir_ / "a.cpio");
  sample().write(dir_ / "b.cpio");
  EXPECT_EQ(util::read_file(dir_ / "a.cpio"), util::read_file(dir_ / "b.cpio"));
}

TEST_F(Initramfs, MissingSourceNamesItAndWritesNothing) {
  InitramfsBuilder b;
  b.add_file("init", dir_ / "nope", 0755);
  try {
    b.write(dir_ / "c.cpio");
    FAIL() << "expected an error";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "nope").string()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "c.cpio"));
}

}  // namespace
}  // namespace archmatrix::prepare
