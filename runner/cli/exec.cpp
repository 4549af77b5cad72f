// `archmatrix exec`: a user's program in real guests, as if it ran here.
// Boots each chosen cell with a channel-serving agent (docs/protocol.md,
// "Data channel"), checks the guest is what its cell says, sends the program,
// streams its stdout/stderr and exits with its status, after docker run /
// timeout(1): the program's status, 128+N for signal N, 124 on --timeout,
// 125 when archmatrix failed, 126 when the program cannot run there.
//
// One cell: output passes through byte-exact, as if the program ran locally
// (what ctest's CMAKE_CROSSCOMPILING_EMULATOR needs). Several cells: they run
// --jobs at a time, every output line is prefixed with its cell id, a table
// ends the run, reports go to --out, and the status is the first failing
// cell's (in cell order), 0 only when every cell's program exited 0.

#include <fmt/format.h>
#include <fnmatch.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstring>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/cell_summary.h"
#include "cli/commands.h"
#include "cli/kernels.h"
#include "cli/exec_files.h"
#include "cli/exec_snapshot.h"
#include "cli/progress.h"
#include "cli/utc_time.h"
#include "cli/project_loading.h"
#include "elf/elf_check.h"
#include "exec/accel.h"
#include "exec/qemu_command.h"
#include "guest/guest.h"
#include "prepare/cell_image.h"
#include "prepare/kernel_build.h"
#include "prepare/kernel_image.h"
#include "prepare/dynamic_closure.h"
#include "prepare/kernel_modules.h"
#include "prepare/program_payload.h"
#include "prepare/target_build.h"
#include "prepare/target_packages.h"
#include "report/write_reports.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "util/fs.h"
#include "util/line_prefix.h"
#include "util/text_safe.h"
#include "verdict/verdict.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kTimedOut = 124, kFailed = 125, kCannotExecute = 126;
constexpr std::size_t kReportTail = 64 * 1024;  // of each stream, in report.json (whole files beside it)

/// A failure with exec's own exit status and a one-line reason.
struct ExecFailure {
  int status;
  std::string message;
};

// One write() per call where possible: concurrent cells' lines stay whole.
std::mutex g_output_mutex;

void write_fd(int fd, std::string_view data, bool& broken) {
  while (!broken && !data.empty()) {
    const ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) broken = true;  // reader gone (| head): keep draining the guest
    else data.remove_prefix(static_cast<std::size_t>(w));
  }
}

void on_signal(int) { guest::g_interrupted = 1; }

// shell: the terminal's size, and whether it changed (SIGWINCH).
volatile sig_atomic_t g_resized = 0;
void on_winch(int) { g_resized = 1; }

std::pair<unsigned, unsigned> terminal_size() {
  struct winsize ws{};
  for (int fd : {0, 1, 2})
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) return {ws.ws_row, ws.ws_col};
  return {24, 80};
}

