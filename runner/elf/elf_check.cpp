#include "elf/elf_check.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace archmatrix::elf {

namespace {

constexpr std::uint16_t kEtExec = 2, kEtDyn = 3;
constexpr std::uint16_t kEmArm = 40;
constexpr std::uint16_t kPnXnum = 0xffff;
constexpr std::uint32_t kPtLoad = 1, kPtDynamic = 2, kPtInterp = 3;
constexpr std::uint64_t kDtNull = 0, kDtNeeded = 1, kDtStrtab = 5, kDtStrsz = 10, kDtRpath = 15, kDtRunpath = 29,
                        kDtFlags1 = 0x6ffffffb;
constexpr std::uint64_t kDf1Pie = 0x08000000;
constexpr std::uint32_t kEfArmEabiMask = 0xff000000, kEfArmEabiVer5 = 0x05000000;
constexpr std::uint32_t kEfArmAbiFloatSoft = 0x200, kEfArmAbiFloatHard = 0x400;

/// nullopt = fine; otherwise why the file cannot be read as ELF.
using Failure = std::optional<std::string>;

// Offsets and sizes come from the file, so sums of them may wrap: saturate
// instead, and the bounds check that follows rejects the result.
std::uint64_t add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

// Integers in the file's own byte order, at file-supplied offsets; every read
// says whether it fitted rather than trusting the offset.
class Reader {
 public:
  Reader(std::string_view b, bool big_endian, bool is64) : b_(b), big_(big_endian), is64_(is64) {}
  bool is64() const { return is64_; }
  std::uint64_t size() const { return b_.size(); }
  bool fits(std::uint64_t off, std::uint64_t n) const { return off <= b_.size() && n <= b_.size() - off; }
  std::string_view bytes(std::uint64_t off, std::uint64_t n) const { return b_.substr(off, n); }  // after fits()

  template <class T>
  bool get(std::uint64_t off, T& out) const {
    if (!fits(off, sizeof(T))) return false;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      const auto byte = static_cast<unsigned char>(b_[off + (big_ ? i : sizeof(T) - 1 - i)]);
      v = (v << 8) | byte;
    }
    out = static_cast<T>(v);
    return true;
  }
  /// An address, offset or size: 4 bytes in ELF32, 8 in ELF64.
  bool word(std::uint64_t off, std::uint64_t& out) const {
    if (is64_) return get(off, out);
    std::uint32_t v = 0;
    if (!get(off, v)) return false;
    out = v;
    return true;
  }

 private:
  std::string_view b_;
  bool big_;
  bool is64_;
};

struct Segment {
  std::uint32_t type = 0;
  std::uint64_t offset = 0, vaddr = 0, filesz = 0;
};

struct PhdrTable {
  std::uint64_t offset = 0;
  std::uint64_t count = 0;
  std::uint16_t entsize = 0;
};

std::string hex(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  do s.insert(s.begin(), kDigits[v & 0xf]); while ((v >>= 4) != 0);
  return "0x" + s;
}

Failure read_header(const Reader& r, ElfInfo& info, PhdrTable& ph) {
  std::uint64_t shoff = 0;
  std::uint16_t phnum = 0;
  bool ok = r.get(16, info.type) && r.get(18, info.machine) && r.word(24, info.entry);
  if (r.is64())
    ok = ok && r.word(32, ph.offset) && r.word(40, shoff) && r.get(48, info.flags) && r.get(54, ph.entsize) &&
         r.get(56, phnum);
  else
    ok = ok && r.word(28, ph.offset) && r.word(32, shoff) && r.get(36, info.flags) && r.get(42, ph.entsize) &&
         r.get(44, phnum);
  if (!ok) return "truncated ELF header (" + std::to_string(r.size()) + " bytes)";
  ph.count = phnum;
  if (phnum == kPnXnum) {
    // More than 0xfffe program headers: the real count is section header 0's sh_info.
    std::uint32_t n = 0;
    if (!r.get(add(shoff, r.is64() ? 44 : 28), n))
      return "PN_XNUM program header count, but section header 0 is past the end of the file";
    ph.count = n;
  }
  // The kernel refuses any other entry size too (binfmt_elf's load_elf_phdrs).
  const std::uint16_t want = r.is64() ? 56 : 32;
  if (ph.count > 0 && ph.entsize != want)
    return "bad program header entry size " + std::to_string(ph.entsize) + " (expected " + std::to_string(want) + ")";
  if (ph.count > 0 && !r.fits(ph.offset, ph.count * ph.entsize))  // count < 2^32, entsize < 2^16: no wrap
    return "program header table (" + std::to_string(ph.count) + " entries at offset " + hex(ph.offset) +
           ") runs past the end of the " + std::to_string(r.size()) + "-byte file";
  return std::nullopt;
}

