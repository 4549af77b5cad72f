#include "prepare/program_payload.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "elf/elf_check.h"
#include "prepare/dynamic_closure.h"
#include "util/error.h"
#include "util/text_safe.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;

namespace {

constexpr const char* kProgramDir = "/archmatrix/exec/";

[[noreturn]] void cannot(const fs::path& program, const std::string& why, int status = kCannotExecute) {
  throw util::Error(util::terminal_text(program.string(), 300) + ": " + why, status);
}

// Read through one descriptor that is checked to be a regular file, so a
// FIFO or a device given as the program cannot block or flood us.
std::string read_regular(const fs::path& program) {
  const int fd = ::open(program.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) cannot(program, "no such file", kProgramNotFound);
    cannot(program, std::string("cannot read it: ") + std::strerror(e));
  }
  struct stat st {};
  std::string bytes;
  int err = ::fstat(fd, &st) == 0 ? 0 : errno;
  if (!err && S_ISDIR(st.st_mode)) {
    ::close(fd);
    cannot(program, "is a directory, not a program");
  }
  if (!err && !S_ISREG(st.st_mode)) {
    ::close(fd);
    cannot(program, "is not a regular file");
  }
  char buf[1 << 16];
  while (!err) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (err) cannot(program, std::string("cannot read it: ") + std::strerror(err));
  return bytes;
}

bool looks_like_text(std::string_view bytes) {
  const std::string_view head = bytes.substr(0, 4096);
  return std::none_of(head.begin(), head.end(), [](char c) { return c == '\0'; });
}

// "a, b or c"
std::string either(const std::vector<std::string>& parts) {
  std::string s;
  for (std::size_t i = 0; i < parts.size(); ++i)
    s += (i == 0 ? "" : i + 1 == parts.size() ? " or " : ", ") + parts[i];
  return s;
}

std::string where(const LibrarySearch& s, const std::vector<fs::path>& runpath) {
  std::vector<std::string> parts;
  for (const auto& d : s.lib_dirs) parts.push_back("--lib " + d.string());
  for (const auto& d : runpath) parts.push_back("RUNPATH " + d.string());
  std::string packages;
  for (const auto& n : s.package_names) packages += (packages.empty() ? "" : " ") + n;
  if (!packages.empty()) parts.push_back("--package " + packages);
  for (const auto& d : s.toolchain_dirs) parts.push_back(d.string());
  return either(parts);
}

// The closure's failure said exec's way: what is missing, who needs it, and
// every place that was searched.
[[noreturn]] void closure_failure(const ClosureError& e, const fs::path& program, const LibrarySearch& s,
                                  const std::vector<fs::path>& runpath) {
  using Kind = ClosureError::Kind;
  std::string m;
  if (e.kind == Kind::missing_loader)
    m = fmt::format("{}: its loader {} not found in {}", program.string(), e.name, where(s, runpath));
  else if (e.kind == Kind::missing_library)
    m = fmt::format("{} (needed by {}) not found in {}", e.name, e.needed_by.string(), where(s, runpath));
  else
    m = fmt::format("{} (needed by {}) {}", e.found.string(), e.needed_by.string(), e.why);
  throw util::Error(util::terminal_text(m, 1000), kCannotExecute);
}

// The program's own RUNPATH (or RPATH) directories on the host: absolute
// ones as they are (a CMake build tree's), $ORIGIN as the program's
// directory. Entries with other tokens ($LIB, $PLATFORM) or relative to the
// cwd are left to the guest's loader.
std::vector<fs::path> runpath_dirs(const fs::path& program, const std::string& runpath) {
  std::vector<fs::path> out;
  const fs::path origin = program.has_parent_path() ? program.parent_path() : fs::path(".");
  std::size_t start = 0;
  while (start <= runpath.size()) {
    const auto colon = runpath.find(':', start);
    std::string entry = runpath.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    start = colon == std::string::npos ? runpath.size() + 1 : colon + 1;
    bool usable = !entry.empty() && entry.front() == '/';
    for (const char* token : {"$ORIGIN", "${ORIGIN}"})
      if (entry.rfind(token, 0) == 0) {
        entry = origin.string() + entry.substr(std::strlen(token));
        usable = true;
      }
    if (usable && entry.find('$') == std::string::npos) out.emplace_back(entry);
  }
  return out;
}

}  // namespace

std::string read_program(const fs::path& program) {
  std::string bytes = read_regular(program);
  if (bytes.empty()) cannot(program, "an empty file, not an ELF executable");
  if (bytes.rfind("#!", 0) == 0) {
    const std::string line = bytes.substr(0, bytes.find('\n'));
    cannot(program, "a script (" + util::terminal_text(line, 60) +
                        "), not an ELF executable; exec runs ELF programs of the cell's architecture");
  }
  const auto parsed = elf::parse_elf(bytes);
  if (const auto* why = std::get_if<std::string>(&parsed)) {
    if (bytes.rfind("\x7f" "ELF", 0) != 0 && looks_like_text(bytes))
      cannot(program, "a text file, not an ELF executable");
    cannot(program, "not an ELF executable (" + *why + ")");
  }
  return bytes;
}

std::optional<std::string> program_mismatch(std::string_view bytes, util::Arch arch) {
  const auto parsed = elf::parse_elf(bytes);
  const bool dynamic = std::holds_alternative<elf::ElfInfo>(parsed) && std::get<elf::ElfInfo>(parsed).has_interp;
  return elf::check_elf(bytes, arch, dynamic ? elf::Linkage::dynamic_exe : elf::Linkage::static_exe);
}

ProgramPayload program_payload(const fs::path& program, util::Arch arch, const LibrarySearch& search) {
  for (const auto& d : search.lib_dirs)
    if (!fs::is_directory(d)) throw util::Error("--lib " + d.string() + ": not a directory", kExecFailed);
  const std::string bytes = read_program(program);
  if (auto why = program_mismatch(bytes, arch)) cannot(program, *why);

  ProgramPayload p;
  p.exec_path = kProgramDir + program.filename().string();
  p.files.push_back({program, p.exec_path, 0755});
  const auto info = std::get<elf::ElfInfo>(elf::parse_elf(bytes));
  if (!info.has_interp) return p;

  const std::string triplet(util::arch_info(arch).triplet);
  const std::vector<fs::path> runpath = runpath_dirs(program, info.runpath);
  std::vector<fs::path> dirs = search.lib_dirs;
  dirs.insert(dirs.end(), runpath.begin(), runpath.end());
  if (!search.package_root.empty())
    for (const char* d : {"usr/lib", "lib"}) dirs.push_back(search.package_root / d / triplet);
  dirs.insert(dirs.end(), search.toolchain_dirs.begin(), search.toolchain_dirs.end());
  std::vector<GuestFile> closure;
  try {
    closure = runtime_closure(program, arch, dirs);
  } catch (const ClosureError& e) {
    closure_failure(e, program, search, runpath);
  } catch (const util::Error& e) {  // a library that is not ELF at all
    throw util::Error(util::terminal_text(e.what(), 1000), kCannotExecute);
  }
  // The loader comes first; the kernel opens it for execution, libraries
  // are only mapped.
  for (std::size_t i = 0; i < closure.size(); ++i)
    p.files.push_back({closure[i].host, "/" + closure[i].guest_path, i == 0 ? 0755u : 0644u});
  return p;
}

}  // namespace archmatrix::prepare