// The terminal in raw mode while a shell runs in the guest (every key goes
// there, ^C included), restored however the run ends: the program's exit, an
// exception (guest crash, SIGTERM), or Ctrl-].
class RawTerminal {
 public:
  RawTerminal() {
    if (!::isatty(0) || ::tcgetattr(0, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(0, TCSADRAIN, &raw) == 0;  // keys typed ahead go to the guest
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(0, TCSADRAIN, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::string read_program(const fs::path& program) {
  try {
    return prepare::read_program(program);
  } catch (const util::Error& e) {
    throw ExecFailure{e.exit_status(), e.what()};
  }
}

// The program and, for a dynamic one, its loader and libraries, read and
// ELF-checked against the cell before anything boots (prepare/program_payload.h).
prepare::ProgramPayload check_program(const ExecOptions& o, util::Arch arch, Progress& progress) {
  prepare::LibrarySearch search{o.lib_dirs, {}, o.packages, prepare::target_library_dirs(arch)};
  try {
    const auto info = elf::parse_elf(prepare::read_program(o.program));
    if (!o.packages.empty() && std::get<elf::ElfInfo>(info).has_interp)
      search.package_root = prepare::TargetPackages(util::cache_root(), [&](std::string_view m) { progress.log(m); })
                                .root({"exec", "--package", o.packages}, arch);
    return prepare::program_payload(o.program, arch, search);
  } catch (const util::Error& e) {
    const int s = e.exit_status();
    std::string m = e.what();  // a --package download's error may quote apt's output
    std::replace(m.begin(), m.end(), '\n', ' ');
    throw ExecFailure{s == prepare::kCannotExecute || s == prepare::kProgramNotFound ? s : kFailed, m};
  }
}

// Debian's strace of the target arch with what it needs beyond the cross
// toolchain's libc: bookworm's strace depends on libunwind8, which depends
// on liblzma5 (apt-cache depends strace).
const std::vector<std::string> kStracePackages = {"strace", "libunwind8", "liblzma5"};
constexpr const char* kStraceOutput = "/tmp/.archmatrix-strace";
// Debian's gdbserver: bookworm's depends on libstdc++6 and libgcc-s1.
const std::vector<std::string> kGdbserverPackages = {"gdbserver", "libstdc++6", "libgcc-s1"};

// A tool from Debian packages of the target arch (--strace, --gdb): its
// libraries beside it, checked like the program, and put apart from it in
// the guest at `exec_path`, whatever the program's name.
prepare::ProgramPayload check_tool(util::Arch arch, const std::string& option, const std::vector<std::string>& packages,
                                   const std::string& binary, const std::string& exec_path, Progress& progress) {
  try {
    const fs::path root = prepare::TargetPackages(util::cache_root(), [&](std::string_view m) { progress.log(m); })
                              .root({"exec " + option, option, packages}, arch);
    prepare::LibrarySearch search{{}, root, packages, prepare::target_library_dirs(arch)};
    auto p = prepare::program_payload(root / binary, arch, search);
    p.exec_path = exec_path;
    p.files.front().guest_path = p.exec_path;
    return p;
  } catch (const util::Error& e) {
    std::string m = e.what();
    std::replace(m.begin(), m.end(), '\n', ' ');
    throw ExecFailure{kFailed, option + ": " + m};
  }
}

// A host directory holding the payload's files at their guest paths: gdb's
// sysroot, so it resolves the program's symbols and shared libraries as the
// guest had them. Returns the program's path in it.
fs::path write_sysroot(const prepare::ProgramPayload& payload, const fs::path& sysroot) {
  std::error_code ec;
  for (const auto& f : payload.files) {
    const fs::path to = sysroot / fs::path(f.guest_path).relative_path();
    fs::create_directories(to.parent_path(), ec);
    fs::copy_file(f.host, to, fs::copy_options::overwrite_existing, ec);
  }
  return sysroot / fs::path(payload.exec_path).relative_path();
}

// The gdb-multiarch command that debugs the program under the guest's
// gdbserver through `socket`.
std::vector<std::string> gdb_command(const fs::path& sysroot, const fs::path& socket, const fs::path& program) {
  return {"gdb-multiarch", "-iex", "set sysroot " + sysroot.string(), "-ex", "target remote " + socket.string(),
          program.string()};
}

// The architecture whose guests can run the program, if any.
std::optional<util::Arch> program_arch(const fs::path& program) {
  const std::string bytes = read_program(program);
  for (const auto& a : util::all_arches())
    if (!prepare::program_mismatch(bytes, a.arch)) return a.arch;
  return std::nullopt;
}

struct Selection {
  std::vector<const plan::Cell*> cells;             // cell order (by id)
  std::vector<std::pair<std::string, std::string>> skipped;  // id, why
};

// --cell globs each match a cell; of the matched (or, without --cell, of all)
// cells, those of the program's architecture run and the rest are skipped
// with the reason. None left: the program's own check names what is wrong.
Selection select_cells(const LoadedPlan& lp, const ExecOptions& o) {
  read_program(o.program);  // 127 when there is nothing, 126 when it is no program, before any cell talk
  for (const auto& pattern : o.common.cells) {
    bool any = false;
    for (const auto& c : lp.plan.cells) any = any || ::fnmatch(pattern.c_str(), c.id.c_str(), 0) == 0;
    if (!any) throw ExecFailure{kFailed, fmt::format("--cell {}: no cell of {} matches", pattern, o.common.matrix.string())};
  }
  Selection s;
  const auto arch = program_arch(o.program);
  for (const auto& c : lp.plan.cells) {
    if (arch && c.arch == *arch) {
      s.cells.push_back(&c);
    } else {
      s.skipped.emplace_back(c.id, fmt::format("the program is not for {}",
                                               util::arch_info(c.arch).name));
    }
  }
  if (s.cells.empty()) {
    for (const auto& [id, why] : s.skipped) std::cerr << "archmatrix exec: skipped " << id << ": " << why << "\n";
    // Let the check say why, naming the expected and the found machine.
    if (auto why = prepare::program_mismatch(read_program(o.program), lp.plan.cells.front().arch))
      throw ExecFailure{kCannotExecute, o.program.string() + " " + *why};
    throw ExecFailure{kCannotExecute, fmt::format("{}: no cell of the matrix runs {} programs", o.program.string(),
                                                  util::arch_info(*arch).name)};
  }
  return s;
}

/// What the run shares between its cells: kernels, channel modules, agents.
struct Prepared {
  std::map<std::string, prepare::KernelArtifact> kernels;  // by recipe id
  std::map<std::string, std::string> kernel_errors;
  std::map<std::string, std::vector<fs::path>> modules;  // by recipe id (Debian kernels)
  std::map<util::Arch, fs::path> agents;
  std::map<util::Arch, prepare::ProgramPayload> payloads;  // what each arch's guests get
  std::map<util::Arch, prepare::ProgramPayload> strace;    // --strace: strace and its libraries
  std::map<util::Arch, prepare::ProgramPayload> gdbserver; // --gdb: gdbserver and its libraries
  exec::HostAccel host;                                    // what the host can accelerate
  std::vector<PutSpec> puts;  // --put, checked before anything boots
  std::string cwd;            // shared read-only at the same path; "" for "/" (it would hide the guest's root)
};

bool is_pci(const plan::Cell& cell) { return cell.arch == util::Arch::x86_64; }

Prepared prepare_cells(const std::vector<const plan::Cell*>& cells, const ExecOptions& o, int jobs,
                       Progress& progress) {
  Prepared p;
  std::vector<const config::KernelRecipe*> recipes;
  for (const auto* c : cells)
    if (std::find(recipes.begin(), recipes.end(), c->kernel) == recipes.end()) recipes.push_back(c->kernel);
  auto pk = prepare_kernels(recipes, jobs, false, progress);
  p.kernels = std::move(pk.kernels);
  p.kernel_errors = std::move(pk.errors);
  const fs::path cache = util::cache_root();
  const auto log = [&](std::string_view m) { progress.log(m); };
  for (const auto* c : cells) {
    const auto& k = *c->kernel;
    if (k.source != config::KernelSource::debian || p.modules.count(k.id) || !p.kernels.count(k.id)) continue;
    try {
      p.modules[k.id] = prepare::channel_modules(
          cache, {k.suite, std::string(util::arch_info(c->arch).deb_arch), k.package}, p.kernels.at(k.id),
          is_pci(*c) ? "virtio_pci" : "virtio_mmio", true, log);
    } catch (const util::Error& e) {
      p.kernel_errors[k.id] = e.what();
    }
  }
  prepare::TargetBuilder builder(o.common.root, cache, log);
  for (const auto* c : cells)
    if (!p.agents.count(c->arch)) p.agents[c->arch] = builder.agent(c->arch);
  return p;
}

/// The last `max` bytes of a stream, kept as it goes.
struct Tail {
  std::string text;
  std::uint64_t dropped = 0;
  void add(std::string_view b, std::size_t max = kReportTail) {
    text.append(b);
    if (text.size() > max) {
      dropped += text.size() - max;
      text.erase(0, text.size() - max);
    }
  }
};

/// Where one cell's program output goes.
struct CellSinks {
  guest::Sink out, err;
  std::function<void(std::string_view)> log;  // progress lines (stderr with -v)
  fs::path gets_dir;                          // where --get puts this cell's files
  fs::path cores_dir;                         // where core files go, with a sysroot for gdb
  fs::path strace_file;                       // --strace: where the trace goes
};

struct CellOutcome {
  int status = kFailed;
  std::string reason;  // one line: why archmatrix failed or the program could not run
  std::string guest_status, guest_value;  // as the agent said (exit/signal/timeout/error)
  bool interrupted = false;
  double seconds = 0;
  std::map<std::string, std::string> facts;
  std::vector<std::string> mismatches;
  std::string crash_title;
  fs::path console;  // the console log, kept when something went wrong or --out is given
  std::vector<std::string> qemu_argv;  // without the channel devices (Guest adds them)
  std::string boot, boot_detail;       // "restored" | "cold", and why cold when snapshots were on
  std::string accel = "tcg", accel_detail;  // exec/accel.h's choice for the cell, and why
  std::vector<fs::path> cores;         // core files brought back
  Tail out, err;
};

int status_of(const guest::RunResult& r) {
  if (r.status == "exit") return std::stoi(r.value);
  if (r.status == "signal") return 128 + std::stoi(r.value);
  if (r.status == "timeout") return kTimedOut;
  // The agent could not start it: exec format, missing interpreter, ...
  std::string why = "cannot execute in the guest: " + r.value;
  // The cwd is the host's, with the host's modes: a 0700 directory (mktemp -d
  // makes them) is closed to the program's uid 65534.
  if (r.value.rfind("chdir ", 0) == 0 && r.value.find("Permission denied") != std::string::npos)
    why += " (the program runs as uid 65534 and reads the host's directory as \"others\": chmod o+rx it, "
           "or use --root)";
  throw ExecFailure{kCannotExecute, why};
}

// The facts record precedes the channel on the console, but QEMU may still
// be writing it out when the handshake completes.
std::map<std::string, std::string> wait_for_facts(const guest::Guest& g) {
  for (int i = 0; i < 20; ++i) {
    auto f = g.facts();
    if (!f.empty()) return f;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return {};
}

// The cell's guest restored from its ready state (made first if there is
// none), or null when that fails: the caller boots it cold, and the report
// says why. Interruption and this run's own errors propagate.
std::unique_ptr<guest::Guest> restore_guest(const plan::Cell& cell, const Prepared& prep, const ExecOptions& o,
                                            const prepare::KernelArtifact& kernel, const std::vector<fs::path>& modules,
                                            guest::StartOptions so, CellOutcome& oc, const CellSinks& sinks) {
  ReadyStateInputs in;
  in.cell = &cell;
  in.kernel_image = kernel.image;
  in.kernel_sha256 = kernel.sha256;
  in.agent = prep.agents.at(cell.arch);
  in.modules = modules;
  in.qemu_dir = o.qemu_dir;
  in.accel = oc.accel;
  in.machine_kind = so.machine_kind;
  in.boot_timeout = so.boot_timeout;
  ReadyState rs;
  try {
    rs = ready_state(util::cache_root(), in, sinks.log);
  } catch (const guest::GuestError& e) {
    if (e.exit_status() == util::kExitInterrupted) throw;
    oc.boot_detail = std::string("no ready state: ") + e.what();
    sinks.log(cell.id + ": " + oc.boot_detail + "; booting");
    return nullptr;
  } catch (const util::Error& e) {
    oc.boot_detail = std::string("no ready state: ") + e.what();
    sinks.log(cell.id + ": " + oc.boot_detail + "; booting");
    return nullptr;
  }
  so.qemu_argv = exec::qemu_argv(cell, {kernel.image, rs.initrd, o.qemu_dir, oc.accel});
  so.restore_from = rs.state;
  // The device the state was saved with, whether or not the cwd is mounted.
  const fs::path empty = so.work_dir / "empty";
  if (prep.cwd.empty()) fs::create_directories(empty);
  so.shares = {{prep.cwd.empty() ? empty : fs::path(prep.cwd), kCwdTag}};
  try {
    auto g = guest::Guest::start(so);
    oc.qemu_argv = so.qemu_argv;
    oc.boot = "restored";
    oc.boot_detail = "from " + rs.state.parent_path().string() + (rs.made_now ? " (saved by this run)" : "");
    return g;
  } catch (const guest::GuestError& e) {
    if (e.exit_status() == util::kExitInterrupted) throw;
    // Another QEMU, a damaged file: made again by the next exec; this one boots.
    discard_ready_state(rs);
    std::error_code ec;
    fs::rename(so.work_dir / "console.log", so.work_dir / "restore-console.log", ec);
    oc.boot_detail = std::string("restore failed: ") + e.what();
    sinks.log(cell.id + ": " + oc.boot_detail + "; booting");
    return nullptr;
  }
}

// The core files a program's processes dumped, brought back beside a sysroot
// holding the program and its libraries at their guest paths, so gdb on the
// host resolves symbols and shared libraries as the guest had them. A core
// that cannot be fetched is a warning: the program's status stands.
std::vector<fs::path> fetch_cores(guest::Guest& g, const std::vector<std::string>& guest_cores,
                                  const prepare::ProgramPayload& payload, const std::string& cell_id,
                                  const CellSinks& sinks) {
  std::vector<fs::path> got;
  const fs::path dir = fs::absolute(sinks.cores_dir);
  std::error_code ec;
  fs::create_directories(dir / "sysroot", ec);
  if (ec) {
    std::cerr << ("archmatrix exec: warning: cannot create " + dir.string() + " for core files: " + ec.message() +
                  "\n");
    return got;
  }
  const fs::path program = write_sysroot(payload, dir / "sysroot");
  for (const auto& c : guest_cores) {
    std::string name = fs::path(c).filename().string();  // core.<pid>.j<job>
    name = name.substr(0, name.rfind(".j"));
    const fs::path to = dir / name;
    if (auto why = g.get(c, to)) {
      std::cerr << ("archmatrix exec: warning: core file " + c + ": " + util::terminal_text(*why) + "\n");
      continue;
    }
    got.push_back(to);
    sinks.log(fmt::format("{}: core dumped: {}", cell_id, to.string()));
    // One write: cells run in threads.
    std::cerr << fmt::format("archmatrix exec: {}: core dumped: {}\n  backtrace: gdb-multiarch -batch -iex 'set "
                             "sysroot {}' -ex bt {} {}\n",
                             cell_id, to.string(), (dir / "sysroot").string(), program.string(), to.string());
  }
  return got;
}

// --gdb=run: gdb-multiarch on this terminal while the program runs. We
// ignore SIGINT and SIGQUIT meanwhile, as system(3) does: ^C at gdb's prompt
// is gdb's, not a request to end the guest.
class GdbSession {
 public:
  explicit GdbSession(const std::vector<std::string>& argv) {
    ::sigaction(SIGINT, nullptr, &old_int_);
    ::sigaction(SIGQUIT, nullptr, &old_quit_);
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGQUIT, SIG_IGN);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGQUIT, SIG_DFL);
      std::vector<char*> args;
      std::vector<std::string> copy = argv;
      for (auto& a : copy) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      const std::string m = "archmatrix exec: cannot run gdb-multiarch (Debian package gdb-multiarch): " +
                            std::string(std::strerror(errno)) + "\n";
      (void)!::write(2, m.data(), m.size());
      ::_exit(127);
    }
  }
  void wait() {
    if (pid_ > 0)
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    pid_ = -1;
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGQUIT, &old_quit_, nullptr);
  }
  ~GdbSession() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      wait();
    }
  }
  GdbSession(const GdbSession&) = delete;
  GdbSession& operator=(const GdbSession&) = delete;