std::vector<Segment> read_segments(const Reader& r, const PhdrTable& ph) {
  // read_header checked that the whole table fits, so every get() succeeds.
  std::vector<Segment> out(ph.count);
  for (std::uint64_t i = 0; i < ph.count; ++i) {
    const std::uint64_t at = ph.offset + i * ph.entsize;
    Segment& s = out[i];
    r.get(at, s.type);
    r.word(at + (r.is64() ? 8 : 4), s.offset);
    r.word(at + (r.is64() ? 16 : 8), s.vaddr);
    r.word(at + (r.is64() ? 32 : 16), s.filesz);
  }
  return out;
}

Failure read_interp(const Reader& r, const Segment& s, ElfInfo& info) {
  if (!r.fits(s.offset, s.filesz)) return std::string("PT_INTERP runs past the end of the file");
  const std::string_view path = r.bytes(s.offset, s.filesz);
  const auto nul = path.find('\0');
  // The kernel refuses an interpreter path without its terminating NUL.
  if (nul == std::string_view::npos) return std::string("PT_INTERP path is not NUL-terminated");
  info.has_interp = true;
  info.interp = std::string(path.substr(0, nul));
  return std::nullopt;
}

// DT_STRTAB is an address; the string table's bytes are where a PT_LOAD
// segment maps that address from.
std::optional<std::uint64_t> file_offset(const std::vector<Segment>& segs, std::uint64_t addr) {
  for (const auto& s : segs)
    if (s.type == kPtLoad && addr >= s.vaddr && addr - s.vaddr < s.filesz) return add(s.offset, addr - s.vaddr);
  return std::nullopt;
}

// One NUL-terminated string of the dynamic string table, at `name`.
Failure read_string(const Reader& r, std::uint64_t base, std::uint64_t strsz, std::uint64_t name, const char* what,
                    std::string& out) {
  const std::uint64_t at = add(base, name);
  if (name >= strsz || !r.fits(at, 1)) return std::string(what) + " name at " + hex(name) + " is outside the string table";
  const std::string_view rest = r.bytes(at, std::min(strsz - name, r.size() - at));
  const auto nul = rest.find('\0');
  if (nul == std::string_view::npos) return std::string(what) + " name is not NUL-terminated";
  out = std::string(rest.substr(0, nul));
  return std::nullopt;
}

