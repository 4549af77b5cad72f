#pragma once
// The guest architectures archmatrix knows, and the facts about each that
// more than one module needs. QEMU specifics live in exec/qemu_command.cpp;
// this table holds only what names, toolchains and ELF checks share.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace archmatrix::util {

enum class Arch { aarch64, armhf, x86_64 };

struct ArchInfo {
  Arch arch;
  std::string_view name;          ///< matrix spelling: aarch64, armhf, x86_64
  std::string_view deb_arch;      ///< Debian architecture: arm64, armhf, amd64
  std::string_view triplet;       ///< GNU triplet of the Debian cross toolchain
  int elf_class;                  ///< 1 = ELFCLASS32, 2 = ELFCLASS64
  std::uint16_t elf_machine;      ///< EM_AARCH64 (183), EM_ARM (40), EM_X86_64 (62)
  bool arm_hard_float;            ///< ARM EABI: EF_ARM_ABI_FLOAT_HARD expected
};

/// All known architectures, in a fixed order (the order reports use).
std::span<const ArchInfo> all_arches();
const ArchInfo& arch_info(Arch a);
std::optional<Arch> parse_arch(std::string_view name);

}  // namespace archmatrix::util