 private:
  pid_t pid_ = -1;
  struct sigaction old_int_{}, old_quit_{};
};

fs::path make_work_dir() {
  const char* tmpdir = ::getenv("TMPDIR");
  std::string t = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/archmatrix-exec-XXXXXX";
  if (!::mkdtemp(t.data())) throw ExecFailure{kFailed, "cannot create a directory like " + t};
  return t;
}

// --kernel-gdb: QEMU's gdbstub on a socket in `work`, the guest stopped
// before its first instruction and booted with nokaslr (symbols at their
// link addresses), no boot timeout; the command that debugs it is printed.
void stop_for_kernel_gdb(guest::StartOptions& so, const prepare::KernelArtifact& kernel, const std::string& cell_id,
                         const fs::path& work) {
  const auto vmlinux = prepare::built_vmlinux(util::cache_root(), kernel);
  if (!vmlinux)
    throw ExecFailure{kFailed, fmt::format("--kernel-gdb: the cache entry of {}'s kernel has no vmlinux (built before "
                                           "archmatrix kept it); `archmatrix kernels clean` and a new build keep it",
                                           cell_id)};
  const fs::path socket = work / "kernel-gdb.sock";
  for (std::size_t i = 0; i + 1 < so.qemu_argv.size(); ++i)
    if (so.qemu_argv[i] == "-append") so.qemu_argv[i + 1] += " nokaslr";
  for (const std::string& a : std::vector<std::string>{"-gdb", "unix:" + socket.string() + ",server=on,wait=off", "-S"})
    so.qemu_argv.push_back(a);
  so.boot_timeout = std::chrono::hours(24);
  std::cerr << fmt::format("archmatrix exec: {}: the guest waits, stopped before its kernel's first instruction; "
                           "debug the kernel with:\n  {}\n",
                           cell_id, util::quote_argv({"gdb-multiarch", "-ex", "target remote " + socket.string(),
                                                   vmlinux->string()}));
}

