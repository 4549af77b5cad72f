#include "prepare/debian_kernel.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "prepare/apt_sources.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

bool is_kernel_package(const std::string& name) {
  return name.rfind("linux-image-", 0) == 0 || name.rfind("linux-binary-", 0) == 0;
}

std::string tail(const std::string& s, std::size_t n = 1500) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

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

fs::path DebianKernelFetcher::apt_dir(const DebianKernelSpec& spec) const {
  return cache_ / "apt" / (spec.suite + "-" + spec.deb_arch);
}

std::vector<std::string> DebianKernelFetcher::apt_options(const DebianKernelSpec& spec) const {
  const fs::path d = apt_dir(spec);
  std::vector<std::string> opts{"-o", "Dir::Etc::SourceList=" + (d / "sources.list").string(),
          "-o", "Dir::Etc::SourceParts=" + (d / "sources.list.d").string(),
          "-o", "Dir::Etc::Preferences=" + (d / "preferences").string(),
          "-o", "Dir::Etc::PreferencesParts=" + (d / "preferences.d").string(),
          "-o", "Dir::State=" + (d / "state").string(),
          "-o", "Dir::State::Status=" + (d / "status").string(),
          "-o", "Dir::Cache=" + (d / "cache").string(),
          "-o", "APT::Architecture=" + spec.deb_arch,
          "-o", "APT::Architectures=" + spec.deb_arch,
          "-o", "APT::Sandbox::User=root",
          "-o", "Acquire::Languages=none",
          "-o", "APT::Get::List-Cleanup=false"};
  if (fs::exists(d / "allow-expired")) {
    opts.insert(opts.end(), {"-o", "Acquire::Check-Valid-Until=false", "-o", "Acquire::Check-Date=false"});
  }
  return opts;
}

void DebianKernelFetcher::prepare_apt_state(const DebianKernelSpec& spec) const {
  const fs::path d = apt_dir(spec);
  for (const char* sub : {"sources.list.d", "preferences.d", "state/lists/partial", "cache/archives/partial"})
    fs::create_directories(d / sub);
  if (!fs::exists(d / "status")) util::write_file_atomic(d / "status", "");
  const std::string line =
      fmt::format("deb [signed-by={}] {} {} main\n", kKeyring, host_debian_mirror(), spec.suite);
  util::write_file_atomic(d / "sources.list", line);
}

void DebianKernelFetcher::apt_update(const DebianKernelSpec& spec) const {
  // A mirror in the middle of a sync can fail one index; what matters is
  // whether apt then knows the package, so check that and retry.
  std::string last;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    auto argv = std::vector<std::string>{"apt-get", "-q"};
    auto opts = apt_options(spec);
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.push_back("update");
    auto r = util::run_command(argv);
    last = r.output;
    auto check = std::vector<std::string>{"apt-cache"};
    check.insert(check.end(), opts.begin(), opts.end());
    check.insert(check.end(), {"show", "--no-all-versions", spec.package});
    if (util::run_command(check).exit_code == 0) return;
    // Mirrors that serve a stored snapshot of the archive can carry a
    // Release file past its Valid-Until date. The signature is still
    // checked; only the freshness window is waived, for this suite, and said.
    const bool expired = last.find("is expired") != std::string::npos ||
                         last.find("is not valid yet") != std::string::npos;
    if (expired && !fs::exists(apt_dir(spec) / "allow-expired")) {
      util::write_file_atomic(apt_dir(spec) / "allow-expired", "Release file outside its validity window\n");
      progress_(fmt::format("the {} Release file on this mirror is outside its Valid-Until window; using it "
                            "anyway (its signature is still verified)", spec.suite));
      continue;
    }
    progress_(fmt::format("apt-get update for {} {} failed (attempt {}); retrying", spec.suite, spec.deb_arch, attempt));
    std::this_thread::sleep_for(std::chrono::seconds(5 * attempt));
  }
  throw util::Error(fmt::format("apt could not fetch the {} {} package index with {}:\n{}", spec.suite, spec.deb_arch,
                                spec.package, tail(last)));
}

