#include "prepare/kernel_build.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "config/kernel_config.h"
#include "prepare/apt_sources.h"
#include "prepare/apt_state.h"
#include "prepare/kernel_image.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/subprocess.h"
#include "util/text_safe.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const KernelBuildArch& kernel_build_arch(util::Arch arch) {
  static const KernelBuildArch arm64{"arm64", "Image", "arch/arm64/boot/Image"};
  static const KernelBuildArch arm{"arm", "zImage", "arch/arm/boot/zImage"};
  static const KernelBuildArch x86{"x86_64", "bzImage", "arch/x86/boot/bzImage"};
  switch (arch) {
    case util::Arch::aarch64: return arm64;
    case util::Arch::armhf: return arm;
    case util::Arch::x86_64: return x86;
  }
  return x86;
}

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string format_elapsed(double s) {
  const int t = static_cast<int>(s);
  return t >= 60 ? fmt::format("{}m{:02}s", t / 60, t % 60) : fmt::format("{}s", t);
}

// The last line make wrote ("  CC      mm/mmap.o"), trimmed, for the progress display.
std::string last_log_line(const fs::path& log) {
  std::string t = util::file_tail(log, 1);
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  const auto b = t.find_first_not_of(' ');
  t = b == std::string::npos ? "" : t.substr(b);
  return util::terminal_text(t, 60);
}

// Runs a command while a watcher reports its elapsed time and the log's last
// line every couple of seconds.
util::CommandResult run_watched(const std::vector<std::string>& argv, const util::CommandOptions& opts,
                                const std::function<void(const std::string&)>& report, const std::string& step) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  const auto t0 = Clock::now();
  std::thread watcher([&] {
    std::unique_lock lk(m);
    while (!cv.wait_for(lk, std::chrono::seconds(2), [&] { return done; })) {
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      report(fmt::format("{} {}: {}", step, format_elapsed(s), last_log_line(opts.output_file)));
    }
  });
  util::CommandResult r;
  try {
    r = util::run_command(argv, opts);
  } catch (...) {
    {
      std::lock_guard lk(m);
      done = true;
    }
    cv.notify_all();
    watcher.join();
    throw;
  }
  {
    std::lock_guard lk(m);
    done = true;
  }
  cv.notify_all();
  watcher.join();
  return r;
}