// A job on a pseudo-terminal of this terminal's size that follows its
// resizes; Ctrl-] leaves.
void on_terminal(guest::RunRequest& r) {
  r.tty = terminal_size();
  r.tty_resized = []() -> std::optional<std::pair<unsigned, unsigned>> {
    if (!g_resized) return std::nullopt;
    g_resized = 0;
    return terminal_size();
  };
  r.escape_byte = 0x1d;  // Ctrl-]
  r.stdin_fd = 0;
}

// repro --shell: the follow-up (a shell) in the guest the program ran in,
// on this terminal; its output is not the program's.
void run_follow_up(guest::Guest& g, const FollowUp& then, const std::string& cell_id,
                   const guest::RunResult& before) {
  for (const auto& f : then.payload->files) g.put(f.host, f.guest_path, f.mode);
  guest::RunRequest r;
  r.path = then.payload->exec_path;
  r.argv = {r.path};
  r.argv.insert(r.argv.end(), then.args.begin(), then.args.end());
  r.env = then.env;
  r.root = then.root;
  r.cwd = "/tmp";
  on_terminal(r);
  std::cerr << fmt::format("archmatrix repro: {}: the scenario ended ({} {}); a shell in the same guest, cwd /tmp as "
                           "it left it (leave with exit, Ctrl-D or Ctrl-])\n",
                           cell_id, before.status, before.value);
  RawTerminal raw;
  bool broken = false;  // the terminal went away: the guest's end of the shell ends it
  const auto to = [&broken](int fd) { return [fd, &broken](std::string_view b) { write_fd(fd, b, broken); }; };
  g.run(r, to(1), to(2));
}

