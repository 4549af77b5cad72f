#include "prepare/target_packages.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "prepare/apt_sources.h"
#include "prepare/apt_state.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;

namespace {

// A package every Debian architecture has: apt-get update is done when apt
// knows it, whether or not it knows the package asked for.
constexpr const char* kIndexProbe = "libc6";

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

[[noreturn]] void fail(const fs::path& deb, const std::string& what, archive* a = nullptr) {
  std::string msg = fmt::format("unpacking {}: {}", deb.string(), what);
  if (a && archive_error_string(a)) msg += std::string(": ") + archive_error_string(a);
  throw util::Error(msg);
}

// A member's path relative to the package root; "" for the root itself.
// Absolute paths and ".." are refused, never resolved.
std::string member_path(const fs::path& deb, const char* name) {
  if (!name) fail(deb, "a member without a name");
  const fs::path p(name);
  if (p.is_absolute()) fail(deb, fmt::format("refusing member '{}': an absolute path", name));
  for (const auto& part : p)
    if (part == "..") fail(deb, fmt::format("refusing member '{}': its path contains '..'", name));
  const std::string n = p.lexically_normal().generic_string();
  return n == "." || n == "./" ? std::string() : n;
}

// The bytes of the .deb's data.tar* member (the .deb is an ar archive).
std::string data_member(const fs::path& deb) {
  ArchivePtr ar(archive_read_new(), archive_read_free);
  archive_read_support_format_ar(ar.get());
  if (archive_read_open_filename(ar.get(), deb.c_str(), 1 << 16) != ARCHIVE_OK)
    fail(deb, "not readable as an ar archive", ar.get());
  archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(ar.get(), &e)) == ARCHIVE_OK) {
    const char* n = archive_entry_pathname(e);
    if (!n || std::string_view(n).rfind("data.tar", 0) != 0) continue;
    std::string data;
    char buf[1 << 16];
    la_ssize_t got;
    while ((got = archive_read_data(ar.get(), buf, sizeof buf)) > 0) data.append(buf, static_cast<std::size_t>(got));
    if (got < 0) fail(deb, "reading its data archive", ar.get());
    return data;
  }
  if (r != ARCHIVE_EOF) fail(deb, "reading the ar archive", ar.get());
  fail(deb, "no data.tar member: not a Debian package");
}

// A member must not be written through a symlink an earlier member made
// (usr/lib/x -> /etc, then usr/lib/x/passwd): every directory above it
// inside dest must be a real directory, or not exist yet.
void through_no_symlink(const fs::path& deb, const fs::path& dest, const std::string& rel) {
  fs::path at = dest;
  const fs::path r = fs::path(rel).parent_path();
  for (const auto& part : r) {
    at /= part;
    if (fs::is_symlink(fs::symlink_status(at)))
      fail(deb, fmt::format("refusing member '{}': it would be written through the symlink {}", rel,
                            at.lexically_relative(dest).string()));
  }
}

void write_member(archive* in, archive* disk, archive_entry* e, const fs::path& deb) {
  if (archive_write_header(disk, e) != ARCHIVE_OK) fail(deb, archive_entry_pathname(e), disk);
  const void* block;
  std::size_t size;
  la_int64_t offset;
  int r;
  while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK)
    if (archive_write_data_block(disk, block, size, offset) != ARCHIVE_OK) fail(deb, archive_entry_pathname(e), disk);
  if (r != ARCHIVE_EOF) fail(deb, "reading its data archive", in);
  if (archive_write_finish_entry(disk) != ARCHIVE_OK) fail(deb, archive_entry_pathname(e), disk);
}

// Hard links every file of `from` into `to`, keeping symlinks as they are
// (relative ones then resolve inside `to`); a path already there (a file two
// packages both ship) is left as the first package made it.
void join_into(const fs::path& from, const fs::path& to) {
  for (auto it = fs::recursive_directory_iterator(from); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path rel = it->path().lexically_relative(from);
    if (rel == ".complete") continue;
    const fs::path dst = to / rel;
    const auto st = it->symlink_status();
    if (fs::exists(fs::symlink_status(dst))) continue;
    if (fs::is_directory(st)) {
      fs::create_directories(dst);
    } else if (fs::is_symlink(st)) {
      fs::copy_symlink(it->path(), dst);
    } else if (fs::is_regular_file(st)) {
      std::error_code ec;
      fs::create_hard_link(it->path(), dst, ec);
      if (ec) fs::copy_file(it->path(), dst);
    }
  }
}

}  // namespace

void extract_deb(const fs::path& deb, const fs::path& dest) {
  const std::string data = data_member(deb);
  ArchivePtr tar(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(tar.get());
  archive_read_support_filter_all(tar.get());
  if (archive_read_open_memory(tar.get(), data.data(), data.size()) != ARCHIVE_OK)
    fail(deb, "its data archive is not a tar archive", tar.get());
  ArchivePtr disk(archive_write_disk_new(), archive_write_free);
  // Paths are made absolute below dest here, after member_path() checked
  // them, so libarchive's own absolute-path guard cannot be used, nor its
  // symlink guard (it would refuse a cache directory reached through a
  // symlink); within_package() is that guard for the package's part.
  archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  fs::create_directories(dest);
  archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(tar.get(), &e)) == ARCHIVE_OK) {
    const std::string rel = member_path(deb, archive_entry_pathname(e));
    if (const char* link = archive_entry_hardlink(e))
      archive_entry_copy_hardlink(e, (dest / member_path(deb, link)).c_str());
    if (rel.empty()) continue;
    through_no_symlink(deb, dest, rel);
    archive_entry_copy_pathname(e, (dest / rel).c_str());
    write_member(tar.get(), disk.get(), e, deb);
  }
  if (r != ARCHIVE_EOF) fail(deb, "reading its data archive", tar.get());
  if (archive_write_close(disk.get()) != ARCHIVE_OK) fail(deb, "finishing", disk.get());
}

