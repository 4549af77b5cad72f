#pragma once
// ELF identity checks on bytes, so that no binary built for one architecture
// ends up in another's guest (seed 004: "there should be no x86 executables in
// the arm64 .deb package"). Pure: works on the bytes it is handed and reads
// no files; every offset is bounds-checked, the input may be anything.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/arch.h"

namespace archmatrix::elf {

enum class Linkage { static_exe, dynamic_exe, shared_lib };

/// What parse_elf read: the header fields that identify a target, and what
/// the program headers say about linkage.
struct ElfInfo {
  int elf_class = 0;  ///< EI_CLASS: 1 = ELF32, 2 = ELF64
  int data = 0;       ///< EI_DATA: 1 = little-endian, 2 = big-endian
  int osabi = 0;      ///< EI_OSABI: 0 = System V, 3 = GNU/Linux
  std::uint16_t type = 0;     ///< e_type: ET_REL 1, ET_EXEC 2, ET_DYN 3, ET_CORE 4
  std::uint16_t machine = 0;  ///< e_machine: EM_ARM 40, EM_X86_64 62, EM_AARCH64 183
  std::uint32_t flags = 0;    ///< e_flags (ARM: EABI version, float ABI)
  std::uint64_t entry = 0;    ///< e_entry; 0 in a shared library
  bool has_interp = false;    ///< a PT_INTERP program header is present
  std::string interp;         ///< its path, e.g. "/lib/ld-linux-aarch64.so.1"
  std::size_t load_segments = 0;  ///< PT_LOAD count; an executable needs at least one
  bool pie_flag = false;          ///< DF_1_PIE in DT_FLAGS_1 (PIE, static-pie; not a library)
  std::vector<std::string> needed;  ///< DT_NEEDED names, in order
  std::string runpath;              ///< DT_RUNPATH, else DT_RPATH ("" if neither): dirs joined by ':'
};

/// Parses the ELF header and program headers (PN_XNUM included), and the
/// dynamic section if there is one, in either byte order. Anything that does
/// not fit the input (not ELF, truncated, offsets or sizes past the end, a
/// PT_INTERP without its NUL) comes back as a one-line message, never UB.
std::variant<ElfInfo, std::string> parse_elf(std::string_view bytes);

/// A short human name of what info is: "ELF64 AArch64",
/// "ELF32 ARM (EABI5, hard-float)", "ELF32 big-endian PowerPC".
std::string describe(const ElfInfo& info);

/// nullopt if bytes are an ELF file for arch (class, little-endian, machine;
/// for armhf EABI5 and EF_ARM_ABI_FLOAT_HARD) with the expected linkage:
///   static_exe  ET_EXEC, or ET_DYN static-pie; no PT_INTERP
///   dynamic_exe ET_EXEC or ET_DYN PIE with a PT_INTERP
///   shared_lib  ET_DYN that is not marked DF_1_PIE
/// Otherwise one line naming what was found and what was expected, e.g.
/// "is ELF64 x86-64, expected ELF32 ARM (EABI5, hard-float) for armhf".
std::optional<std::string> check_elf(std::string_view bytes, util::Arch arch, Linkage expected);

}  // namespace archmatrix::elf
