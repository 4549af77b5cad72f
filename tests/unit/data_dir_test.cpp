// The installed archmatrix finds its data beside its own executable
// (<prefix>/share/archmatrix), so a staged or relocated prefix works without
// the checkout; a binary in the build tree keeps using the source tree.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "util/data_dir.h"

namespace archmatrix::util {
namespace {

namespace fs = std::filesystem;

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() / ("am-datadir-" + std::to_string(::getpid()));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_ / "prefix" / "bin");
    fs::create_directories(tmp_ / "prefix" / "share" / "archmatrix");
    fs::create_directories(tmp_ / "checkout" / "build");
  }
  void TearDown() override { fs::remove_all(tmp_); }
  void touch(const fs::path& p) { std::ofstream(p) << "cells: []\n"; }
  fs::path tmp_;
};

TEST_F(DataDirTest, AnInstalledBinaryUsesTheShareDirectoryOfItsPrefix) {
  touch(tmp_ / "prefix" / "share" / "archmatrix" / "matrix.yaml");
  EXPECT_EQ(data_dir(tmp_ / "prefix" / "bin" / "archmatrix", tmp_ / "checkout"),
            tmp_ / "prefix" / "share" / "archmatrix");
}

TEST_F(DataDirTest, AShareDirectoryWithoutMatrixYamlIsNotAnInstallation) {
  EXPECT_EQ(data_dir(tmp_ / "prefix" / "bin" / "archmatrix", tmp_ / "checkout"), tmp_ / "checkout");
}

TEST_F(DataDirTest, ABuildTreeBinaryUsesTheSourceTree) {
  touch(tmp_ / "checkout" / "matrix.yaml");
  EXPECT_EQ(data_dir(tmp_ / "checkout" / "build" / "archmatrix", tmp_ / "checkout"), tmp_ / "checkout");
}

TEST_F(DataDirTest, AnUnknownExecutableUsesTheSourceTree) {
  EXPECT_EQ(data_dir(fs::path(), tmp_ / "checkout"), tmp_ / "checkout");
}

TEST(SelfExecutable, IsThisTestBinary) {
  EXPECT_EQ(self_executable().filename(), "unit_tests");
}

}  // namespace
}  // namespace archmatrix::util