Failure read_dynamic(const Reader& r, const std::vector<Segment>& segs, const Segment& dyn, ElfInfo& info) {
  if (!r.fits(dyn.offset, dyn.filesz)) return std::string("PT_DYNAMIC runs past the end of the file");
  const std::uint64_t entsize = r.is64() ? 16 : 8;
  std::uint64_t strtab = 0, strsz = 0;
  std::optional<std::uint64_t> rpath, runpath;
  std::vector<std::uint64_t> names;
  for (std::uint64_t at = dyn.offset; dyn.offset + dyn.filesz - at >= entsize; at += entsize) {
    std::uint64_t tag = 0, val = 0;
    r.word(at, tag);
    r.word(at + entsize / 2, val);
    if (tag == kDtNull) break;
    if (tag == kDtNeeded) names.push_back(val);
    if (tag == kDtStrtab) strtab = val;
    if (tag == kDtStrsz) strsz = val;
    if (tag == kDtRpath) rpath = val;
    if (tag == kDtRunpath) runpath = val;
    if (tag == kDtFlags1) info.pie_flag = (val & kDf1Pie) != 0;
  }
  if (names.empty() && !rpath && !runpath) return std::nullopt;
  const auto base = file_offset(segs, strtab);
  if (!base) return "DT_STRTAB address " + hex(strtab) + " is in no PT_LOAD segment";
  for (const std::uint64_t name : names) {
    std::string needed;
    if (auto bad = read_string(r, *base, strsz, name, "DT_NEEDED", needed)) return bad;
    info.needed.push_back(std::move(needed));
  }
  // The loader ignores DT_RPATH when there is a DT_RUNPATH.
  if (runpath) return read_string(r, *base, strsz, *runpath, "DT_RUNPATH", info.runpath);
  if (rpath) return read_string(r, *base, strsz, *rpath, "DT_RPATH", info.runpath);
  return std::nullopt;
}

std::string machine_name(std::uint16_t m) {
  switch (m) {
    case 2: return "SPARC";
    case 3: return "i386";
    case 8: return "MIPS";
    case 20: return "PowerPC";
    case 21: return "PowerPC64";
    case 22: return "S/390";
    case 40: return "ARM";
    case 62: return "x86-64";
    case 183: return "AArch64";
    case 243: return "RISC-V";
    case 258: return "LoongArch";
    default: return "machine " + std::to_string(m);
  }
}

std::string arm_abi(std::uint32_t flags) {
  const std::uint32_t version = flags >> 24;
  if (version == 0) return "old ABI";
  std::string s = "EABI" + std::to_string(version);
  // Before EABI5 these bits meant something else (EF_ARM_VFP_FLOAT, ...).
  if (version != 5) return s;
  if (flags & kEfArmAbiFloatHard) return s + ", hard-float";
  if (flags & kEfArmAbiFloatSoft) return s + ", soft-float";
  return s + ", float ABI unmarked";
}

// What the arch table asks for. Every architecture it knows is little-endian,
// and an ARM one is EABI5 with the float ABI its hard-float column says.
ElfInfo wanted(const util::ArchInfo& a) {
  ElfInfo w;
  w.elf_class = a.elf_class;
  w.data = 1;
  w.machine = a.elf_machine;
  if (w.machine == kEmArm) w.flags = kEfArmEabiVer5 | (a.arm_hard_float ? kEfArmAbiFloatHard : kEfArmAbiFloatSoft);
  return w;
}

bool same_target(const ElfInfo& got, const ElfInfo& want) {
  if (got.elf_class != want.elf_class || got.data != want.data || got.machine != want.machine) return false;
  if (got.machine != kEmArm) return true;
  // soft-float and unmarked EABI5 binaries are both armel, never armhf.
  const bool got_hard = (got.flags & kEfArmAbiFloatHard) != 0;
  const bool want_hard = (want.flags & kEfArmAbiFloatHard) != 0;
  return (got.flags & kEfArmEabiMask) == kEfArmEabiVer5 && got_hard == want_hard;
}

std::string linkage_name(Linkage l) {
  switch (l) {
    case Linkage::static_exe: return "a static executable";
    case Linkage::dynamic_exe: return "a dynamically linked executable";
    case Linkage::shared_lib: return "a shared library";
  }
  return "?";
}

std::string type_name(std::uint16_t type) {
  switch (type) {
    case 0: return "an ELF file of no type (ET_NONE)";
    case 1: return "a relocatable object (ET_REL)";
    case 4: return "a core dump (ET_CORE)";
    default: return "an ELF file of type " + std::to_string(type);
  }
}

