#include "util/subprocess.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "util/boost_process.h"
#include "util/error.h"

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

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& opts) {
  if (argv.empty()) throw Error("run_command: empty argv");
  const auto exe = resolve(argv[0]);
  if (exe.empty() || ::access(exe.c_str(), X_OK) != 0) throw Error(argv[0] + ": program not found");
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  Environment env(environment_with(opts.extra_env));
  const bp::filesystem::path cwd = opts.cwd.empty() ? std::filesystem::current_path() : opts.cwd;

  asio::io_context ctx;
  CommandResult r;
  try {
    if (!opts.output_file.empty()) {
      const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (opts.append ? O_APPEND : O_TRUNC);
      const int fd = ::open(opts.output_file.c_str(), flags, 0644);
      if (fd < 0) throw Error("cannot write " + opts.output_file.string() + ": " + std::strerror(errno));
      bp::process proc(ctx, exe, args, bp::process_stdio{nullptr, fd, fd}, env,
                       bp::process_start_dir(cwd));
      ::close(fd);
      r.exit_code = proc.wait();
      return r;
    }
    // One pipe for both streams, so their order is kept (Boost 1.81 makes a
    // separate pipe per binding when handed the same pipe object twice).
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
    asio::readable_pipe pipe(ctx, fds[0]);
    std::optional<bp::process> proc;
    try {
      proc.emplace(ctx, exe, args, bp::process_stdio{nullptr, fds[1], fds[1]}, env, bp::process_start_dir(cwd));
    } catch (...) {
      ::close(fds[1]);
      throw;
    }
    ::close(fds[1]);
    boost::system::error_code ec;
    asio::read(pipe, asio::dynamic_buffer(r.output), ec);  // until the child closes its end
    r.exit_code = proc->wait();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(argv[0] + ": cannot run: " + e.what());
  }
  return r;
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
