#include "elf/elf_check.h"

#include <cstring>

namespace archmatrix::elf {

namespace {

constexpr std::uint32_t kEfArmEabiMask = 0xff000000;
constexpr std::uint32_t kEfArmEabiVer5 = 0x05000000;
constexpr std::uint32_t kEfArmAbiFloatHard = 0x400;
constexpr std::uint32_t kPtInterp = 3;

template <class T>
bool read_le(std::string_view b, std::size_t off, T& out) {
  if (off > b.size() || sizeof(T) > b.size() - off) return false;
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v = static_cast<T>(v | (static_cast<T>(static_cast<unsigned char>(b[off + i])) << (8 * i)));
  out = v;
  return true;
}

std::string machine_name(std::uint16_t m) {
  switch (m) {
    case 3: return "i386";
    case 40: return "ARM";
    case 62: return "x86-64";
    case 183: return "AArch64";
    case 243: return "RISC-V";
    default: return "machine " + std::to_string(m);
  }
}

std::string expected_text(const util::ArchInfo& a) {
  std::string s = std::string("ELF") + (a.elf_class == 2 ? "64 " : "32 ") + machine_name(a.elf_machine);
  if (a.arm_hard_float) s += " (EABI5, hard-float)";
  return s + " for " + std::string(a.name);
}

}  // namespace

std::variant<ElfInfo, std::string> parse_elf(std::string_view b) {
  if (b.size() < 16 || std::memcmp(b.data(), "\x7f" "ELF", 4) != 0) return std::string("not an ELF file");
  ElfInfo info;
  info.elf_class = static_cast<unsigned char>(b[4]);
  info.data = static_cast<unsigned char>(b[5]);
  info.osabi = static_cast<unsigned char>(b[7]);
  if (info.elf_class != 1 && info.elf_class != 2) return std::string("bad ELF class");
  if (info.data != 1) return std::string("big-endian ELF (every supported guest is little-endian)");
  const bool is64 = info.elf_class == 2;
  std::uint64_t phoff = 0;
  std::uint16_t phentsize = 0, phnum = 0;
  bool ok = read_le(b, 16, info.type) && read_le(b, 18, info.machine);
  if (is64) {
    ok = ok && read_le(b, 32, phoff) && read_le(b, 48, info.flags) && read_le(b, 54, phentsize) &&
         read_le(b, 56, phnum);
  } else {
    std::uint32_t off32 = 0;
    ok = ok && read_le(b, 28, off32) && read_le(b, 36, info.flags) && read_le(b, 42, phentsize) &&
         read_le(b, 44, phnum);
    phoff = off32;
  }
  if (!ok) return std::string("truncated ELF header");
  if (phnum > 0 && phentsize < (is64 ? 56 : 32)) return std::string("bad program header size");
  for (std::uint16_t i = 0; i < phnum; ++i) {
    const std::uint64_t ph = phoff + static_cast<std::uint64_t>(i) * phentsize;
    if (ph > b.size()) return std::string("program headers past the end of the file");
    std::uint32_t type = 0;
    std::uint64_t offset = 0, filesz = 0;
    if (is64) {
      ok = read_le(b, ph, type) && read_le(b, ph + 8, offset) && read_le(b, ph + 32, filesz);
    } else {
      std::uint32_t o = 0, f = 0;
      ok = read_le(b, ph, type) && read_le(b, ph + 4, o) && read_le(b, ph + 16, f);
      offset = o;
      filesz = f;
    }
    if (!ok) return std::string("program headers past the end of the file");
    if (type != kPtInterp) continue;
    info.has_interp = true;
    if (offset <= b.size() && filesz <= b.size() - offset) {
      std::string s(b.substr(offset, filesz));
      info.interp = s.substr(0, s.find('\0'));
    }
  }
  return info;
}

std::string describe(const ElfInfo& info) {
  std::string s = std::string("ELF") + (info.elf_class == 2 ? "64 " : "32 ") + machine_name(info.machine);
  if (info.machine == 40) {
    s += (info.flags & kEfArmEabiMask) == kEfArmEabiVer5 ? " (EABI5" : " (not EABI5";
    s += (info.flags & kEfArmAbiFloatHard) ? ", hard-float)" : ", soft-float)";
  }
  return s;
}

std::optional<std::string> check_elf(std::string_view bytes, util::Arch arch, Linkage expected) {
  const util::ArchInfo& a = util::arch_info(arch);
  auto parsed = parse_elf(bytes);
  if (auto* err = std::get_if<std::string>(&parsed)) return *err + ", expected " + expected_text(a);
  const ElfInfo& info = std::get<ElfInfo>(parsed);
  const bool arm_ok = !a.arm_hard_float || ((info.flags & kEfArmEabiMask) == kEfArmEabiVer5 &&
                                            (info.flags & kEfArmAbiFloatHard) != 0);
  if (info.elf_class != a.elf_class || info.machine != a.elf_machine || !arm_ok)
    return "is " + describe(info) + ", expected " + expected_text(a);
  if (info.type != 2 && info.type != 3) return "is not an executable or shared object (ELF type " + std::to_string(info.type) + ")";
  switch (expected) {
    case Linkage::static_exe:
      if (info.has_interp) return "is dynamically linked (interpreter " + info.interp + "), expected a static executable";
      break;
    case Linkage::dynamic_exe:
      if (!info.has_interp) return "is statically linked, expected a dynamically linked executable";
      break;
    case Linkage::shared_lib:
      if (info.type != 3) return "is not a shared object";
      break;
  }
  return std::nullopt;
}

}  // namespace archmatrix::elf