TargetPackages::TargetPackages(fs::path cache_root, Progress progress)
    : cache_(std::move(cache_root)), progress_(std::move(progress)) {}

bool TargetPackages::update_once(const AptState& apt) {
  if (!updated_.insert(apt.deb_arch()).second) return false;
  progress_(fmt::format("fetching the Debian {} {} package index", apt.suite(), apt.deb_arch()));
  apt.update(kIndexProbe);
  return true;
}

TargetPackage TargetPackages::fetch(const AptState& apt, const std::string& scenario, const std::string& name) {
  // The index apt already has names the version; it is fetched (once a run)
  // only when it does not know the package, so a warm run needs no network.
  std::string text = apt.show(name);
  if (text.empty() && update_once(apt)) text = apt.show(name);
  const auto stanzas = parse_stanzas(text);
  if (stanzas.empty())
    throw util::Error(fmt::format("scenario {}: Debian {} has no package {} for {} (build.packages)", scenario,
                                  apt.suite(), name, apt.deb_arch()),
                      util::kExitBadInput);
  const auto field = [&](const char* k) {
    auto it = stanzas.front().find(k);
    return it == stanzas.front().end() ? std::string() : it->second;
  };
  TargetPackage p{name, field("Version"), field("SHA256"), {}};
  if (p.version.empty() || p.sha256.empty())
    throw util::Error(fmt::format("apt's index gives no Version or SHA256 for {} in {} {}", name, apt.suite(),
                                  apt.deb_arch()));

  const fs::path base = cache_ / "target-packages" / apt.deb_arch();
  fs::create_directories(base);
  p.dir = base / util::file_safe(fmt::format("{}_{}_{}", name, p.version, p.sha256.substr(0, 12)));
  util::FileLock lock(base / (".lock-" + util::file_safe(name)));
  if (util::directory_complete(p.dir, p.sha256)) return p;

  const fs::path work = base / fmt::format(".work-{}-{}", util::file_safe(name), ::getpid());
  fs::remove_all(work);
  progress_(fmt::format("downloading {} {} ({} {}) for scenario {}", name, p.version, apt.suite(), apt.deb_arch(),
                        scenario));
  apt.download(name, p.version, work / "deb");
  std::vector<fs::path> debs;
  for (const auto& f : fs::directory_iterator(work / "deb")) debs.push_back(f.path());
  if (debs.size() != 1)
    throw util::Error(fmt::format("apt-get download {} {} left {} files, expected one .deb", name, p.version,
                                  debs.size()));
  if (const std::string sha = util::sha256_file(debs.front()); sha != p.sha256)
    throw util::Error(fmt::format("{}: sha256 {}, but apt's index says {}", debs.front().string(), sha, p.sha256));
  extract_deb(debs.front(), work / "root");
  util::publish_directory(work / "root", p.dir, p.sha256);
  fs::remove_all(work);
  return p;
}

TargetPackage TargetPackages::package(const AptState& apt, const std::string& scenario, const std::string& name) {
  try {
    return fetch(apt, scenario, name);
  } catch (const util::Error& e) {
    // An index from an earlier run can name a version the mirror no longer
    // has: fetch the index once and try again.
    if (e.exit_status() == util::kExitBadInput) throw;
    progress_(e.what());
    if (!update_once(apt)) throw;
    return fetch(apt, scenario, name);
  }
}

fs::path TargetPackages::root(const config::ScenarioSpec& s, util::Arch arch) {
  if (s.packages.empty()) return {};
  const std::string deb_arch(util::arch_info(arch).deb_arch);
  const AptState apt(cache_, std::string(kTargetPackageSuite), deb_arch, progress_);
  std::vector<TargetPackage> pkgs;
  for (const auto& name : s.packages) pkgs.push_back(package(apt, s.name, name));
  std::sort(pkgs.begin(), pkgs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });

  std::string text = "target-packages\n" + deb_arch + "\n";
  for (const auto& p : pkgs) text += p.name + " " + p.version + " " + p.sha256 + "\n";
  const std::string key = util::sha256_hex(text).substr(0, 32);
  const fs::path roots = cache_ / "target-packages" / deb_arch / "roots";
  fs::create_directories(roots);
  const fs::path root = roots / key;
  util::FileLock lock(roots / (".lock-" + key));
  if (util::directory_complete(root, key)) return root;
  const fs::path work = roots / fmt::format(".work-{}-{}", key, ::getpid());
  fs::remove_all(work);
  fs::create_directories(work);
  for (const auto& p : pkgs) join_into(p.dir, work);
  util::publish_directory(work, root, key);
  return root;
}

}  // namespace archmatrix::prepare
