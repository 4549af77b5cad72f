// `archmatrix kernels list|build|clean`, and the kernel preparation that
// `run` shares with `kernels build`.

#include "cli/kernels.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli/project_loading.h"
#include "prepare/kernel_build.h"
#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;

namespace {

int cpu_count() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

prepare::DebianKernelSpec debian_spec(const config::KernelRecipe& k) {
  return {k.suite, std::string(util::arch_info(k.arch).deb_arch), k.package};
}

std::string provides_text(const config::KernelRecipe& k) {
  std::string s;
  for (const auto& [axis, values] : k.provides) {
    if (axis == "source") continue;
    std::string v;
    for (const auto& x : values) v += (v.empty() ? "" : ",") + (axis == "page_size" ? std::to_string(std::stoi(x) / 1024) + "K" : x);
    s += fmt::format("{}{}={}", s.empty() ? "" : " ", axis, v);
  }
  if (!k.va_bits_default.empty()) s += " va_bits_default=" + k.va_bits_default;
  return s;
}

std::string mib(const fs::path& f) {
  std::error_code ec;
  const auto n = fs::file_size(f, ec);
  return ec ? "?" : fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024.0 * 1024.0));
}

std::uintmax_t tree_bytes(const fs::path& dir) {
  std::uintmax_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) n += it->file_size(ec);
  return n;
}

// Removes path and says how much space that gave back.
void remove_reporting(const fs::path& path, std::uintmax_t& freed) {
  if (!fs::exists(path)) return;
  const auto n = tree_bytes(path);
  fs::remove_all(path);
  freed += n;
  std::cout << fmt::format("removed {} ({:.0f} MiB)\n", path.string(), static_cast<double>(n) / (1024.0 * 1024.0));
}

