// `archmatrix kernels list|build|clean`, and the kernel preparation that
// `run` shares with `kernels build`.

#include "cli/kernels.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fnmatch.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli/project_loading.h"
#include "prepare/apt_sources.h"
#include "prepare/kernel_build.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/interrupt.h"

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

bool is_lock_file(const fs::path& p) {
  const std::string n = p.filename().string();
  return n.rfind(".lock", 0) == 0 || (n.size() > 5 && n.compare(n.size() - 5, 5, ".lock") == 0);
}

// The lock files directly in dir whose names start with prefix (sorted).
std::vector<fs::path> locks_in(const fs::path& dir, const std::string& prefix = ".lock") {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (is_lock_file(it->path()) && it->path().filename().string().rfind(prefix, 0) == 0) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

// The locks clean holds until it is done. It takes the very locks builds,
// downloads and publishes take (never waiting: a lock held elsewhere means
// a run is using what it guards, and that entry is skipped), so a run
// neither loses a kernel it has just published nor has its object tree or
// source tree removed under make. Lock files themselves are never removed:
// a process waiting on a removed one would hold a lock nobody else sees.
class CleanLocks {
 public:
  CleanLocks() = default;
  CleanLocks(const CleanLocks&) = delete;
  CleanLocks& operator=(const CleanLocks&) = delete;
  ~CleanLocks() {
    for (const auto& [path, fd] : fds_)
      if (fd >= 0) ::close(fd);
  }

  /// Takes every lock in `locks`; false (naming the first busy one in
  /// busy()) if another process holds any of them.
  bool take(const std::vector<fs::path>& locks) {
    for (const auto& l : locks) {
      auto it = fds_.find(l);
      if (it == fds_.end()) {
        int fd = ::open(l.c_str(), O_RDWR | O_CLOEXEC);
        if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
          ::close(fd);
          fd = -1;
        } else if (fd < 0 && errno == ENOENT) {
          fd = -2;  // gone: nothing uses it
        }
        it = fds_.emplace(l, fd).first;
      }
      if (it->second == -1) {
        busy_ = l;
        return false;
      }
    }
    return true;
  }
  const fs::path& busy() const { return busy_; }

 private:
  std::map<fs::path, int> fds_;  // -1: held by another process
  fs::path busy_;
};

// Removes entry once every lock guarding it is ours; says so when one is busy.
void remove_locked(const fs::path& entry, const std::vector<fs::path>& guards, CleanLocks& locks,
                   std::uintmax_t& freed, int& skipped) {
  if (!fs::exists(fs::symlink_status(entry))) return;
  if (!locks.take(guards)) {
    ++skipped;
    std::cout << fmt::format("skipped {}: in use by a running archmatrix (lock {} is held)\n", entry.string(),
                             locks.busy().string());
    return;
  }
  remove_reporting(entry, freed);
}

