#include "prepare/kernel_modules.h"

#include "prepare/apt_sources.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "prepare/apt_state.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;

namespace {

std::string module_name(std::string_view path) {
  std::string base(path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1));
  base = base.substr(0, base.find(".ko"));
  std::replace(base.begin(), base.end(), '-', '_');
  return base;
}

}  // namespace

void decompress_module(const fs::path& ko, const fs::path& out) {
  const std::string s = ko.string();
  if (!s.ends_with(".xz") && !s.ends_with(".zst") && !s.ends_with(".gz")) {
    fs::copy_file(ko, out, fs::copy_options::overwrite_existing);
    return;
  }
  // A copy named OUT.<ext>, decompressed in place into OUT: argv only, no
  // shell redirection, and the tool's messages never mix with the bytes.
  const std::string ext = s.substr(s.rfind('.'));
  const std::string tool = ext == ".xz" ? "xz" : ext == ".zst" ? "zstd" : "gzip";
  const fs::path packed = out.string() + ext;
  fs::copy_file(ko, packed, fs::copy_options::overwrite_existing);
  std::vector<std::string> argv{tool, "-d", "-f", "-q"};
  if (tool == "zstd") argv.push_back("--rm");
  argv.push_back(packed.string());
  const auto r = util::run_command(argv);
  if (r.exit_code != 0 || !fs::exists(out)) {
    fs::remove(packed);
    throw util::Error("decompressing " + s + " failed: " + r.output);
  }
}

std::vector<std::string> modinfo_depends(std::string_view ko) {
  static constexpr std::string_view kKey("\0depends=", 9);
  const auto at = ko.find(kKey);
  if (at == std::string_view::npos) return {};
  std::string_view list = ko.substr(at + kKey.size());
  list = list.substr(0, list.find('\0'));
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string name(list.substr(0, comma));
    std::replace(name.begin(), name.end(), '-', '_');
    if (!name.empty()) out.push_back(name);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return out;
}

std::vector<std::string> module_load_order(const std::map<std::string, ModuleDep>& dep,
                                           const std::vector<std::string>& wanted) {
  std::vector<std::string> order;
  std::set<std::string> seen;
  const std::function<void(const std::string&, int)> visit = [&](const std::string& m, int depth) {
    const auto it = dep.find(m);
    if (it == dep.end() || depth > 64 || !seen.insert(m).second) return;
    for (const auto& d : it->second.deps) visit(d, depth + 1);
    order.push_back(m);
  };
  for (const auto& w : wanted) visit(w, 0);
  return order;
}

