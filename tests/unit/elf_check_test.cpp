#include "elf/elf_check.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace archmatrix::elf {
namespace {

using util::Arch;

// The fixtures are real binaries from Debian's toolchains; see
// tests/fixtures/elf/README.md for how each was made.
std::string fixture(const std::string& name) {
  std::ifstream in(std::filesystem::path(ARCHMATRIX_FIXTURES) / "elf" / name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << name;
  return ss.str();
}

constexpr std::pair<Arch, const char*> kArches[] = {
    {Arch::aarch64, "aarch64"}, {Arch::armhf, "armhf"}, {Arch::x86_64, "x86_64"}};

// Little- or big-endian field writers for patching copies of the fixtures.
void put(std::string& b, std::size_t off, std::uint64_t v, int size, bool big = false) {
  for (int i = 0; i < size; ++i) {
    const int shift = 8 * (big ? size - 1 - i : i);
    b.at(off + static_cast<std::size_t>(i)) = static_cast<char>((v >> shift) & 0xff);
  }
}
std::uint64_t get(const std::string& b, std::size_t off, int size) {
  std::uint64_t v = 0;
  for (int i = size - 1; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(b.at(off + static_cast<std::size_t>(i)));
  return v;
}

// Offset of the first ELF64 little-endian program header of the given type.
std::size_t phdr64(const std::string& b, std::uint32_t type) {
  const std::size_t phoff = get(b, 32, 8), phnum = get(b, 56, 2);
  for (std::size_t i = 0; i < phnum; ++i)
    if (get(b, phoff + i * 56, 4) == type) return phoff + i * 56;
  ADD_FAILURE() << "no program header of type " << type;
  return 0;
}

// A bare ELF header with no program headers, in either class and byte order.
std::string header(int elf_class, bool big, std::uint16_t type, std::uint16_t machine, std::uint32_t flags = 0) {
  std::string b(elf_class == 2 ? 64 : 52, '\0');
  b.replace(0, 4, "\x7f" "ELF");
  b[4] = static_cast<char>(elf_class);
  b[5] = big ? 2 : 1;
  b[6] = 1;
  put(b, 16, type, 2, big);
  put(b, 18, machine, 2, big);
  put(b, 20, 1, 4, big);
  put(b, elf_class == 2 ? 48 : 36, flags, 4, big);
  return b;
}

TEST(ElfCheck, RealBinariesMatchTheirOwnArchAndLinkage) {
  for (const auto& [arch, name] : kArches) {
    const std::string n = name;
    EXPECT_EQ(check_elf(fixture(n + "-static"), arch, Linkage::static_exe), std::nullopt) << n;
    EXPECT_EQ(check_elf(fixture(n + "-static-pie"), arch, Linkage::static_exe), std::nullopt) << n;
    EXPECT_EQ(check_elf(fixture(n + "-dynamic"), arch, Linkage::dynamic_exe), std::nullopt) << n;
    EXPECT_EQ(check_elf(fixture(n + "-lib.so"), arch, Linkage::shared_lib), std::nullopt) << n;
  }
}

TEST(ElfParse, ReadsIdentityInterpreterNeededAndPieFlag) {
  auto parsed = parse_elf(fixture("aarch64-dynamic"));
  ASSERT_TRUE(std::holds_alternative<ElfInfo>(parsed)) << std::get<std::string>(parsed);
  const ElfInfo& a = std::get<ElfInfo>(parsed);
  EXPECT_EQ(a.elf_class, 2);
  EXPECT_EQ(a.data, 1);
  EXPECT_EQ(a.type, 3);
  EXPECT_EQ(a.machine, 183);
  EXPECT_TRUE(a.has_interp);
  EXPECT_EQ(a.interp, "/lib/ld-linux-aarch64.so.1");
  EXPECT_EQ(a.needed, std::vector<std::string>{"libc.so.6"});
  EXPECT_TRUE(a.pie_flag);
  EXPECT_GE(a.load_segments, 1u);

  parsed = parse_elf(fixture("armhf-dynamic"));
  ASSERT_TRUE(std::holds_alternative<ElfInfo>(parsed)) << std::get<std::string>(parsed);
  const ElfInfo& h = std::get<ElfInfo>(parsed);
  EXPECT_EQ(h.elf_class, 1);
  EXPECT_EQ(h.machine, 40);
  EXPECT_EQ(h.flags, 0x05000400u);
  EXPECT_EQ(h.interp, "/lib/ld-linux-armhf.so.3");
  EXPECT_EQ(h.needed, std::vector<std::string>{"libc.so.6"});
  EXPECT_EQ(describe(h), "ELF32 ARM (EABI5, hard-float)");

  parsed = parse_elf(fixture("x86_64-static"));
  ASSERT_TRUE(std::holds_alternative<ElfInfo>(parsed)) << std::get<std::string>(parsed);
  const ElfInfo& s = std::get<ElfInfo>(parsed);
  EXPECT_EQ(s.type, 2);
  EXPECT_FALSE(s.has_interp);
  EXPECT_TRUE(s.needed.empty());
  EXPECT_FALSE(s.pie_flag);
}

TEST(ElfCheck, WrongArchitectureIsRefusedWithBothNames) {
  EXPECT_EQ(check_elf(fixture("x86_64-static"), Arch::aarch64, Linkage::static_exe),
            "is ELF64 x86-64, expected ELF64 AArch64 for aarch64");
  EXPECT_EQ(check_elf(fixture("x86_64-dynamic"), Arch::armhf, Linkage::dynamic_exe),
            "is ELF64 x86-64, expected ELF32 ARM (EABI5, hard-float) for armhf");
  EXPECT_EQ(check_elf(fixture("aarch64-static"), Arch::armhf, Linkage::static_exe),
            "is ELF64 AArch64, expected ELF32 ARM (EABI5, hard-float) for armhf");
  EXPECT_EQ(check_elf(fixture("armhf-static"), Arch::x86_64, Linkage::static_exe),
            "is ELF32 ARM (EABI5, hard-float), expected ELF64 x86-64 for x86_64");
  // Every pairing, every kind of file: the arch is checked before linkage.
  for (const auto& [built, built_name] : kArches)
    for (const auto& [guest, guest_name] : kArches) {
      if (built == guest) continue;
      for (const char* kind : {"-static", "-static-pie", "-dynamic", "-lib.so"}) {
        auto why = check_elf(fixture(std::string(built_name) + kind), guest, Linkage::static_exe);
        ASSERT_TRUE(why) << built_name << kind << " in " << guest_name;
        EXPECT_EQ(why->rfind("is ELF", 0), 0u) << *why;
        EXPECT_NE(why->find(std::string("for ") + guest_name), std::string::npos) << *why;
      }
    }
}

TEST(ElfCheck, WrongLinkageIsRefused) {
  EXPECT_EQ(check_elf(fixture("aarch64-dynamic"), Arch::aarch64, Linkage::static_exe),
            "is dynamically linked (interpreter /lib/ld-linux-aarch64.so.1), expected a static executable");
  EXPECT_EQ(check_elf(fixture("armhf-static"), Arch::armhf, Linkage::dynamic_exe),
            "is statically linked (no PT_INTERP), expected a dynamically linked executable");
  EXPECT_EQ(check_elf(fixture("x86_64-static-pie"), Arch::x86_64, Linkage::dynamic_exe),
            "is statically linked (no PT_INTERP), expected a dynamically linked executable");
  EXPECT_EQ(check_elf(fixture("x86_64-lib.so"), Arch::x86_64, Linkage::static_exe),
            "is a shared library, expected a static executable");
  EXPECT_EQ(check_elf(fixture("aarch64-lib.so"), Arch::aarch64, Linkage::dynamic_exe),
            "is a shared library, expected a dynamically linked executable");
  EXPECT_EQ(check_elf(fixture("x86_64-dynamic"), Arch::x86_64, Linkage::shared_lib),
            "is a position-independent executable (DF_1_PIE), expected a shared library");
  EXPECT_EQ(check_elf(fixture("armhf-static"), Arch::armhf, Linkage::shared_lib),
            "is an executable (ET_EXEC), expected a shared library");
}

TEST(ElfCheck, ArmhfGccStaticPieAsksForTheDynamicLinker) {
  // Debian's arm-linux-gnueabihf-gcc 12 turns -static-pie into a PIE with
  // PT_INTERP: in an initramfs without ld.so it would not start.
  EXPECT_EQ(check_elf(fixture("armhf-gcc-static-pie"), Arch::armhf, Linkage::static_exe),
            "is dynamically linked (interpreter /lib/ld-linux-armhf.so.3), expected a static executable");
}

TEST(ElfCheck, SoftFloatArmIsNotArmhf) {
  EXPECT_EQ(check_elf(fixture("armel-static"), Arch::armhf, Linkage::static_exe),
            "is ELF32 ARM (EABI5, soft-float), expected ELF32 ARM (EABI5, hard-float) for armhf");
  // e_flags of ELF32 is at offset 36. With neither float flag (older armel
  // toolchains) it is still not armhf.
  std::string bytes = fixture("armhf-static");
  put(bytes, 36, 0x05000000, 4);
  EXPECT_EQ(check_elf(bytes, Arch::armhf, Linkage::static_exe),
            "is ELF32 ARM (EABI5, float ABI unmarked), expected ELF32 ARM (EABI5, hard-float) for armhf");
  put(bytes, 36, 0x04000400, 4);  // EABI4: 0x400 meant EF_ARM_VFP_FLOAT then, not hard-float
  EXPECT_EQ(check_elf(bytes, Arch::armhf, Linkage::static_exe),
            "is ELF32 ARM (EABI4), expected ELF32 ARM (EABI5, hard-float) for armhf");
  put(bytes, 36, 0x00000000, 4);
  EXPECT_EQ(check_elf(bytes, Arch::armhf, Linkage::static_exe),
            "is ELF32 ARM (old ABI), expected ELF32 ARM (EABI5, hard-float) for armhf");
}

TEST(ElfCheck, BigEndianAndOtherTypesAreNamed) {
  EXPECT_EQ(check_elf(header(2, true, 2, 21), Arch::aarch64, Linkage::static_exe),
            "is ELF64 big-endian PowerPC64, expected ELF64 AArch64 for aarch64");
  EXPECT_EQ(check_elf(header(1, true, 2, 40, 0x05000400), Arch::armhf, Linkage::static_exe),
            "is ELF32 big-endian ARM (EABI5, hard-float), expected ELF32 ARM (EABI5, hard-float) for armhf");
  EXPECT_EQ(check_elf(header(1, false, 2, 62), Arch::x86_64, Linkage::static_exe),  // x32
            "is ELF32 x86-64, expected ELF64 x86-64 for x86_64");
  EXPECT_EQ(check_elf(header(2, false, 1, 62), Arch::x86_64, Linkage::static_exe),
            "is a relocatable object (ET_REL), expected a static executable");
  EXPECT_EQ(check_elf(header(2, false, 2, 62), Arch::x86_64, Linkage::static_exe),
            "has no PT_LOAD segment, expected a static executable");
}

TEST(ElfParse, HostileHeadersAreMessages) {
  const std::string good = fixture("x86_64-dynamic");
  auto error = [](const std::string& bytes) {
    auto parsed = parse_elf(bytes);
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : std::string("(parsed)");
  };
  EXPECT_EQ(error(""), "not an ELF file");
  EXPECT_EQ(error("#!/bin/sh\necho hi\n"), "not an ELF file");
  EXPECT_EQ(error(good.substr(0, 40)), "truncated ELF header (40 bytes)");
  std::string b = good;
  b[4] = 3;
  EXPECT_EQ(error(b), "bad ELF class 3");
  b = good;
  b[5] = 0;
  EXPECT_EQ(error(b), "bad ELF data encoding 0");
  b = good;
  put(b, 32, ~std::uint64_t{0}, 8);  // e_phoff at the very top of the address space
  EXPECT_NE(error(b).find("program header table"), std::string::npos) << error(b);
  b = good;
  put(b, 56, 0xfffe, 2);  // e_phnum huge
  EXPECT_NE(error(b).find("runs past the end"), std::string::npos) << error(b);
  b = good;
  put(b, 54, 40, 2);  // e_phentsize
  EXPECT_EQ(error(b), "bad program header entry size 40 (expected 56)");
  b = good;
  put(b, 56, 0xffff, 2);  // PN_XNUM, and e_shoff wild
  put(b, 40, 0xffffffffffffffd0, 8);
  EXPECT_EQ(error(b), "PN_XNUM program header count, but section header 0 is past the end of the file");
}

TEST(ElfParse, PnXnumTakesTheCountFromSectionHeaderZero) {
  std::string b = fixture("x86_64-dynamic");
  const std::uint64_t phnum = get(b, 56, 2);
  const std::size_t sh0 = b.size();
  b.append(64, '\0');
  put(b, sh0 + 44, phnum, 4);  // sh_info
  put(b, 40, sh0, 8);          // e_shoff
  put(b, 56, 0xffff, 2);
  auto parsed = parse_elf(b);
  ASSERT_TRUE(std::holds_alternative<ElfInfo>(parsed)) << std::get<std::string>(parsed);
  EXPECT_EQ(std::get<ElfInfo>(parsed).interp, "/lib64/ld-linux-x86-64.so.2");
}

TEST(ElfParse, HostileSegmentsAreMessages) {
  const std::string good = fixture("x86_64-dynamic");
  auto error = [](const std::string& bytes) {
    auto parsed = parse_elf(bytes);
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : std::string("(parsed)");
  };
  std::string b = good;
  put(b, phdr64(b, 3) + 8, 0x7ffffffffffffff0, 8);  // PT_INTERP p_offset
  EXPECT_EQ(error(b), "PT_INTERP runs past the end of the file");
  b = good;
  const std::size_t interp = b.find("/lib64/ld-linux-x86-64.so.2");
  b[interp + 27] = 'X';  // its NUL
  EXPECT_EQ(error(b), "PT_INTERP path is not NUL-terminated");
  b = good;
  put(b, phdr64(b, 2) + 32, 0xffffffffffffffff, 8);  // PT_DYNAMIC p_filesz
  EXPECT_EQ(error(b), "PT_DYNAMIC runs past the end of the file");
  b = good;
  const std::size_t dyn = get(b, phdr64(b, 2) + 8, 8);
  for (std::size_t at = dyn; get(b, at, 8) != 0; at += 16)
    if (get(b, at, 8) == 5) put(b, at + 8, 0xdead0000000, 8);  // DT_STRTAB
  EXPECT_EQ(error(b), "DT_STRTAB address 0xdead0000000 is in no PT_LOAD segment");
}

TEST(ElfParse, TruncatedAndCorruptedFilesNeverCrash) {
  // Every prefix, then random byte overwrites (fixed seed): each must come
  // back as an ElfInfo or a message. Run under ASan/UBSan to make this bite.
  for (const char* name : {"x86_64-dynamic", "armhf-dynamic", "aarch64-static-pie"}) {
    const std::string good = fixture(name);
    for (std::size_t n = 0; n <= good.size(); ++n) {
      auto parsed = parse_elf(std::string_view(good).substr(0, n));
      if (n < 52) {
        EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << name << " " << n;
      }
    }
    std::mt19937 rng(4);
    for (int round = 0; round < 3000; ++round) {
      std::string b = good;
      for (int k = 0; k < 4; ++k) {
        // Bias towards the headers, where the offsets live.
        const std::size_t at = rng() % (round % 2 ? b.size() : std::min<std::size_t>(b.size(), 512));
        b[at] = static_cast<char>(rng());
      }
      (void)parse_elf(b);
      (void)check_elf(b, Arch::x86_64, Linkage::dynamic_exe);
    }
  }
}

}  // namespace
}  // namespace archmatrix::elf