std::optional<KernelArtifact> entry_if_valid(const fs::path& entry, const std::string& key) {
  try {
    const json meta = json::parse(util::read_file(entry / "meta.json"));
    const fs::path image = entry / "vmlinuz";
    if (!fs::exists(image) || util::sha256_file(image) != meta.at("sha256").get<std::string>()) return std::nullopt;
    return KernelArtifact{image, meta.at("package"), meta.at("version"), meta.at("release"), meta.at("sha256"), key};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

KernelBuilder::KernelBuilder(fs::path cache_root, std::function<void(std::string_view)> log, Status status)
    : cache_(std::move(cache_root)), log_(std::move(log)), status_(std::move(status)) {}

std::string KernelBuilder::toolchain_version(util::Arch arch) const {
  const std::string triplet(util::arch_info(arch).triplet);
  std::string v;
  for (const char* tool : {"-gcc", "-ld"}) {
    auto r = util::run_command({triplet + tool, "--version"});
    if (r.exit_code != 0)
      throw util::Error(fmt::format("{}{} --version failed: is the {} cross toolchain installed (ci/setup.sh)?", triplet,
                                    tool, triplet));
    v += first_line(r.output) + "\n";
  }
  return v;
}

KernelSourceTree KernelBuilder::source(const config::KernelRecipe& k, bool refresh) {
  const fs::path dir = cache_ / "sources";
  fs::create_directories(dir / "resolved");
  util::FileLock lock(dir / (".lock-" + k.suite + "-" + k.package));
  const fs::path record = dir / "resolved" / (k.suite + "-" + k.package + ".json");
  KernelSourceTree src;
  src.package = k.package;
  bool recorded = false;
  if (!refresh && fs::exists(record)) {
    try {
      const json r = json::parse(util::read_file(record));
      src.version = r.at("version");
      src.sha256 = r.at("sha256");
      recorded = true;
    } catch (const std::exception& e) {
      log_(fmt::format("source record {} unusable ({}): resolving again", record.string(), e.what()));
    }
  }
  // linux-source-* is Architecture: all; the kernel arch's apt state (shared
  // with its Debian kernels) knows it.
  const AptState apt(cache_, k.suite, std::string(util::arch_info(k.arch).deb_arch), log_);
  if (!recorded) {
    log_(fmt::format("resolving {} in Debian {}", k.package, k.suite));
    apt.update(k.package);
    const auto stanzas = parse_stanzas(apt.show(k.package));
    if (stanzas.empty()) throw util::Error(fmt::format("Debian {} has no package {}", k.suite, k.package));
    src.version = stanzas.front().count("Version") ? stanzas.front().at("Version") : "";
    src.sha256 = stanzas.front().count("SHA256") ? stanzas.front().at("SHA256") : "";
    if (src.version.empty() || src.sha256.empty())
      throw util::Error(fmt::format("apt's index gives no Version or SHA256 for {} in {}", k.package, k.suite));
  }

  const fs::path root = dir / util::file_safe(k.package + "_" + src.version);
  if (!util::directory_complete(root, src.sha256)) {
    const fs::path work = dir / fmt::format(".work-{}-{}", util::file_safe(k.package), ::getpid());
    fs::remove_all(work);
    status_(k.id, fmt::format("downloading {} {}", k.package, src.version));
    const fs::path deb = apt.download(k.package, src.version, src.sha256, work / "debs");
    if (auto r = util::run_command({"dpkg-deb", "-x", deb.string(), (work / "deb").string()}); r.exit_code != 0)
      throw util::Error(fmt::format("extracting {} failed:\n{}", deb.string(), r.output));
    fs::path tarball;
    for (const auto& e : fs::directory_iterator(work / "deb" / "usr" / "src"))
      if (e.path().filename().string().rfind("linux-source-", 0) == 0) tarball = e.path();
    if (tarball.empty()) throw util::Error(fmt::format("{} {} holds no usr/src/linux-source-* tarball", k.package, src.version));
    status_(k.id, fmt::format("unpacking {}", tarball.filename().string()));
    fs::create_directories(work / "tree");
    auto r = util::run_command({"tar", "-C", (work / "tree").string(), "-xf", tarball.string()});
    if (r.exit_code != 0) throw util::Error(fmt::format("unpacking {} failed:\n{}", tarball.string(), r.output));
    util::publish_directory(work / "tree", root, src.sha256);
    fs::remove_all(work);
  }
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && fs::exists(e.path() / "Makefile")) src.tree = e.path();
  if (src.tree.empty()) throw util::Error("no kernel source tree (a directory with a Makefile) in " + root.string());
  if (!recorded)
    util::write_file_atomic(record, json{{"package", src.package}, {"version", src.version}, {"sha256", src.sha256}}
                                            .dump(2) + "\n");
  return src;
}

std::optional<KernelArtifact> KernelBuilder::cached(const config::KernelRecipe& k) const {
  try {
    const json r = json::parse(util::read_file(cache_ / "kernels" / "resolved" / ("built-" + k.id + ".json")));
    const std::string key = r.at("cache_key");
    return entry_if_valid(cache_ / "kernels" / key, key);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

KernelArtifact KernelBuilder::build(const config::KernelRecipe& k, int make_jobs, bool refresh) {
  const KernelBuildArch& kb = kernel_build_arch(k.arch);
  const std::string arch_name(util::arch_info(k.arch).name);
  const KernelSourceTree src = source(k, refresh);

  config::BuiltKernelInputs in{arch_name, src.package, src.version, src.sha256, toolchain_version(k.arch),
                               std::string(kb.make_target)};
  std::vector<std::string> texts;
  std::vector<config::ConfigLine> lines;
  for (const auto& f : k.fragments) {
    texts.push_back(util::read_file(f));
    auto l = config::parse_config_fragment(texts.back(), f);
    lines.insert(lines.end(), l.begin(), l.end());
  }
  const std::string inputs_key = config::built_kernel_inputs_key(in, texts);

  const fs::path kernels = cache_ / "kernels";
  fs::create_directories(kernels / "resolved");
  util::FileLock lock(kernels / (".lock-built-" + k.id));
  const fs::path record = kernels / "resolved" / ("built-" + k.id + ".json");
  // Every inputs key seen for this recipe, not only the last: two checkouts
  // (or branches) with different fragments each keep their fast path instead
  // of re-running Kconfig on every call (which costs exec a second).
  json known = json::object();
  try {
    const json r = json::parse(util::read_file(record));
    if (r.contains("known") && r.at("known").is_object()) known = r.at("known");
    else known[r.at("inputs_key").get<std::string>()] = r.at("cache_key");
  } catch (const std::exception&) {
  }
  try {
    if (known.contains(inputs_key)) {
      const std::string key = known.at(inputs_key);
      if (auto a = entry_if_valid(kernels / key, key)) {
        log_(fmt::format("kernel {} ({}, built) from the cache", k.id, a->release));
        return *a;
      }
      log_(fmt::format("cached kernel {} is missing or fails its checksum: building it again", k.id));
    }
  } catch (const std::exception&) {
  }

  // An object directory per recipe and source version: make there is
  // incremental when only a fragment changed.
  const fs::path obj = cache_ / "kbuild" / util::file_safe(k.id + "-" + src.version);
  fs::create_directories(obj);
  const std::string triplet(util::arch_info(k.arch).triplet);
  const auto make = [&](std::vector<std::string> args) {
    std::vector<std::string> v{"make", "-C", src.tree.string(), "O=" + obj.string(), "ARCH=" + std::string(kb.karch),
                               "CROSS_COMPILE=" + triplet + "-",
                               // Host flags never reach the target build (seed 004).
                               "KCFLAGS=", "KAFLAGS=", "KBUILD_BUILD_USER=archmatrix", "KBUILD_BUILD_HOST=archmatrix"};
    v.insert(v.end(), args.begin(), args.end());
    return v;
  };
  util::CommandOptions opts;
  opts.output_file = obj / "build.log";

  status_(k.id, "configuring (make allnoconfig + fragments)");
  util::write_file_atomic(obj / "archmatrix-fragments.config", config::merge_config_fragments(lines));
  const auto configure = make({"KCONFIG_ALLCONFIG=" + (obj / "archmatrix-fragments.config").string(), "allnoconfig"});
  if (auto r = util::run_command(configure, opts); r.exit_code != 0)
    throw util::Error(fmt::format("configuring kernel {} failed ({}); log {}:\n{}", k.id, util::quote_argv(configure),
                                  opts.output_file.string(), util::file_tail(opts.output_file, 25)));
  const std::string dot_config = util::read_file(obj / ".config");
  if (const auto bad = config::config_mismatches(lines, dot_config); !bad.empty()) {
    std::string msg = fmt::format("kernel {}: Kconfig did not keep what its fragments ask for:", k.id);
    for (const auto& b : bad) msg += "\n  " + b;
    throw util::Error(msg, util::kExitBadInput);
  }

  const std::string key = config::built_kernel_key(in, dot_config);
  std::optional<KernelArtifact> art = entry_if_valid(kernels / key, key);
  if (!art) {
    // Cold: nothing compiled yet in the object tree (the figure bench/ reports).
    const bool cold = !fs::exists(obj / "vmlinux");
    const auto t0 = Clock::now();
    // -l: several builds at once share the CPUs by load, so the last one
    // running alone still gets them all.
    const auto build = make({fmt::format("-j{}", std::max(1, make_jobs)), fmt::format("-l{}", std::max(1, make_jobs)),
                             std::string(kb.make_target)});
    opts.append = true;
    log_(fmt::format("building kernel {} from {} {} ({}, make -j{}); log {}", k.id, src.package, src.version,
                     kb.make_target, std::max(1, make_jobs), opts.output_file.string()));
    auto r = run_watched(build, opts, [&](const std::string& what) { status_(k.id, what); },
                         "make " + std::string(kb.make_target));
    if (r.exit_code != 0)
      throw util::Error(fmt::format("building kernel {} failed ({}); log {}:\n{}", k.id, util::quote_argv(build),
                                    opts.output_file.string(), util::file_tail(opts.output_file, 25)));
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const fs::path image = obj / kb.image_path;
    require_kernel_image(image, k.arch);
    std::string release = util::read_file(obj / "include" / "config" / "kernel.release");
    release = first_line(release);

    const fs::path work = kernels / fmt::format(".work-{}-{}", key, ::getpid());
    fs::remove_all(work);
    fs::create_directories(work);
    fs::copy_file(image, work / "vmlinuz");
    fs::copy_file(obj / "vmlinux", work / "vmlinux");  // its symbols, for exec --kernel-gdb
    fs::copy_file(obj / ".config", work / "config");
    fs::copy_file(obj / "build.log", work / "build.log");
    fs::copy_file(obj / "archmatrix-fragments.config", work / "fragments.config");
    const std::string sha = util::sha256_file(work / "vmlinuz");
    json frags = json::array();
    for (const auto& f : k.fragments) frags.push_back(f.filename().string());
    util::write_file_atomic(work / "meta.json",
                            json{{"package", src.package}, {"version", src.version}, {"release", release},
                                 {"sha256", sha}, {"source", "built"}, {"recipe", k.id}, {"arch", arch_name},
                                 {"suite", k.suite}, {"source_sha256", src.sha256}, {"toolchain", in.toolchain},
                                 {"make_target", kb.make_target}, {"fragments", frags},
                                 {"build_seconds", seconds}, {"cold_build", cold},
                                 {"make_jobs", std::max(1, make_jobs)}}
                                    .dump(2) + "\n");
    util::publish_directory(work, kernels / key, sha);
    art = KernelArtifact{kernels / key / "vmlinuz", src.package, src.version, release, sha, key};
    log_(fmt::format("kernel {} ({}) built in {} and cached as {}", k.id, release, format_elapsed(seconds), key));
  } else {
    log_(fmt::format("kernel {} ({}): same .config as the cached {}", k.id, art->release, key));
  }
  if (known.size() >= 16) known = json::object();  // bounded; the current one is added back below
  known[inputs_key] = key;
  util::write_file_atomic(
      record, json{{"recipe", k.id}, {"inputs_key", inputs_key}, {"cache_key", key}, {"known", known}}.dump(2) + "\n");
  return *art;
}

std::optional<fs::path> built_vmlinux(const fs::path& cache_root, const KernelArtifact& kernel) {
  const fs::path entry = kernel.image.parent_path();
  if (fs::exists(entry / "vmlinux")) return entry / "vmlinux";
  std::error_code ec;
  const std::string config = fs::exists(entry / "config") ? util::read_file(entry / "config") : "";
  if (config.empty()) return std::nullopt;
  for (fs::directory_iterator it(cache_root / "kbuild", ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path obj = it->path();
    if (!fs::exists(obj / "vmlinux") || !fs::exists(obj / ".config") || util::read_file(obj / ".config") != config)
      continue;
    const fs::path tmp = entry / fmt::format(".vmlinux-{}", ::getpid());
    fs::copy_file(obj / "vmlinux", tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(tmp, entry / "vmlinux", ec);
    if (!ec) return entry / "vmlinux";
    fs::remove(tmp, ec);
  }
  return std::nullopt;
}

}  // namespace archmatrix::prepare
