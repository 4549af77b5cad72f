#include "util/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "util/boost_process.h"
#include "util/child_setup.h"
#include "util/error.h"
#include "util/interrupt.h"

extern char** environ;

namespace archmatrix::util {

namespace asio = boost::asio;
namespace bp = boost::process::v2;

namespace {

bp::filesystem::path resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  return bp::environment::find_executable(program);
}

// The child's environment, set on the launcher before it forks. (Boost 1.81's
// header-only process_environment lacks its on_setup definition.)
struct Environment {
  std::vector<std::string> vars;
  std::vector<const char*> ptrs;
  explicit Environment(std::vector<std::string> v) : vars(std::move(v)) {
    for (const auto& s : vars) ptrs.push_back(s.c_str());
    ptrs.push_back(nullptr);
  }
  bp::error_code on_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&, const char* const*) {
    launcher.env = ptrs.data();
    return {};
  }
};

std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    bool replaced = false;
    for (const auto& [k, v] : extra) replaced = replaced || kv.rfind(k + "=", 0) == 0;
    if (!replaced) env.push_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// Registers a started child's group for the interrupt handler and reaps it:
// the group is unregistered while the child is still a zombie (waitid with
// WNOWAIT), so its id cannot have been reused when the handler kills it.
class Child {
 public:
  explicit Child(bp::process& p) : proc_(p), pid_(p.id()) { register_child_group(pid_); }
  ~Child() {
    if (!reaped_) unregister_child_group(pid_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int wait() {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
    unregister_child_group(pid_);
    reaped_ = true;
    return proc_.wait();
  }

 private:
  bp::process& proc_;
  pid_t pid_;
  bool reaped_ = false;
};

// The output file's descriptor, closed on every path (a process that
// cannot start must not leak it).
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& opts) {
  if (argv.empty()) throw Error("run_command: empty argv");
  throw_if_interrupted();  // no new work once Ctrl-C came
  const auto exe = resolve(argv[0]);
  if (exe.empty() || ::access(exe.c_str(), X_OK) != 0) throw Error(argv[0] + ": program not found");
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  Environment env(environment_with(opts.extra_env));
  const bp::filesystem::path cwd = opts.cwd.empty() ? std::filesystem::current_path() : opts.cwd;

  asio::io_context ctx;
  CommandResult r;
  try {
    Fd out, in;
    if (!opts.output_file.empty()) {
      const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (opts.append ? O_APPEND : O_TRUNC);
      out.fd = ::open(opts.output_file.c_str(), flags, 0644);
      if (out.fd < 0) throw Error("cannot write " + opts.output_file.string() + ": " + std::strerror(errno));
    } else {
      // One pipe for both streams, so their order is kept (Boost 1.81 makes a
      // separate pipe per binding when handed the same pipe object twice).
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
      in.fd = fds[0];
      out.fd = fds[1];
    }
    bp::process proc(ctx, exe, args, bp::process_stdio{nullptr, out.fd, out.fd}, env, bp::process_start_dir(cwd),
                     ChildSetup{});
    Child child(proc);
    ::close(std::exchange(out.fd, -1));  // the child holds its copy; EOF comes when it is gone
    if (in.fd >= 0) {
      asio::readable_pipe pipe(ctx, std::exchange(in.fd, -1));
      boost::system::error_code ec;
      asio::read(pipe, asio::dynamic_buffer(r.output), ec);  // until the child closes its end
    }
    r.exit_code = child.wait();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(argv[0] + ": cannot run: " + e.what());
  }
  // The child may have been killed by the interrupt: its failure is not a result.
  throw_if_interrupted();
  return r;
}

ChildRef::ChildRef(pid_t pid) : pid_(pid) {
  // Kernels before 5.3 have no pidfd: kill_tree() then trusts the pid (the
  // behaviour before pidfds, racy only against a reap on this very thread).
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd_ >= 0) ::fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
}

ChildRef::~ChildRef() {
  if (pidfd_ >= 0) ::close(pidfd_);
}

bool ChildRef::kill_tree() {
  // Alive or a zombie: the leader is unreaped, which keeps its group id reserved.
  if (pidfd_ < 0) {
    ::kill(-pid_, SIGKILL);
    return ::kill(pid_, SIGKILL) == 0;
  }
  siginfo_t info{};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return false;  // reaped (ECHILD): its ids may belong to others now
  ::kill(-pid_, SIGKILL);  // the group: QEMU or make and anything they forked
  ::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
  return true;
}

std::string quote_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !a.empty() && a.find_first_not_of(
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./=:,+@%") ==
                                         std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

}  // namespace archmatrix::util