// Runs the program in one cell's guest; never throws. `work` is the cell's
// private directory (its console log, socket and image).
CellOutcome run_cell(const plan::Cell& cell, const LoadedPlan& lp, const Prepared& prep, const ExecOptions& o,
                     const fs::path& work, CellSinks sinks) {
  CellOutcome oc;
  const auto t0 = Clock::now();
  oc.console = work / "console.log";
  fs::path socket_dir_made;  // removed when the guest is gone
  try {
    if (auto it = prep.kernel_errors.find(cell.kernel->id); it != prep.kernel_errors.end())
      throw ExecFailure{kFailed, "kernel " + cell.kernel->id + ": " + it->second};
    const auto accel = exec::choose_accel(cell, prep.host, o.accel);
    if (accel.accel.empty()) throw ExecFailure{kFailed, "--accel kvm: " + accel.why};
    oc.accel = accel.accel;
    oc.accel_detail = accel.why;
    const auto& payload = prep.payloads.at(cell.arch);
    const auto& kernel = prep.kernels.at(cell.kernel->id);
    prepare::require_kernel_image(kernel.image, cell.arch);
    const auto mod = prep.modules.find(cell.kernel->id);
    const auto modules = mod == prep.modules.end() ? std::vector<fs::path>{} : mod->second;
    guest::StartOptions so;
    so.nonce = prepare::make_nonce();
    so.work_dir = work;
    so.machine_kind = is_pci(cell) ? "pci" : "mmio";
    const auto& t = lp.project.matrix.timeouts;
    so.boot_timeout = std::chrono::milliseconds(static_cast<long long>(t.boot_s * t.tcg_scale * 1000));
    const std::string& cwd = prep.cwd;
    // A unix socket's path has at most 107 bytes: a deep --out gets its
    // sockets in a short private directory instead.
    if ((work / "kernel-gdb.sock").native().size() > 100) {
      so.socket_dir = make_work_dir();
      socket_dir_made = so.socket_dir;
    }
    const fs::path sockets = so.socket_dir.empty() ? work : so.socket_dir;
    const auto debugger = prep.gdbserver.find(cell.arch);
    if (debugger != prep.gdbserver.end()) so.gdb_socket = sockets / "gdb.sock";

    std::unique_ptr<guest::Guest> g;
    // --kernel-gdb boots cold, stopped before the kernel's first instruction.
    if (o.snapshots && !o.kernel_gdb) g = restore_guest(cell, prep, o, kernel, modules, so, oc, sinks);
    if (!g) {
      const auto initrd = prepare::write_channel_image(prep.agents.at(cell.arch), modules, so.nonce, work);
      so.qemu_argv = exec::qemu_argv(cell, {kernel.image, initrd, o.qemu_dir, oc.accel});
      if (o.kernel_gdb) stop_for_kernel_gdb(so, kernel, cell.id, sockets);
      oc.qemu_argv = so.qemu_argv;
      if (!cwd.empty()) so.shares = {{cwd, kCwdTag}};
      g = guest::Guest::start(so);
      oc.boot = "cold";
    }
    // No result from a guest that is not what its cell says (a 4K kernel in a
    // 16K cell would pass a page-size test it should fail).
    oc.facts = wait_for_facts(*g);
    if (oc.facts.empty())
      throw ExecFailure{kFailed, "the guest sent no facts record: cannot tell it is what " + cell.id + " says"};
    oc.mismatches = verdict::check_facts(cell, oc.facts);
    if (!oc.mismatches.empty())
      throw ExecFailure{kFailed, "the guest is not what " + cell.id + " says: " + oc.mismatches.front()};

    for (const auto& f : payload.files) g->put(f.host, f.guest_path, f.mode);
    const auto tracer = prep.strace.find(cell.arch);
    if (tracer != prep.strace.end())
      for (const auto& f : tracer->second.files) g->put(f.host, f.guest_path, f.mode);
    if (debugger != prep.gdbserver.end())
      for (const auto& f : debugger->second.files) g->put(f.host, f.guest_path, f.mode);
    const std::string& guest_path = payload.exec_path;
    // The cwd, read-only at the same path, is the program's cwd (fixtures
    // read relatively work); its mount is timed for -v (bench/exec_share.sh
    // reads it) and its cache mode is the agent's measured default unless
    // ARCHMATRIX_EXEC_9P_CACHE names another (the bench compares them).
    if (!cwd.empty() && !o.scenario) {
      const char* cache_mode = ::getenv("ARCHMATRIX_EXEC_9P_CACHE");
      const auto m0 = Clock::now();
      g->mount(kCwdTag, cwd, cache_mode ? cache_mode : "");
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - m0);
      sinks.log(fmt::format("{}: {} shared read-only in {} ms", cell.id, cwd, ms.count()));
    }
    for (const auto& p : prep.puts) put_one(*g, p);
    guest::RunRequest r;
    r.path = guest_path;
    if (tracer != prep.strace.end()) {
      // strace exits with its tracee's status and re-raises the signal that
      // killed it (without a core of its own): the status stays the program's.
      r.path = tracer->second.exec_path;
      r.argv = {r.path, "-f", "-o", kStraceOutput};
    }
    std::optional<GdbSession> gdb;
    if (debugger != prep.gdbserver.end()) {
      // The program starts stopped under gdbserver (the agent adds --once and
      // the port); gdb-multiarch reaches it through QEMU's socket. No
      // timeout: a person is at the controls.
      r.path = debugger->second.exec_path;
      r.argv = {r.path};
      r.gdb = true;
      const fs::path program = write_sysroot(payload, work / "sysroot");
      const auto cmd = gdb_command(work / "sysroot", so.gdb_socket, program);
      std::cerr << fmt::format("archmatrix exec: {}: {} waits for gdb under gdbserver{}\n  {}\n", cell.id,
                               guest_path, o.gdb == "run" ? "; starting gdb-multiarch" : "; debug it with:",
                               util::quote_argv(cmd));
      if (o.gdb == "run") gdb.emplace(cmd);
    }
    r.argv.push_back(guest_path);
    for (const auto& a : o.args) r.argv.push_back(a);
    r.env = o.env;
    r.root = o.root_user;
    r.cwd = o.scenario ? "/tmp" : cwd;  // a scenario runs where `run` runs it
    r.cores = o.cores;
    r.timeout = std::chrono::milliseconds(static_cast<long long>(r.gdb ? 0 : o.timeout_s * 1000));
    struct stat st{};
    // stdin goes to one guest only: with several cells nobody could tell
    // which cell consumed which bytes.
    if (o.forward_stdin && !r.gdb && ::fstat(0, &st) == 0 &&
        (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode)))
      r.stdin_fd = 0;
    std::optional<RawTerminal> raw;
    if (o.tty) {
      on_terminal(r);
      raw.emplace();
    }
    const auto res = g->run(
        r,
        [&](std::string_view b) {
          oc.out.add(b);
          sinks.out(b);
        },
        [&](std::string_view b) {
          oc.err.add(b);
          sinks.err(b);
        });
    raw.reset();
    if (gdb) gdb->wait();
    fetch_gets(*g, o.gets, sinks.gets_dir);
    if (!res.cores.empty()) oc.cores = fetch_cores(*g, res.cores, payload, cell.id, sinks);
    if (o.then) run_follow_up(*g, *o.then, cell.id, res);
    if (tracer != prep.strace.end()) {
      std::error_code ec;
      fs::create_directories(sinks.strace_file.parent_path(), ec);
      if (auto why = g->get(kStraceOutput, sinks.strace_file))
        std::cerr << ("archmatrix exec: warning: --strace: " + util::terminal_text(*why) + "\n");
      else if (!o.quiet)
        std::cerr << ("archmatrix exec: " + cell.id + ": strace: " + sinks.strace_file.string() + "\n");
    }
    g->close();
    oc.guest_status = res.status;
    oc.guest_value = res.value;
    oc.status = status_of(res);
    if (res.escaped) {
      std::cerr << "archmatrix shell: left with Ctrl-]\n";
      oc.status = 0;
    }
  } catch (const ExecFailure& f) {
    oc.status = f.status;
    oc.reason = f.message;
  } catch (const guest::GuestError& e) {
    oc.interrupted = e.exit_status() == util::kExitInterrupted;
    oc.status = oc.interrupted ? util::kExitInterrupted : kFailed;
    oc.reason = e.what();
  } catch (const std::exception& e) {
    std::string m = e.what();
    std::replace(m.begin(), m.end(), '\n', ' ');
    oc.status = kFailed;
    oc.reason = m;
  }
  // A guest that died of a kernel oops or panic: the program's doing, most
  // likely, and reported as such (CRASH in the report, status 125).
  if (oc.status == kFailed && !oc.interrupted) oc.crash_title = guest::crash_title_in(oc.console);
  if (!socket_dir_made.empty()) {
    std::error_code ec;
    fs::remove_all(socket_dir_made, ec);
  }
  oc.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return oc;
}