std::vector<fs::path> channel_modules(const fs::path& cache_root, const DebianKernelSpec& spec,
                                      const KernelArtifact& kernel, const std::string& transport, bool shares,
                                      const std::function<void(std::string_view)>& progress) {
  const fs::path entry = cache_root / "kernels" / kernel.cache_key;
  const fs::path dir = entry / ("channel-modules-" + transport + (shares ? "-9p" : ""));
  std::vector<std::string> wanted{transport, "virtio_console"};
  if (shares)
    for (const char* m : {"9pnet", "9pnet_virtio", "9p"}) wanted.emplace_back(m);
  const auto listed = [&]() -> std::optional<std::vector<fs::path>> {
    if (!fs::exists(dir / "order")) return std::nullopt;
    std::vector<fs::path> out;
    std::istringstream in(util::read_file(dir / "order"));
    for (std::string n; std::getline(in, n);)
      if (!n.empty()) out.push_back(dir / n);
    return out;
  };
  if (auto l = listed()) return *l;
  util::FileLock lock(cache_root / "kernels" / (".lock-" + spec.suite + "-" + spec.deb_arch));
  if (auto l = listed()) return *l;

  // The packages the image came from, as `kernels` recorded them.
  const auto record = nlohmann::json::parse(util::read_file(
      cache_root / "kernels" / "resolved" / (spec.suite + "-" + spec.deb_arch + "-" + spec.package + ".json")));
  const fs::path work =
      cache_root / "kernels" / (".work-modules-" + kernel.cache_key + (shares ? "-9p-" : "-") + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work / "debs");
  const AptState apt(cache_root, spec.suite, spec.deb_arch, progress);
  for (const auto& p : record.at("packages")) {
    const std::string name = p.at("name");
    if (name != kernel.package) continue;  // the modules live beside the image
    progress(fmt::format("downloading {} {} again for its virtio modules", name, p.at("version").get<std::string>()));
    // The record keeps the index's sha256 from when the image was fetched:
    // the same bytes as the image, checked again by AptState::download.
    apt.download(name, p.at("version"), p.at("sha256"), work / "debs");
  }
  for (const auto& deb : fs::directory_iterator(work / "debs")) {
    const auto r = util::run_command({"dpkg-deb", "-x", deb.path().string(), (work / "root").string()});
    if (r.exit_code != 0) throw util::Error("extracting " + deb.path().string() + " failed: " + r.output);
  }
  const auto find_moddir = [&]() -> fs::path {
    for (const char* base : {"lib/modules", "usr/lib/modules"})
      if (fs::is_directory(work / "root" / base / kernel.release / "kernel")) return work / "root" / base / kernel.release;
    return {};
  };
  fs::path moddir = find_moddir();
  if (moddir.empty()) {
    // Since 7.x (sid) the modules are a package of their own,
    // linux-modules-<release>, of the image's version: the index says
    // where and with which sha256.
    const std::string name = "linux-modules-" + kernel.release;
    const auto stanzas = parse_stanzas(apt.show(name));
    if (stanzas.empty())
      throw util::Error(fmt::format("{} has no modules for {} and apt knows no {}: cannot give the guest its data "
                                    "channel",
                                    kernel.package, kernel.release, name));
    const auto field = [&](const char* k) {
      auto it = stanzas.front().find(k);
      return it == stanzas.front().end() ? std::string() : it->second;
    };
    if (field("Version") != kernel.version)
      throw util::Error(fmt::format("the {} index has {} {}, not the image's version {}: run `archmatrix kernels "
                                    "build --refresh` to fetch today's kernel",
                                    spec.suite, name, field("Version"), kernel.version));
    progress(fmt::format("downloading {} {} for the virtio modules", name, kernel.version));
    fs::create_directories(work / "debs-modules");
    apt.download(name, kernel.version, field("SHA256"), work / "debs-modules");
    for (const auto& deb : fs::directory_iterator(work / "debs-modules")) {
      const auto r = util::run_command({"dpkg-deb", "-x", deb.path().string(), (work / "root").string()});
      if (r.exit_code != 0) throw util::Error("extracting " + deb.path().string() + " failed: " + r.output);
    }
    moddir = find_moddir();
  }
  if (moddir.empty())
    throw util::Error(fmt::format("{} has no modules for {}: cannot give the guest its data channel",
                                  kernel.package, kernel.release));
  std::map<std::string, fs::path> files;  // every module of the package, by name
  for (const auto& e : fs::recursive_directory_iterator(moddir / "kernel"))
    if (e.is_regular_file() && e.path().string().find(".ko") != std::string::npos)
      files[module_name(e.path().string())] = e.path();
  // Decompressed here, so the guest kernel needs no module decompressor.
  fs::create_directories(work / "plain");
  const auto plain = [&](const std::string& m) {
    const fs::path out = work / "plain" / (m + ".ko");
    if (fs::exists(out)) return out;
    decompress_module(files.at(m), out);
    return out;
  };
  std::map<std::string, ModuleDep> deps;
  std::vector<std::string> todo = wanted;
  while (!todo.empty()) {
    const std::string m = todo.back();
    todo.pop_back();
    if (deps.count(m) || !files.count(m)) continue;  // not a module: built in
    const fs::path p = plain(m);
    deps[m] = {p.string(), modinfo_depends(util::read_file(p))};
    for (const auto& d : deps[m].deps) todo.push_back(d);
  }
  const auto order = module_load_order(deps, wanted);
  fs::create_directories(work / "out");
  std::string listing;
  int n = 0;
  for (const auto& m : order) {
    const std::string file = fmt::format("{:02}-{}.ko", n++, m);
    fs::copy_file(deps.at(m).path, work / "out" / file);
    listing += file + "\n";
  }
  util::write_file_atomic(work / "out" / "order", listing);
  fs::remove_all(dir);
  fs::rename(work / "out", dir);
  fs::remove_all(work);
  progress(fmt::format("channel modules for {}: {}", kernel.release, order.empty() ? "built in" : listing));
  return *listed();
}

}  // namespace archmatrix::prepare
