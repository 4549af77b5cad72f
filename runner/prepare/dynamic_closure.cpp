#include "prepare/dynamic_closure.h"

#include <fmt/format.h>

#include <deque>
#include <set>

#include "elf/elf_check.h"
#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;

std::vector<fs::path> target_library_dirs(util::Arch arch) {
  const std::string triplet(util::arch_info(arch).triplet);
  const fs::path cross = fs::path("/usr") / triplet / "lib";
  if (fs::exists(cross / "libc.so.6")) return {cross};
  // The host's own arch (x86_64 here): its multiarch directories.
  return {fs::path("/lib") / triplet, fs::path("/usr/lib") / triplet};
}

namespace {

elf::ElfInfo parse_or_throw(const fs::path& file) {
  auto parsed = elf::parse_elf(util::read_file(file));
  if (auto* why = std::get_if<std::string>(&parsed)) throw util::Error(file.string() + ": " + *why);
  return std::get<elf::ElfInfo>(parsed);
}

fs::path find_in(const std::vector<fs::path>& search, const std::string& name) {
  for (const auto& d : search)
    if (fs::is_regular_file(d / name)) return d / name;
  return {};
}

}  // namespace

std::vector<GuestFile> runtime_closure(const fs::path& exe, util::Arch arch, const std::vector<fs::path>& search) {
  using Kind = ClosureError::Kind;
  const std::string triplet(util::arch_info(arch).triplet);
  const elf::ElfInfo info = parse_or_throw(exe);
  std::vector<GuestFile> out;
  std::string dirs;
  for (const auto& d : search) dirs += (dirs.empty() ? "" : ", ") + d.string();
  const auto check = [&](const fs::path& file, const std::string& name, const fs::path& by) {
    if (auto why = elf::check_elf(util::read_file(file), arch, elf::Linkage::shared_lib))
      throw ClosureError(fmt::format("{}: refusing to put it into a {} guest: {}", file.string(),
                                     util::arch_info(arch).name, *why),
                         Kind::wrong_arch, name, by, file, *why);
  };

  std::set<std::string> seen;
  if (info.has_interp) {  // an executable; a shared library has only its DT_NEEDED
    const fs::path interp(info.interp);
    const fs::path loader = find_in(search, interp.filename().string());
    if (loader.empty())
      throw ClosureError(fmt::format("{}: its loader {} is not in {}", exe.string(), info.interp, dirs),
                         Kind::missing_loader, info.interp, exe);
    check(loader, info.interp, exe);
    out.push_back({interp.relative_path().string(), loader});
    seen.insert(interp.filename().string());
  }
  struct Need {
    std::string name;
    fs::path by;  // the host file whose DT_NEEDED names it
  };
  std::deque<Need> todo;
  for (const auto& n : info.needed) todo.push_back({n, exe});
  while (!todo.empty()) {
    auto [name, by] = todo.front();
    todo.pop_front();
    if (!seen.insert(name).second) continue;
    const fs::path lib = find_in(search, name);
    if (lib.empty())
      throw ClosureError(
          fmt::format("{}: {} (needed by {}) is not in {}", exe.string(), name, by.filename().string(), dirs),
          Kind::missing_library, name, by);
    check(lib, name, by);
    out.push_back({"lib/" + triplet + "/" + name, lib});
    for (const auto& n : parse_or_throw(lib).needed) todo.push_back({n, lib});
  }
  return out;
}

}  // namespace archmatrix::prepare