verdict::Code code_of(const CellOutcome& oc) {
  if (oc.interrupted) return verdict::Code::NOTRUN;
  if (!oc.crash_title.empty()) return verdict::Code::CRASH;
  if (!oc.reason.empty()) return verdict::Code::ERROR;
  if (oc.status == kTimedOut && oc.guest_status == "timeout") return verdict::Code::TIMEOUT;
  return oc.status == 0 ? verdict::Code::PASS : verdict::Code::FAIL;
}

std::string message_of(const CellOutcome& oc, const ExecOptions& o) {
  if (!oc.reason.empty()) return oc.reason;
  if (oc.guest_status == "signal" && !oc.cores.empty()) {
    std::string names;
    for (const auto& c : oc.cores) names += (names.empty() ? "" : ", ") + c.string();
    return fmt::format("killed by signal {} (status {}); core dumped: {}", oc.guest_value, oc.status, names);
  }
  if (oc.guest_status == "signal") return fmt::format("killed by signal {} (status {})", oc.guest_value, oc.status);
  if (oc.guest_status == "timeout") return fmt::format("killed after --timeout {} s (status 124)", o.timeout_s);
  return fmt::format("exit status {}", oc.status);
}

// The program's end and output as a scenario's run (what the agent reports
// for a scenario in `run`).
verdict::ScenarioRun outcome_as_run(const CellOutcome& oc, const std::string& name) {
  verdict::ScenarioRun sr;
  sr.name = name;
  sr.begun = sr.finished = !oc.guest_status.empty();
  sr.status = oc.guest_status;
  sr.value = oc.guest_value;
  sr.duration_ms = static_cast<std::int64_t>(oc.seconds * 1000);
  sr.stdout_text = oc.out.text;
  sr.stderr_text = oc.err.text;
  sr.stdout_dropped = oc.out.dropped;
  sr.stderr_dropped = oc.err.dropped;
  return sr;
}

report::CellSummary summarize(const plan::Cell& cell, const CellOutcome& oc, const ExecOptions& o,
                              const Prepared& prep) {
  report::CellSummary c = cell_identity(cell);
  const auto k = prep.kernels.find(cell.kernel->id);
  c.kernel = kernel_info(*cell.kernel, k == prep.kernels.end() ? nullptr : &k->second);
  c.qemu_argv = oc.qemu_argv;
  c.end = oc.interrupted ? "interrupted" : !oc.crash_title.empty() ? "crashed" : oc.reason.empty() ? "completed"
                                                                                                    : "host_error";
  c.end_detail = oc.reason;
  c.wall_seconds = oc.seconds;
  c.boot = oc.boot;
  c.boot_detail = oc.boot_detail;
  c.accel = oc.accel;
  c.accel_detail = oc.accel_detail;
  c.facts = oc.facts;
  c.fact_mismatches = oc.mismatches;
  c.crash_title = oc.crash_title;
  report::ScenarioRow row;
  row.scenario = "exec " + o.program.filename().string();
  row.code = code_of(oc);
  copy_run_fields(row, outcome_as_run(oc, row.scenario));
  row.results.push_back({"", row.code, message_of(oc, o), ""});
  c.scenarios.push_back(std::move(row));
  return c;
}

// repro: the scenario's run as the agent would have reported it in `run`,
// so `run`'s verdict (checks, expectations, facts) judges it.
verdict::CellRun scenario_run(const CellOutcome& oc, const ScenarioTarget& t) {
  verdict::CellRun run;
  run.end = oc.interrupted                ? verdict::CellEnd::interrupted
            : !oc.crash_title.empty()     ? verdict::CellEnd::crashed
            : oc.guest_status.empty()     ? verdict::CellEnd::host_error
                                          : verdict::CellEnd::completed;
  if (run.end != verdict::CellEnd::completed) run.end_detail = oc.reason;
  if (!oc.facts.empty()) run.facts = oc.facts;
  run.crash_title = oc.crash_title;
  run.wall_seconds = oc.seconds;
  if (!oc.guest_status.empty()) run.scenarios.push_back(outcome_as_run(oc, t.name));
  return run;
}