int kernels_clean(bool all) {
  const fs::path cache = util::cache_root();
  std::uintmax_t freed = 0;
  if (all) {
    for (const char* d : {"kernels", "kbuild", "sources", "apt"}) remove_reporting(cache / d, freed);
  } else {
    // What a later run can regenerate without a download or a build: object
    // directories, unpacked sources, and entries no recipe record refers to.
    remove_reporting(cache / "kbuild", freed);
    std::error_code ec;
    for (fs::directory_iterator it(cache / "sources", ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory() && it->path().filename() != "resolved") remove_reporting(it->path(), freed);
    std::set<std::string> referenced;
    for (fs::directory_iterator it(cache / "kernels" / "resolved", ec), end; !ec && it != end; it.increment(ec)) {
      try {
        referenced.insert(nlohmann::json::parse(util::read_file(it->path())).at("cache_key").get<std::string>());
      } catch (const std::exception&) {
      }
    }
    for (fs::directory_iterator it(cache / "kernels", ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (it->is_directory() && name != "resolved" && !referenced.count(name)) remove_reporting(it->path(), freed);
    }
  }
  std::cout << fmt::format("{:.0f} MiB freed in {}\n", static_cast<double>(freed) / (1024.0 * 1024.0), cache.string());
  return util::kExitOk;
}

}  // namespace

PreparedKernels prepare_kernels(const std::vector<const config::KernelRecipe*>& recipes, int jobs, bool refresh,
                                Progress& progress) {
  PreparedKernels p;
  const fs::path cache = util::cache_root();
  prepare::DebianKernelFetcher fetcher(cache, [&](std::string_view m) { progress.log(m); });
  std::vector<const config::KernelRecipe*> to_build;
  for (const auto* k : recipes) {
    if (k->source == config::KernelSource::built) {
      to_build.push_back(k);
      continue;
    }
    try {
      p.kernels[k->id] = fetcher.fetch(debian_spec(*k), refresh);
    } catch (const std::exception& e) {
      p.errors[k->id] = std::string("kernel ") + k->id + ": " + e.what();
      progress.log(p.errors[k->id]);
    }
  }
  if (to_build.empty()) return p;

  if (jobs <= 0) jobs = cpu_count();
  const int workers = std::min<int>(jobs, static_cast<int>(to_build.size()));
  const int make_jobs = cpu_count();  // each make: -j CPUs -l CPUs (load-limited, see KernelBuilder)
  prepare::KernelBuilder builder(
      cache, [&](std::string_view m) { progress.log(m); },
      [&](const std::string& id, const std::string& what) { progress.task("kernel " + id, what); });
  std::mutex mu;
  std::size_t next = 0;
  const auto work = [&] {
    for (;;) {
      const config::KernelRecipe* k = nullptr;
      {
        std::lock_guard lk(mu);
        if (next == to_build.size()) return;
        k = to_build[next++];
      }
      try {
        auto a = builder.build(*k, make_jobs, refresh);
        std::lock_guard lk(mu);
        p.kernels[k->id] = std::move(a);
      } catch (const std::exception& e) {
        std::lock_guard lk(mu);
        p.errors[k->id] = std::string("kernel ") + k->id + ": " + e.what();
        progress.log(p.errors[k->id]);
      }
      progress.task_done("kernel " + k->id);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < workers; ++i) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  return p;
}

int run_kernels(const KernelsOptions& o) {
  if (o.action == "clean") return kernels_clean(o.all);
  const LoadedPlan lp = load_and_plan(o.common);
  std::map<std::string, int> cells_using;
  for (const auto& c : lp.plan.cells) ++cells_using[c.kernel->id];

  if (o.action == "list") {
    const fs::path cache = util::cache_root();
    prepare::DebianKernelFetcher fetcher(cache, [](std::string_view) {});
    prepare::KernelBuilder builder(cache, [](std::string_view) {}, [](const std::string&, const std::string&) {});
    std::size_t w = 6;
    for (const auto& k : lp.project.kernels) w = std::max(w, k.id.size());
    std::cout << fmt::format("{:<{}}  {:<6}  {:<7}  {:<5}  {}\n", "recipe", w, "source", "arch", "cells", "provides / cache");
    for (const auto& k : lp.project.kernels) {
      const bool built = k.source == config::KernelSource::built;
      const auto a = built ? builder.cached(k) : fetcher.cached(debian_spec(k));
      std::cout << fmt::format("{:<{}}  {:<6}  {:<7}  {:<5}  {}\n", k.id, w, built ? "built" : "debian",
                               util::arch_info(k.arch).name, cells_using.count(k.id) ? std::to_string(cells_using[k.id]) : "-",
                               provides_text(k));
      const std::string from = built ? k.package + " (" + k.suite + ")" : k.package + " (" + k.suite + ")";
      if (a)
        std::cout << fmt::format("{:<{}}  cached: {} {}, {} {}, {}\n", "", w, built ? "built" : "downloaded",
                                 a->release, a->package, a->version, mib(a->image))
                  << fmt::format("{:<{}}          {}\n", "", w, a->image.parent_path().string());
      else
        std::cout << fmt::format("{:<{}}  not cached: {} from {}\n", "", w, built ? "would build" : "would download", from);
    }
    return util::kExitOk;
  }

  // build: the named recipes, or the ones the matrix uses.
  std::vector<const config::KernelRecipe*> chosen;
  for (const auto& k : lp.project.kernels) {
    bool want = o.patterns.empty() ? cells_using.count(k.id) > 0 : false;
    for (const auto& p : o.patterns) want = want || ::fnmatch(p.c_str(), k.id.c_str(), 0) == 0;
    if (want) chosen.push_back(&k);
  }
  for (const auto& p : o.patterns)
    if (std::none_of(lp.project.kernels.begin(), lp.project.kernels.end(),
                     [&](const auto& k) { return ::fnmatch(p.c_str(), k.id.c_str(), 0) == 0; }))
      throw util::Error("kernels build " + p + ": no recipe in " + (o.common.root / "kernels").string() + " matches",
                        util::kExitBadInput);
  Progress progress(Progress::stderr_is_live());
  const auto pk = prepare_kernels(chosen, o.jobs, o.refresh, progress);
  for (const auto* k : chosen) {
    if (auto it = pk.kernels.find(k->id); it != pk.kernels.end())
      std::cout << fmt::format("{}: {} ({})\n", k->id, it->second.release, it->second.image.string());
    else
      std::cout << fmt::format("{}: FAILED: {}\n", k->id, pk.errors.at(k->id));
  }
  return pk.errors.empty() ? util::kExitOk : util::kExitHostError;
}

}  // namespace archmatrix::cli
