// `archmatrix exec`: one program in one cell's guest, as if it ran here.
// Boots the cell with a channel-serving agent (docs/protocol.md, "Data
// channel"), sends the program, streams its stdout/stderr byte-exact to ours
// and exits with its status, after docker run / timeout(1): the program's
// status, 128+N for signal N, 124 on --timeout, 125 when archmatrix failed,
// 126 when the program cannot run there.

#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "cli/commands.h"
#include "cli/kernels.h"
#include "cli/exec_files.h"
#include "cli/progress.h"
#include "cli/project_loading.h"
#include "elf/elf_check.h"
#include "exec/qemu_command.h"
#include "guest/guest.h"
#include "prepare/cell_image.h"
#include "prepare/kernel_image.h"
#include "prepare/kernel_modules.h"
#include "prepare/target_build.h"
#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;

namespace {

constexpr int kTimedOut = 124, kFailed = 125, kCannotExecute = 126;

/// A failure with exec's own exit status and a one-line reason.
struct ExecFailure {
  int status;
  std::string message;
};

void write_fd(int fd, std::string_view data, bool& broken) {
  while (!broken && !data.empty()) {
    const ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) broken = true;  // reader gone (| head): keep draining the guest
    else data.remove_prefix(static_cast<std::size_t>(w));
  }
}

void on_signal(int) { guest::g_interrupted = 1; }

// The program's bytes, its ELF check against the cell, before anything boots.
void check_program(const fs::path& program, util::Arch arch) {
  std::string bytes;
  try {
    bytes = util::read_file(program);
  } catch (const std::exception& e) {
    throw ExecFailure{kCannotExecute, e.what()};
  }
  const auto parsed = elf::parse_elf(bytes);
  if (const auto* why = std::get_if<std::string>(&parsed))
    throw ExecFailure{kCannotExecute, program.string() + ": not an ELF executable (" + *why + ")"};
  if (std::get<elf::ElfInfo>(parsed).has_interp)
    throw ExecFailure{kCannotExecute, program.string() +
                                          ": a dynamically linked program; exec runs static programs only so far"};
  if (auto bad = elf::check_elf(bytes, arch, elf::Linkage::static_exe))
    throw ExecFailure{kCannotExecute, program.string() + " " + *bad};
}

const plan::Cell& pick_cell(const LoadedPlan& lp, const fs::path& program) {
  std::string bytes;
  try {
    bytes = util::read_file(program);
  } catch (const std::exception& e) {
    throw ExecFailure{kCannotExecute, e.what()};
  }
  if (lp.plan.cells.empty()) throw ExecFailure{kFailed, "no cell matches the --cell patterns"};
  if (lp.plan.cells.size() == 1) return lp.plan.cells.front();
  // Several: the one cell whose arch the program is for.
  std::vector<const plan::Cell*> fit;
  for (const auto& c : lp.plan.cells)
    if (!elf::check_elf(bytes, c.arch, elf::Linkage::static_exe)) fit.push_back(&c);
  if (fit.size() == 1) return *fit.front();
  if (fit.empty()) return lp.plan.cells.front();  // its check names what is wrong
  std::string ids;
  for (std::size_t i = 0; i < fit.size() && i < 6; ++i) ids += (i ? ", " : "") + fit[i]->id;
  throw ExecFailure{kFailed, fmt::format("{} cells match ({}{}); exec runs one cell for now: choose it with --cell",
                                         fit.size(), ids, fit.size() > 6 ? ", ..." : "")};
}

int status_of(const guest::RunResult& r) {
  if (r.status == "exit") return std::stoi(r.value);
  if (r.status == "signal") return 128 + std::stoi(r.value);
  if (r.status == "timeout") return kTimedOut;
  // The agent could not start it: exec format, missing interpreter, ...
  throw ExecFailure{kCannotExecute, "cannot execute in the guest: " + r.value};
}