// repro's verdict lines on stderr (stdout is the scenario's) and its exit
// status: 0 when every judged result is PASS, XFAIL or UNSUPPORTED, 1 when
// one is not, 2 when the asked-for check is not among the results.
int print_scenario_verdict(const plan::Cell& cell, const verdict::CellVerdict& v, const ScenarioTarget& t) {
  std::string lines, checks;
  bool any = false, bad = false;
  for (const auto& r : v.results) {
    checks += (checks.empty() ? "" : ", ") + (r.check.empty() ? std::string("(whole scenario)") : r.check);
    if (!t.check.empty() && r.check != t.check) continue;
    any = true;
    bad = bad || verdict::is_failure(r.code);
    lines += fmt::format("  {:<11} {}{}{}{}\n", verdict::code_name(r.code), r.scenario, r.check.empty() ? "" : "/",
                         util::terminal_text(r.check), r.message.empty() ? "" : ": " + util::terminal_text(r.message));
  }
  for (const auto& m : v.fact_mismatches) lines += "  fact mismatch: " + util::terminal_text(m) + "\n";
  std::cerr << fmt::format("archmatrix repro: {} on {}:\n{}", t.name, cell.id, lines);
  if (!t.check.empty() && !any) {
    std::cerr << fmt::format("archmatrix repro: {} reported no check named '{}' (it reported: {})\n", t.name,
                             util::terminal_text(t.check), checks.empty() ? "nothing" : util::terminal_text(checks));
    return util::kExitBadInput;
  }
  return bad || !v.fact_mismatches.empty() ? util::kExitFailures : util::kExitOk;
}

std::string fact_or_dash(const CellOutcome& oc, const std::string& key) {
  auto it = oc.facts.find(key);
  return it == oc.facts.end() ? "-" : it->second;
}

void print_table(const std::vector<const plan::Cell*>& cells, const std::vector<CellOutcome>& outcomes) {
  std::size_t w = 4;
  for (const auto* c : cells) w = std::max(w, c->id.size());
  const auto row = [](std::string line) {  // no trailing blanks when there is no reason
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  };
  std::string t = row(fmt::format("{:<{}}  {:>4}  {:>8}  {:>8}  {:>9}  {:>7}", "cell", w, "exit", "time", "boot",
                                  "page_size", "va_bits"));
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& oc = outcomes[i];
    t += row(fmt::format("{:<{}}  {:>4}  {:>6.1f} s  {:>8}  {:>9}  {:>7}  {}", cells[i]->id, w, oc.status, oc.seconds,
                         oc.boot.empty() ? "-" : oc.boot, fact_or_dash(oc, "page_size"), fact_or_dash(oc, "va_bits"),
                         oc.reason));
  }
  std::lock_guard lock(g_output_mutex);
  std::cerr << t;
}

// A private directory for one cell's guest when nothing asked to keep it.

