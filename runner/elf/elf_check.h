#pragma once
// ELF identity checks on bytes, so that no binary built for one architecture
// ends up in another's guest (seed 004: "there should be no x86 executables in
// the arm64 .deb package"). Pure: works on the bytes it is handed; every
// offset is bounds-checked, the input may be anything.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "util/arch.h"

namespace archmatrix::elf {

enum class Linkage { static_exe, dynamic_exe, shared_lib };

struct ElfInfo {
  int elf_class = 0;  ///< 1 = 32-bit, 2 = 64-bit
  int data = 0;       ///< 1 = little-endian, 2 = big-endian
  int osabi = 0;
  std::uint16_t type = 0;  ///< ET_EXEC 2, ET_DYN 3
  std::uint16_t machine = 0;
  std::uint32_t flags = 0;
  bool has_interp = false;
  std::string interp;
};

/// Parses the ELF header and program headers, or says why it cannot.
std::variant<ElfInfo, std::string> parse_elf(std::string_view bytes);

/// A short human name: "ELF64 AArch64", "ELF32 ARM (EABI5, hard-float)".
std::string describe(const ElfInfo& info);

/// nullopt if bytes are an ELF file for arch with the expected linkage;
/// otherwise one line naming what was expected and what was found.
std::optional<std::string> check_elf(std::string_view bytes, util::Arch arch, Linkage expected);

}  // namespace archmatrix::elf
