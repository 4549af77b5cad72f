// The loader and libraries a dynamically linked guest program needs, found
// in the target's own library directories and ELF-checked.
#include "prepare/dynamic_closure.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "util/error.h"

namespace archmatrix::prepare {
namespace {

namespace fs = std::filesystem;
const fs::path kElf = fs::path(ARCHMATRIX_FIXTURES) / "elf";

bool has(const std::vector<GuestFile>& files, const std::string& guest_path) {
  return std::any_of(files.begin(), files.end(), [&](const auto& f) { return f.guest_path == guest_path; });
}

TEST(DynamicClosure, CrossTargetsUseTheCrossToolchainsLibrariesNotTheHosts) {
  const auto arm = target_library_dirs(util::Arch::aarch64);
  ASSERT_EQ(arm.size(), 1u);
  EXPECT_EQ(arm[0], "/usr/aarch64-linux-gnu/lib");
  EXPECT_EQ(target_library_dirs(util::Arch::armhf).at(0), "/usr/arm-linux-gnueabihf/lib");
}

TEST(DynamicClosure, LoaderAndLibcForEachArch) {
  const std::vector<std::tuple<util::Arch, std::string, std::string>> cases{
      {util::Arch::aarch64, "aarch64-dynamic", "lib/ld-linux-aarch64.so.1"},
      {util::Arch::armhf, "armhf-dynamic", "lib/ld-linux-armhf.so.3"},
      {util::Arch::x86_64, "x86_64-dynamic", "lib64/ld-linux-x86-64.so.2"},
  };
  for (const auto& [arch, file, loader] : cases) {
    const auto files = runtime_closure(kElf / file, arch, target_library_dirs(arch));
    EXPECT_TRUE(has(files, loader)) << file;
    EXPECT_TRUE(has(files, "lib/" + std::string(util::arch_info(arch).triplet) + "/libc.so.6")) << file;
  }
}

TEST(DynamicClosure, AStaticProgramNeedsNothing) {
  EXPECT_TRUE(runtime_closure(kElf / "aarch64-static", util::Arch::aarch64, {"/nonexistent"}).empty());
}

TEST(DynamicClosure, ALibraryOfAnotherArchIsRefusedAndAMissingOneNamed) {
  const fs::path dir = fs::temp_directory_path() / ("am-closure-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1", dir / "ld-linux-aarch64.so.1");
  try {
    runtime_closure(kElf / "aarch64-dynamic", util::Arch::aarch64, {dir});
    ADD_FAILURE() << "no error for a missing libc.so.6";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("libc.so.6 (needed by aarch64-dynamic) is not in"), std::string::npos)
        << e.what();
  }
  fs::copy_file(kElf / "x86_64-lib.so", dir / "libc.so.6");  // a host library where the target's belongs
  try {
    runtime_closure(kElf / "aarch64-dynamic", util::Arch::aarch64, {dir});
    ADD_FAILURE() << "an x86-64 libc.so.6 was accepted for aarch64";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to put it into a aarch64 guest"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace archmatrix::prepare
