#include "elf/elf_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace archmatrix::elf {
namespace {

using util::Arch;

std::string fixture(const std::string& name) {
  std::ifstream in(std::filesystem::path(ARCHMATRIX_FIXTURES) / "elf" / name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << name;
  return ss.str();
}

TEST(ElfCheck, RealBinariesMatchTheirOwnArchAndLinkage) {
  for (auto [arch, name] : {std::pair{Arch::aarch64, "aarch64"}, {Arch::armhf, "armhf"}, {Arch::x86_64, "x86_64"}}) {
    EXPECT_EQ(check_elf(fixture(std::string(name) + "-static"), arch, Linkage::static_exe), std::nullopt) << name;
    EXPECT_EQ(check_elf(fixture(std::string(name) + "-dynamic"), arch, Linkage::dynamic_exe), std::nullopt) << name;
  }
}

TEST(ElfCheck, WrongArchitectureIsRefusedWithBothNames) {
  EXPECT_EQ(check_elf(fixture("x86_64-static"), Arch::aarch64, Linkage::static_exe),
            "is ELF64 x86-64, expected ELF64 AArch64 for aarch64");
  EXPECT_EQ(check_elf(fixture("aarch64-static"), Arch::armhf, Linkage::static_exe),
            "is ELF64 AArch64, expected ELF32 ARM (EABI5, hard-float) for armhf");
  EXPECT_EQ(check_elf(fixture("armhf-static"), Arch::x86_64, Linkage::static_exe),
            "is ELF32 ARM (EABI5, hard-float), expected ELF64 x86-64 for x86_64");
}

TEST(ElfCheck, WrongLinkageIsRefused) {
  auto why = check_elf(fixture("aarch64-dynamic"), Arch::aarch64, Linkage::static_exe);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "is dynamically linked (interpreter /lib/ld-linux-aarch64.so.1), expected a static executable");
  EXPECT_TRUE(check_elf(fixture("armhf-static"), Arch::armhf, Linkage::dynamic_exe));
}

TEST(ElfCheck, SoftFloatArmIsNotArmhf) {
  std::string bytes = fixture("armhf-dynamic");
  // e_flags of ELF32 lives at offset 36: clear EF_ARM_ABI_FLOAT_HARD (0x400), as an armel build has it.
  bytes[37] = static_cast<char>(bytes[37] & ~0x04);
  auto why = check_elf(bytes, Arch::armhf, Linkage::dynamic_exe);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "is ELF32 ARM (EABI5, soft-float), expected ELF32 ARM (EABI5, hard-float) for armhf");
}

TEST(ElfCheck, HostileInputNeverCrashes) {
  const std::string good = fixture("x86_64-dynamic");
  EXPECT_TRUE(check_elf("", Arch::x86_64, Linkage::static_exe));
  EXPECT_TRUE(check_elf("#!/bin/sh\necho hi\n", Arch::x86_64, Linkage::static_exe));
  for (std::size_t n : {4u, 16u, 40u, 63u, 64u, 100u}) EXPECT_TRUE(check_elf(good.substr(0, n), Arch::x86_64, Linkage::dynamic_exe)) << n;
  std::string bogus = good;
  for (int i = 0; i < 8; ++i) bogus[32 + i] = '\xff';  // e_phoff far past the end
  EXPECT_TRUE(check_elf(bogus, Arch::x86_64, Linkage::dynamic_exe));
  bogus = good;
  bogus[56] = '\xff';  // e_phnum huge
  bogus[57] = '\xff';
  EXPECT_TRUE(check_elf(bogus, Arch::x86_64, Linkage::dynamic_exe));
  bogus = good;
  bogus[5] = 2;  // big-endian
  EXPECT_EQ(check_elf(bogus, Arch::x86_64, Linkage::dynamic_exe).value_or("").rfind("big-endian", 0), 0u);
}

}  // namespace
}  // namespace archmatrix::elf