std::vector<fs::path> concat(std::vector<fs::path> a, const std::vector<fs::path>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

int kernels_clean(bool all) {
  const fs::path cache = util::cache_root();
  std::uintmax_t freed = 0;
  int skipped = 0;
  CleanLocks locks;
  // Who holds what (prepare/kernel_build.cpp, debian_kernel.cpp,
  // source_package.cpp, apt_state.cpp, target_build.cpp):
  const auto built = locks_in(cache / "kernels", ".lock-built-");   // a recipe's build, its kbuild/ tree, its publish
  const auto kernel_locks = locks_in(cache / "kernels");            // every publish into kernels/ and its record
  std::vector<fs::path> source_unpack, source_pkg;                   // sources/: linux-source-*, -src packages
  for (const auto& l : locks_in(cache / "sources"))
    (l.filename().string().find("-src-") != std::string::npos ? source_pkg : source_unpack).push_back(l);
  const auto target_builds = locks_in(cache / "targets");            // CMake builds reading -src trees
  std::vector<fs::path> package_locks;                               // target-packages/<arch>/ downloads
  std::error_code ec;
  for (fs::directory_iterator it(cache / "target-packages", ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory()) package_locks = concat(package_locks, locks_in(it->path()));

  // kbuild/<recipe>-<version>: the recipe's build lock (every recipe whose id
  // is a prefix, as "a-b-1.0" could be recipe "a" or "a-b").
  for (fs::directory_iterator it(cache / "kbuild", ec), end; !ec && it != end; it.increment(ec)) {
    if (is_lock_file(it->path())) continue;
    std::vector<fs::path> guards;
    const std::string name = it->path().filename().string();
    for (const auto& l : built) {
      const std::string id = l.filename().string().substr(std::string(".lock-built-").size());
      if (name.rfind(util::file_safe(id) + "-", 0) == 0) guards.push_back(l);
    }
    remove_locked(it->path(), guards, locks, freed, skipped);
  }
  // sources/: a tree is read by builds that no longer hold its unpack lock.
  for (fs::directory_iterator it(cache / "sources", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_lock_file(it->path()) || (name == "resolved" && !all) || !it->is_directory()) continue;
    const bool src_pkg = name.size() > 4 && name.compare(name.size() - 4, 4, "-src") == 0;
    auto guards = name == "resolved" ? concat(concat(source_unpack, source_pkg), built)
                  : src_pkg          ? concat(source_pkg, target_builds)
                                     : concat(source_unpack, built);
    remove_locked(it->path(), guards, locks, freed, skipped);
  }
  // kernels/: an entry is published before the record naming it is written,
  // both under its lock, so "unreferenced" is read under all of them.
  if (locks.take(kernel_locks)) {
    std::set<std::string> referenced;
    for (fs::directory_iterator it(cache / "kernels" / "resolved", ec), end; !all && !ec && it != end; it.increment(ec)) {
      try {
        referenced.insert(nlohmann::json::parse(util::read_file(it->path())).at("cache_key").get<std::string>());
      } catch (const std::exception&) {
      }
    }
    for (fs::directory_iterator it(cache / "kernels", ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (is_lock_file(it->path()) || (!all && (name == "resolved" || !it->is_directory() || referenced.count(name))))
        continue;
      remove_locked(it->path(), kernel_locks, locks, freed, skipped);
    }
  } else if (fs::exists(cache / "kernels")) {
    ++skipped;
    std::cout << fmt::format("skipped the entries of {}: in use by a running archmatrix (lock {} is held)\n",
                             (cache / "kernels").string(), locks.busy().string());
  }
  // snapshots/<key>/: exec's saved guests, one boot each to make again. Its
  // lock is held only while one is made; a restore reading it keeps its file
  // open, so removing it under a running exec is safe.
  for (fs::directory_iterator it(cache / "snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    if (is_lock_file(it->path())) continue;
    std::string name = it->path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) name.resize(name.size() - 4);
    remove_locked(it->path(), {cache / "snapshots" / (name + ".lock")}, locks, freed, skipped);
  }
  // apt/<suite>-<arch>/: its own lock, and every user that downloads through it.
  if (all) {
    const auto users = concat(concat(concat(kernel_locks, source_unpack), source_pkg), package_locks);
    for (fs::directory_iterator it(cache / "apt", ec), end; !ec && it != end; it.increment(ec)) {
      if (is_lock_file(it->path())) continue;
      remove_locked(it->path(), concat({fs::path(it->path().string() + ".lock")}, users), locks, freed, skipped);
    }
  }
  std::cout << fmt::format("{:.0f} MiB freed in {}\n", static_cast<double>(freed) / (1024.0 * 1024.0), cache.string());
  if (skipped > 0)
    std::cout << fmt::format("{} entries in use were kept; run `archmatrix kernels clean` again when the runs end\n",
                             skipped);
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
    if (util::interrupted()) break;
    try {
      p.kernels[k->id] = fetcher.fetch(debian_spec(*k), refresh);
    } catch (const prepare::NoDebianMirror&) {
      throw;  // nothing can be downloaded: the host cannot work at all (exit 3)
    } catch (const std::exception& e) {
      p.errors[k->id] = std::string("kernel ") + k->id + ": " + e.what();
      progress.log(p.errors[k->id]);
    }
  }
  if (to_build.empty() || util::interrupted()) return p;

  if (jobs <= 0) jobs = cpu_count();
  const int workers = std::min<int>(jobs, static_cast<int>(to_build.size()));
  const int make_jobs = cpu_count();  // each make: -j CPUs -l CPUs (load-limited, see KernelBuilder)
  prepare::KernelBuilder builder(
      cache, [&](std::string_view m) { progress.log(m); },
      [&](const std::string& id, const std::string& what) { progress.task("kernel " + id, what); });
  std::mutex mu;
  std::size_t next = 0;
  std::exception_ptr fatal;  // thrown again once every worker is joined
  const auto work = [&] {
    for (;;) {
      const config::KernelRecipe* k = nullptr;
      {
        std::lock_guard lk(mu);
        if (next == to_build.size() || fatal || util::interrupted()) return;
        k = to_build[next++];
      }
      try {
        auto a = builder.build(*k, make_jobs, refresh);
        std::lock_guard lk(mu);
        p.kernels[k->id] = std::move(a);
      } catch (const prepare::NoDebianMirror&) {
        std::lock_guard lk(mu);
        fatal = std::current_exception();
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
  if (fatal) std::rethrow_exception(fatal);
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
  util::install_interrupt_handlers();  // Ctrl-C kills the builds' process groups, then exit 130
  const auto pk = prepare_kernels(chosen, o.jobs, o.refresh, progress);
  if (util::interrupted()) {
    std::cout << "interrupted: kernels not built yet are built by the next run\n";
    return util::kExitInterrupted;
  }
  for (const auto* k : chosen) {
    if (auto it = pk.kernels.find(k->id); it != pk.kernels.end())
      std::cout << fmt::format("{}: {} ({})\n", k->id, it->second.release, it->second.image.string());
    else
      std::cout << fmt::format("{}: FAILED: {}\n", k->id, pk.errors.at(k->id));
  }
  return pk.errors.empty() ? util::kExitOk : util::kExitHostError;
}

}  // namespace archmatrix::cli
