#include "prepare/debian_kernel.h"

#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>

#include "prepare/apt_sources.h"
#include "prepare/apt_state.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/subprocess.h"
#include "util/text_safe.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool is_kernel_package(const std::string& name) {
  return name.rfind("linux-image-", 0) == 0 || name.rfind("linux-binary-", 0) == 0;
}

using util::tail;

// The image inside an extracted package tree: boot/vmlinuz-<release> (up to
// trixie) or usr/lib/modules/<release>/vmlinuz (sid's linux-binary-*).
std::optional<std::pair<fs::path, std::string>> find_image(const fs::path& root) {
  std::error_code ec;
  for (fs::directory_iterator it(root / "boot", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.rfind("vmlinuz-", 0) == 0 || n.rfind("vmlinux-", 0) == 0) return std::pair{it->path(), n.substr(8)};
  }
  for (const char* mods : {"usr/lib/modules", "lib/modules"})
    for (fs::directory_iterator it(root / mods, ec), end; !ec && it != end; it.increment(ec))
      for (const char* name : {"vmlinuz", "vmlinux"})
        if (fs::exists(it->path() / name)) return std::pair{it->path() / name, it->path().filename().string()};
  return std::nullopt;
}

}  // namespace

std::vector<ResolvedPackage> kernel_packages(const std::string& metapackage,
                                             const std::function<std::string(const std::string&)>& show) {
  std::vector<ResolvedPackage> out;
  std::set<std::string> seen{metapackage};
  std::vector<std::string> todo{metapackage};
  while (!todo.empty()) {
    const std::string name = todo.back();
    todo.pop_back();
    const auto stanzas = parse_stanzas(show(name));
    if (stanzas.empty()) throw util::Error("apt knows no package " + name);
    const Stanza& st = stanzas.front();  // --no-all-versions: the candidate
    const auto field = [&](const char* k) {
      auto it = st.find(k);
      return it == st.end() ? std::string() : it->second;
    };
    if (name != metapackage) out.push_back({name, field("Version"), field("SHA256")});
    for (const auto* key : {"Pre-Depends", "Depends"})
      for (const auto& dep : dependency_names(field(key)))
        if (is_kernel_package(dep) && seen.insert(dep).second) todo.push_back(dep);
  }
  if (out.empty()) throw util::Error(metapackage + " depends on no linux-image-* or linux-binary-* package");
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::string kernel_cache_key(const DebianKernelSpec& spec, const std::vector<ResolvedPackage>& pkgs) {
  std::string text = "debian-kernel\n" + spec.suite + "\n" + spec.deb_arch + "\n" + spec.package + "\n";
  for (const auto& p : pkgs) text += p.name + " " + p.version + " " + p.sha256 + "\n";
  return util::sha256_hex(text).substr(0, 32);
}

DebianKernelFetcher::DebianKernelFetcher(fs::path cache_root, std::function<void(std::string_view)> progress)
    : cache_(std::move(cache_root)), progress_(std::move(progress)) {}

fs::path DebianKernelFetcher::record_path(const DebianKernelSpec& spec) const {
  return cache_ / "kernels" / "resolved" / (spec.suite + "-" + spec.deb_arch + "-" + spec.package + ".json");
}

std::optional<KernelArtifact> DebianKernelFetcher::cached(const DebianKernelSpec& spec) const {
  try {
    const json r = json::parse(util::read_file(record_path(spec)));
    const fs::path entry = cache_ / "kernels" / r.at("cache_key").get<std::string>();
    const json meta = json::parse(util::read_file(entry / "meta.json"));
    const fs::path image = entry / "vmlinuz";
    if (fs::exists(image) && util::sha256_file(image) == meta.at("sha256").get<std::string>())
      return KernelArtifact{image, meta.at("package"), meta.at("version"), meta.at("release"), meta.at("sha256"),
                            r.at("cache_key")};
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

KernelArtifact DebianKernelFetcher::fetch(const DebianKernelSpec& spec, bool refresh) {
  const fs::path kernels = cache_ / "kernels";
  fs::create_directories(kernels / "resolved");
  util::FileLock lock(kernels / (".lock-" + spec.suite + "-" + spec.deb_arch));
  const fs::path record = record_path(spec);

  if (!refresh && fs::exists(record)) {
    if (auto a = cached(spec)) {
      progress_(fmt::format("kernel {} ({} {}) from the cache", a->package, spec.suite, spec.deb_arch));
      return *a;
    }
    progress_(fmt::format("cached kernel for {} {} {} is missing or fails its checksum: fetching it again", spec.suite,
                          spec.deb_arch, spec.package));
  }

  const AptState apt(cache_, spec.suite, spec.deb_arch, progress_);
  progress_(fmt::format("resolving {} in Debian {} ({})", spec.package, spec.suite, spec.deb_arch));
  apt.update(spec.package);
  const auto pkgs = kernel_packages(spec.package, [&](const std::string& name) { return apt.show(name); });
  KernelArtifact a = download(apt, spec, pkgs);
  json packages = json::array();
  for (const auto& p : pkgs) packages.push_back({{"name", p.name}, {"version", p.version}, {"sha256", p.sha256}});
  util::write_file_atomic(record, json{{"spec", {{"suite", spec.suite}, {"arch", spec.deb_arch}, {"package", spec.package}}},
                                       {"cache_key", a.cache_key},
                                       {"packages", packages}}
                                      .dump(2) + "\n");
  return a;
}

KernelArtifact DebianKernelFetcher::download(const AptState& apt, const DebianKernelSpec& spec,
                                             const std::vector<ResolvedPackage>& pkgs) {
  const std::string key = kernel_cache_key(spec, pkgs);
  const fs::path entry = cache_ / "kernels" / key;
  const fs::path work = cache_ / "kernels" / (".work-" + key + "-" + std::to_string(::getpid()));
  fs::remove_all(work);
  for (const auto& p : pkgs) {
    progress_(fmt::format("downloading {} {} ({} {})", p.name, p.version, spec.suite, spec.deb_arch));
    // A directory per package: each download is exactly one file to check.
    const fs::path deb = apt.download(p.name, p.version, p.sha256, work / "debs" / util::file_safe(p.name));
    auto r = util::run_command({"dpkg-deb", "-x", deb.string(), (work / "root").string()});
    if (r.exit_code != 0) throw util::Error(fmt::format("extracting {} failed:\n{}", deb.string(), tail(r.output)));
  }
  const auto found = find_image(work / "root");
  if (!found)
    throw util::Error(fmt::format("no kernel image (boot/vmlinuz-* or usr/lib/modules/*/vmlinuz) in the packages of {}",
                                  spec.package));
  std::string carrier;
  for (const auto& p : pkgs)
    if (carrier.empty() || p.name.rfind("linux-binary-", 0) == 0) carrier = p.name;
  const ResolvedPackage* which = &pkgs.front();
  for (const auto& p : pkgs)
    if (p.name == carrier) which = &p;

  fs::create_directories(work / "entry");
  fs::copy_file(found->first, work / "entry" / "vmlinuz");
  const std::string sha = util::sha256_file(work / "entry" / "vmlinuz");
  util::write_file_atomic(work / "entry" / "meta.json",
                          json{{"package", which->name}, {"version", which->version}, {"release", found->second},
                               {"sha256", sha}, {"suite", spec.suite}, {"arch", spec.deb_arch},
                               {"metapackage", spec.package}}
                                  .dump(2) + "\n");
  util::publish_directory(work / "entry", entry, sha);
  fs::remove_all(work);
  progress_(fmt::format("kernel {} {} ({}) cached as {}", which->name, which->version, found->second, key));
  return {entry / "vmlinuz", which->name, which->version, found->second, sha, key};
}

}  // namespace archmatrix::prepare