KernelArtifact DebianKernelFetcher::fetch(const DebianKernelSpec& spec, bool refresh) {
  const fs::path kernels = cache_ / "kernels";
  fs::create_directories(kernels / "resolved");
  util::FileLock lock(kernels / (".lock-" + spec.suite + "-" + spec.deb_arch));
  const fs::path record = kernels / "resolved" / (spec.suite + "-" + spec.deb_arch + "-" + spec.package + ".json");

  if (!refresh && fs::exists(record)) {
    try {
      const json r = json::parse(util::read_file(record));
      const fs::path entry = kernels / r.at("cache_key").get<std::string>();
      const json meta = json::parse(util::read_file(entry / "meta.json"));
      const fs::path image = entry / "vmlinuz";
      if (fs::exists(image) && util::sha256_file(image) == meta.at("sha256").get<std::string>()) {
        progress_(fmt::format("kernel {} ({} {}) from the cache", meta.at("package").get<std::string>(),
                              spec.suite, spec.deb_arch));
        return {image, meta.at("package"), meta.at("version"), meta.at("release"), meta.at("sha256"),
                r.at("cache_key")};
      }
      progress_(fmt::format("cached kernel for {} {} {} fails its checksum: fetching it again", spec.suite,
                            spec.deb_arch, spec.package));
    } catch (const std::exception& e) {
      progress_(fmt::format("kernel record {} unusable ({}): resolving again", record.string(), e.what()));
    }
  }

  prepare_apt_state(spec);
  progress_(fmt::format("resolving {} in Debian {} ({})", spec.package, spec.suite, spec.deb_arch));
  apt_update(spec);
  const auto opts = apt_options(spec);
  const auto pkgs = kernel_packages(spec.package, [&](const std::string& name) {
    auto argv = std::vector<std::string>{"apt-cache"};
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.insert(argv.end(), {"show", "--no-all-versions", name});
    auto r = util::run_command(argv);
    return r.exit_code == 0 ? r.output : std::string();
  });
  KernelArtifact a = download(spec, pkgs);
  json packages = json::array();
  for (const auto& p : pkgs) packages.push_back({{"name", p.name}, {"version", p.version}, {"sha256", p.sha256}});
  util::write_file_atomic(record, json{{"spec", {{"suite", spec.suite}, {"arch", spec.deb_arch}, {"package", spec.package}}},
                                       {"cache_key", a.cache_key},
                                       {"packages", packages}}
                                      .dump(2) + "\n");
  return a;
}

KernelArtifact DebianKernelFetcher::download(const DebianKernelSpec& spec, const std::vector<ResolvedPackage>& pkgs) {
  const std::string key = kernel_cache_key(spec, pkgs);
  const fs::path entry = cache_ / "kernels" / key;
  const fs::path work = cache_ / "kernels" / (".work-" + key + "-" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work / "debs");
  const auto opts = apt_options(spec);
  for (const auto& p : pkgs) {
    progress_(fmt::format("downloading {} {} ({} {})", p.name, p.version, spec.suite, spec.deb_arch));
    auto argv = std::vector<std::string>{"apt-get", "-q"};
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.insert(argv.end(), {"download", p.name + "=" + p.version});
    util::CommandOptions co;
    co.cwd = work / "debs";
    // apt-get download checks the file against the hash in the signed index.
    auto r = util::run_command(argv, co);
    if (r.exit_code != 0) throw util::Error(fmt::format("downloading {} failed:\n{}", p.name, tail(r.output)));
  }
  for (const auto& deb : fs::directory_iterator(work / "debs")) {
    auto r = util::run_command({"dpkg-deb", "-x", deb.path().string(), (work / "root").string()});
    if (r.exit_code != 0) throw util::Error(fmt::format("extracting {} failed:\n{}", deb.path().string(), tail(r.output)));
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
  // Replace a damaged entry; publish the new one with a single rename.
  fs::remove_all(entry);
  fs::rename(work / "entry", entry);
  fs::remove_all(work);
  progress_(fmt::format("kernel {} {} ({}) cached as {}", which->name, which->version, found->second, key));
  return {entry / "vmlinuz", which->name, which->version, found->second, sha, key};
}

}  // namespace archmatrix::prepare