int exec_in_cell(const ExecOptions& o, Progress& progress) {
  const auto puts = parse_puts(o.puts);  // bad file arguments: nothing boots
  check_gets(o.gets);
  LoadedPlan lp = load_and_plan(o.common);
  const plan::Cell& cell = pick_cell(lp, o.program);
  check_program(o.program, cell.arch);

  auto pk = prepare_kernels({cell.kernel}, 1, false, progress);
  if (auto it = pk.errors.find(cell.kernel->id); it != pk.errors.end())
    throw ExecFailure{kFailed, "kernel " + cell.kernel->id + ": " + it->second};
  const auto& kernel = pk.kernels.at(cell.kernel->id);
  prepare::require_kernel_image(kernel.image, cell.arch);
  const fs::path cache = util::cache_root();
  const bool pci = cell.arch == util::Arch::x86_64;
  std::vector<fs::path> modules;
  if (cell.kernel->source == config::KernelSource::debian)
    modules = prepare::channel_modules(
        cache, {cell.kernel->suite, std::string(util::arch_info(cell.arch).deb_arch), cell.kernel->package}, kernel,
        pci ? "virtio_pci" : "virtio_mmio", true, [&](std::string_view m) { progress.log(m); });
  prepare::TargetBuilder builder(o.common.root, cache, [&](std::string_view m) { progress.log(m); });
  const auto bins = builder.build(cell.arch, {});

  char tmpl[] = "/tmp/archmatrix-exec-XXXXXX";
  const char* tmpdir = ::getenv("TMPDIR");
  std::string dir_template = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/archmatrix-exec-XXXXXX";
  if (!::mkdtemp(dir_template.data())) throw ExecFailure{kFailed, "cannot create a directory like " + std::string(tmpl)};
  const fs::path work = dir_template;
  const auto initrd = prepare::write_channel_image(bins.agent, modules, prepare::make_nonce(), work);

  guest::StartOptions so;
  so.qemu_argv = exec::qemu_argv(cell, {kernel.image, initrd, o.qemu_dir});
  so.work_dir = work;
  so.machine_kind = pci ? "pci" : "mmio";
  const auto& t = lp.project.matrix.timeouts;
  so.boot_timeout = std::chrono::milliseconds(static_cast<long long>(t.boot_s * t.tcg_scale * 1000));
  // The cwd, read-only at the same path, is the program's cwd (fixtures
  // read relatively work); "/" is not shared: it would hide the guest's own root.
  const std::string cwd = fs::current_path().string();
  if (cwd != "/") so.shares.push_back({cwd, "amcwd"});

  bool keep = false;
  try {
    auto g = guest::Guest::start(so);
    const std::string guest_path = "/archmatrix/exec/" + o.program.filename().string();
    g->put(o.program, guest_path, 0755);
    // The cache mode is the agent's measured default; bench/exec_share.sh
    // compares the others through this variable.
    const char* cache_mode = ::getenv("ARCHMATRIX_EXEC_9P_CACHE");
    if (cwd != "/") {
      const auto t0 = std::chrono::steady_clock::now();
      g->mount("amcwd", cwd, cache_mode ? cache_mode : "");
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
      progress.log(fmt::format("{} shared read-only in {} ms", cwd, ms.count()));
    }
    for (const auto& p : puts) put_one(*g, p);
    guest::RunRequest r;
    r.path = guest_path;
    r.argv.push_back(guest_path);
    for (const auto& a : o.args) r.argv.push_back(a);
    r.env = o.env;
    r.root = o.root_user;
    r.cwd = cwd;
    r.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_s * 1000));
    struct stat st{};
    if (::fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode))) r.stdin_fd = 0;
    bool out_broken = false, err_broken = false;
    const auto res = g->run(
        r, [&](std::string_view b) { write_fd(1, b, out_broken); }, [&](std::string_view b) { write_fd(2, b, err_broken); });
    fetch_gets(*g, o.gets, o.out);
    g->close();
    const int status = status_of(res);
    fs::remove_all(work);
    return status;
  } catch (const guest::GuestError& e) {
    keep = true;
    if (e.exit_status() == util::kExitInterrupted) {
      fs::remove_all(work);
      throw ExecFailure{util::kExitInterrupted, "interrupted"};
    }
    throw ExecFailure{kFailed, fmt::format("{} (kept {})", e.what(), work.string())};
  } catch (...) {
    if (!keep) fs::remove_all(work);
    throw;
  }
}

}  // namespace

int run_exec(const ExecOptions& o) {
  // Progress goes to stderr only for a person watching: a script's stderr is
  // the program's alone.
  Progress progress(false);
  progress.set_silent(!o.verbose && !::isatty(2));
  struct sigaction sa{};
  sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return exec_in_cell(o, progress);
  } catch (const ExecFailure& f) {
    std::cerr << "archmatrix exec: " << f.message << "\n";
    return f.status;
  } catch (const util::Error& e) {
    std::string m = e.what();
    std::replace(m.begin(), m.end(), '\n', ' ');
    std::cerr << "archmatrix exec: " << m << "\n";
    return kFailed;
  } catch (const std::exception& e) {
    std::cerr << "archmatrix exec: internal error: " << e.what() << "\n";
    return kFailed;
  }
}

}  // namespace archmatrix::cli