Failure linkage_problem(const ElfInfo& info, Linkage expected) {
  const std::string want = ", expected " + linkage_name(expected);
  if (info.type != kEtExec && info.type != kEtDyn) return "is " + type_name(info.type) + want;
  if (info.load_segments == 0) return "has no PT_LOAD segment" + want;
  // ET_DYN is a library or a PIE; linkers since binutils 2.33 mark PIEs with
  // DF_1_PIE, and a library has no entry point where older ones left no mark.
  const bool library = info.type == kEtDyn && !info.pie_flag && info.entry == 0;
  switch (expected) {
    case Linkage::shared_lib:
      if (info.type == kEtExec) return "is an executable (ET_EXEC)" + want;
      if (info.pie_flag) return "is a position-independent executable (DF_1_PIE)" + want;
      return std::nullopt;
    case Linkage::static_exe:
      if (library) return "is a shared library" + want;
      if (info.has_interp) return "is dynamically linked (interpreter " + info.interp + ")" + want;
      // Nothing would load what it needs: the kernel starts it and it crashes.
      if (!info.needed.empty()) return "has no PT_INTERP but needs " + info.needed.front() + want;
      return std::nullopt;
    case Linkage::dynamic_exe:
      if (library) return "is a shared library" + want;
      if (!info.has_interp) return "is statically linked (no PT_INTERP)" + want;
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::variant<ElfInfo, std::string> parse_elf(std::string_view bytes) {
  if (bytes.size() < 16 || std::memcmp(bytes.data(), "\x7f" "ELF", 4) != 0) return std::string("not an ELF file");
  ElfInfo info;
  info.elf_class = static_cast<unsigned char>(bytes[4]);
  info.data = static_cast<unsigned char>(bytes[5]);
  info.osabi = static_cast<unsigned char>(bytes[7]);
  if (info.elf_class != 1 && info.elf_class != 2) return "bad ELF class " + std::to_string(info.elf_class);
  if (info.data != 1 && info.data != 2) return "bad ELF data encoding " + std::to_string(info.data);
  const Reader r(bytes, info.data == 2, info.elf_class == 2);
  PhdrTable table;
  if (auto bad = read_header(r, info, table)) return *bad;
  const std::vector<Segment> segs = read_segments(r, table);
  const Segment* dynamic = nullptr;
  for (const auto& s : segs) {
    if (s.type == kPtLoad) ++info.load_segments;
    // Like the kernel and ld.so, the first PT_INTERP and PT_DYNAMIC count.
    if (s.type == kPtInterp && !info.has_interp)
      if (auto bad = read_interp(r, s, info)) return *bad;
    if (s.type == kPtDynamic && !dynamic) dynamic = &s;
  }
  if (dynamic)
    if (auto bad = read_dynamic(r, segs, *dynamic, info)) return *bad;
  return info;
}

std::string describe(const ElfInfo& info) {
  std::string s = info.elf_class == 2 ? "ELF64 " : info.elf_class == 1 ? "ELF32 " : "ELF ";
  if (info.data == 2) s += "big-endian ";
  s += machine_name(info.machine);
  if (info.machine == kEmArm) s += " (" + arm_abi(info.flags) + ")";
  return s;
}

std::optional<std::string> check_elf(std::string_view bytes, util::Arch arch, Linkage expected) {
  const util::ArchInfo& a = util::arch_info(arch);
  const ElfInfo want = wanted(a);
  const std::string want_text = describe(want) + " for " + std::string(a.name);
  auto parsed = parse_elf(bytes);
  if (const auto* err = std::get_if<std::string>(&parsed)) return *err + ", expected " + want_text;
  const ElfInfo& info = std::get<ElfInfo>(parsed);
  if (!same_target(info, want)) return "is " + describe(info) + ", expected " + want_text;
  return linkage_problem(info, expected);
}

}  // namespace archmatrix::elf
