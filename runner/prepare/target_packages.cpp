#include "prepare/target_packages.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "prepare/apt_sources.h"
#include "prepare/apt_state.h"
#include "prepare/package_tree.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;

namespace {

// A package every Debian architecture has: apt-get update is done when apt
// knows it, whether or not it knows the package asked for.
constexpr const char* kIndexProbe = "libc6";

}  // namespace

TargetPackages::TargetPackages(fs::path cache_root, Progress progress)
    : cache_(std::move(cache_root)), progress_(std::move(progress)) {}

bool TargetPackages::update_once(const AptState& apt) {
  if (!updated_.insert(apt.deb_arch()).second) return false;
  progress_(fmt::format("fetching the Debian {} {} package index", apt.suite(), apt.deb_arch()));
  apt.update(kIndexProbe);
  return true;
}

TargetPackage TargetPackages::fetch(const AptState& apt, const PackageRequest& r, const std::string& name) {
  // The index apt already has names the version; it is fetched (once a run)
  // only when it does not know the package, so a warm run needs no network.
  std::string text = apt.show(name);
  if (text.empty() && update_once(apt)) text = apt.show(name);
  const auto stanzas = parse_stanzas(text);
  if (stanzas.empty())
    throw util::Error(fmt::format("{}: Debian {} has no package {} for {} ({})", r.who, apt.suite(), name,
                                  apt.deb_arch(), r.field),
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
  progress_(fmt::format("downloading {} {} ({} {}) for {}", name, p.version, apt.suite(), apt.deb_arch(), r.who));
  extract_deb(apt.download(name, p.version, p.sha256, work / "deb"), work / "root");
  util::publish_directory(work / "root", p.dir, p.sha256);
  fs::remove_all(work);
  return p;
}

TargetPackage TargetPackages::package(const AptState& apt, const PackageRequest& r, const std::string& name) {
  try {
    return fetch(apt, r, name);
  } catch (const util::Error& e) {
    // An index from an earlier run can name a version the mirror no longer
    // has: fetch the index once and try again.
    if (e.exit_status() == util::kExitBadInput) throw;
    progress_(e.what());
    if (!update_once(apt)) throw;
    return fetch(apt, r, name);
  }
}

fs::path TargetPackages::root(const config::ScenarioSpec& s, util::Arch arch) {
  return root(PackageRequest{"scenario " + s.name, "build.packages", s.packages}, arch);
}

fs::path TargetPackages::root(const PackageRequest& r, util::Arch arch) {
  if (r.names.empty()) return {};
  const std::string deb_arch(util::arch_info(arch).deb_arch);
  const AptState apt(cache_, std::string(kTargetPackageSuite), deb_arch, progress_);
  std::vector<TargetPackage> pkgs;
  for (const auto& name : r.names) pkgs.push_back(package(apt, r, name));
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