int exec_cells(const ExecOptions& o, Progress& progress) {
  auto puts = parse_puts(o.puts);  // bad file arguments: nothing boots
  check_gets(o.gets);
  LoadedPlan lp = load_and_plan(o.common);
  Selection sel = select_cells(lp, o);
  const bool many = sel.cells.size() > 1;
  if (o.kernel_gdb) {
    // One kernel at the controls at a time, and one with its symbols.
    if (many) throw ExecFailure{util::kExitBadInput, "--kernel-gdb takes one cell (--cell CELL)"};
    for (const auto* c : sel.cells)
      if (c->kernel->source != config::KernelSource::built)
        throw ExecFailure{util::kExitBadInput,
                          fmt::format("--kernel-gdb: {} runs Debian's kernel, whose symbols are in a -dbg package "
                                      "archmatrix does not fetch; use a cell with a built kernel (source=built)",
                                      c->id)};
  }
  // Listed when the user asked for "every cell" (no --cell) or for several;
  // a chosen single cell keeps stderr the program's alone.
  for (const auto& [id, why] : sel.skipped)
    if (many || o.verbose || o.common.cells.empty()) std::cerr << "archmatrix exec: skipped " << id << ": " << why << "\n";
  // The program, its loader and libraries, checked for every arch before
  // any kernel is downloaded or guest booted.
  std::map<util::Arch, prepare::ProgramPayload> payloads, strace;
  for (const auto* c : sel.cells)
    if (!payloads.count(c->arch))
      payloads.emplace(c->arch, o.payload ? *o.payload : check_program(o, c->arch, progress));
  if (o.strace)
    for (const auto* c : sel.cells)
      if (!strace.count(c->arch))
        strace.emplace(c->arch, check_tool(c->arch, "--strace", kStracePackages, "usr/bin/strace",
                                           "/archmatrix/strace/strace", progress));
  std::map<util::Arch, prepare::ProgramPayload> gdbserver;
  if (!o.gdb.empty())
    for (const auto* c : sel.cells)
      if (!gdbserver.count(c->arch))
        gdbserver.emplace(c->arch, check_tool(c->arch, "--gdb", kGdbserverPackages, "usr/bin/gdbserver",
                                              "/archmatrix/gdb/gdbserver", progress));

  const std::string started = utc_now();
  const auto t0 = Clock::now();
  const int jobs = std::max(1, std::min<int>(o.jobs, static_cast<int>(sel.cells.size())));
  Prepared prep = prepare_cells(sel.cells, o, jobs, progress);
  prep.payloads = std::move(payloads);
  prep.strace = std::move(strace);
  prep.gdbserver = std::move(gdbserver);
  prep.host = exec::probe_host_accel();
  prep.puts = std::move(puts);
  if (const auto cwd = fs::current_path(); cwd != cwd.root_path()) prep.cwd = cwd.string();
  if (guest::g_interrupted) throw ExecFailure{util::kExitInterrupted, "interrupted"};

  fs::path out = o.out;
  if (out.empty() && many) out = "archmatrix-out";
  if (!out.empty()) {
    out = fs::absolute(out);
    std::error_code ec;
    fs::create_directories(out / "cells", ec);
    if (ec) throw ExecFailure{kFailed, "cannot create " + (out / "cells").string() + ": " + ec.message()};
  }

  std::vector<CellOutcome> outcomes(sel.cells.size());
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    for (std::size_t i; (i = next++) < sel.cells.size();) {
      const auto& cell = *sel.cells[i];
      fs::path work;
      try {
        work = out.empty() ? make_work_dir() : out / "cells" / cell.id;
        fs::create_directories(work);
      } catch (const ExecFailure& f) {
        outcomes[i].reason = f.message;
        continue;
      }
      // Output files only where asked for; the terminal gets it live.
      auto out_file = std::make_shared<std::ofstream>();
      auto err_file = std::make_shared<std::ofstream>();
      if (!out.empty()) {
        out_file->open(work / "stdout", std::ios::binary | std::ios::trunc);
        err_file->open(work / "stderr", std::ios::binary | std::ios::trunc);
      }
      CellSinks sinks;
      sinks.log = [&](std::string_view m) { progress.log(m); };
      // --get: beside the reports when there are reports (one directory per
      // cell), else into the current directory, as cp would.
      sinks.gets_dir = out.empty() ? fs::path() : work / "files";
      sinks.cores_dir = !o.cores_dir.empty() ? o.cores_dir / cell.id
                        : out.empty()        ? fs::path("archmatrix-cores") / cell.id
                                             : work / "cores";
      sinks.strace_file = fs::absolute(out.empty() ? fs::path("archmatrix-strace") / (cell.id + ".txt")
                                                   : work / "strace.txt");
      bool out_broken = false, err_broken = false;
      std::shared_ptr<util::LinePrefixer> pout, perr;
      if (many) {
        const auto to = [](int fd, bool& broken) {
          return [fd, &broken](std::string_view line) {
            std::lock_guard lock(g_output_mutex);
            write_fd(fd, line, broken);
          };
        };
        pout = std::make_shared<util::LinePrefixer>("[" + cell.id + "] ", to(1, out_broken));
        perr = std::make_shared<util::LinePrefixer>("[" + cell.id + "] ", to(2, err_broken));
        sinks.out = [pout, out_file](std::string_view b) {
          if (out_file->is_open()) out_file->write(b.data(), static_cast<std::streamsize>(b.size()));
          pout->feed(b);
        };
        sinks.err = [perr, err_file](std::string_view b) {
          if (err_file->is_open()) err_file->write(b.data(), static_cast<std::streamsize>(b.size()));
          perr->feed(b);
        };
      } else {
        const bool quiet = o.quiet;
        sinks.out = [&, out_file, quiet](std::string_view b) {
          if (out_file->is_open()) out_file->write(b.data(), static_cast<std::streamsize>(b.size()));
          if (!quiet) write_fd(1, b, out_broken);
        };
        sinks.err = [&, err_file, quiet](std::string_view b) {
          if (err_file->is_open()) err_file->write(b.data(), static_cast<std::streamsize>(b.size()));
          if (!quiet) write_fd(2, b, err_broken);
        };
      }
      ExecOptions cell_o = o;
      cell_o.forward_stdin = !many;
      outcomes[i] = run_cell(cell, lp, prep, cell_o, work, sinks);
      if (pout) pout->finish();
      if (perr) perr->finish();
      auto& oc = outcomes[i];
      if (out.empty()) {
        // Kept for a look when archmatrix failed; otherwise nothing to keep.
        if (oc.reason.empty() || oc.interrupted) fs::remove_all(work);
        else oc.reason += " (kept " + work.string() + ")";
      }
      if (many) progress.log(fmt::format("{}: status {} in {:.1f} s", cell.id, oc.status, oc.seconds));
    }
  };
  std::vector<std::thread> threads;
  for (int k = 1; k < jobs; ++k) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  bool interrupted = false;
  int status = 0;
  for (const auto& oc : outcomes) {
    interrupted = interrupted || oc.interrupted;
    if (status == 0 && oc.status != 0) status = oc.status;
  }
  if (many) print_table(sel.cells, outcomes);
  else if (!outcomes[0].reason.empty() && !outcomes[0].interrupted)
    std::cerr << "archmatrix exec: " << outcomes[0].reason << "\n";

  if (!out.empty()) {
    report::RunSummary s;
    s.archmatrix_version = ARCHMATRIX_VERSION;
    s.matrix = o.common.matrix.string();
    s.started = started;
    s.interrupted = interrupted;
    for (std::size_t i = 0; i < sel.cells.size(); ++i) {
      s.planned_cells.push_back(sel.cells[i]->id);
      auto c = summarize(*sel.cells[i], outcomes[i], o, prep);
      if (o.scenario) {
        // The scenario's own row and results, judged as `run` judges them.
        const auto run = scenario_run(outcomes[i], *o.scenario);
        auto judged = summarize_cell(*sel.cells[i], run, verdict::judge(*sel.cells[i], run));
        c.scenarios = std::move(judged.scenarios);
        c.fact_mismatches = std::move(judged.fact_mismatches);
      }
      s.cells.push_back(std::move(c));
    }
    for (const auto& [id, why] : sel.skipped) s.skipped.push_back({id, why, o.program.string()});
    s.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    report::write_all_reports(s, out);
    if (many) std::cerr << "archmatrix exec: reports in " << out.string() << "\n";
  }
  if (interrupted) return util::kExitInterrupted;
  // repro: a run that reached the scenario is judged; archmatrix's own
  // failure before it keeps exec's 125.
  if (o.scenario && !o.gdb.empty()) {
    // gdb decided how the scenario ended; a verdict on it would be gdb's.
    std::cerr << "archmatrix repro: no verdict under --gdb (the status is gdbserver's)\n";
    return status;
  }
  if (o.scenario && !o.quiet && !outcomes.empty() && !outcomes[0].guest_status.empty()) {
    const auto run = scenario_run(outcomes[0], *o.scenario);
    return print_scenario_verdict(*sel.cells[0], verdict::judge(*sel.cells[0], run), *o.scenario);
  }
  return status;
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
  ::sigaction(SIGHUP, &sa, nullptr);  // the terminal went away: restore it, end the guest
  if (o.tty || o.then) {
    struct sigaction w{};
    w.sa_handler = on_winch;
    sigemptyset(&w.sa_mask);
    ::sigaction(SIGWINCH, &w, nullptr);
  }
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return exec_cells(o, progress);
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
