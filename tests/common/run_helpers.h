#pragma once
// Test helpers: run the real archmatrix binary and read what it wrote.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace archmatrix::testing {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;
  std::string log;  ///< stdout and stderr
};

/// A fresh directory under the build tree's temp area, removed at exit of the test.
inline fs::path scratch(const std::string& name) {
  auto d = fs::temp_directory_path() / ("archmatrix-it-" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// Starts archmatrix with args, output to log_file; returns its pid.
using Env = std::vector<std::pair<std::string, std::string>>;

/// Limits for the child: `max_file_bytes` >= 0 sets RLIMIT_FSIZE (writes past
/// it fail with EFBIG, SIGXFSZ ignored), the way a full disk fails a write.
struct Limits {
  long max_file_bytes = -1;
};

inline pid_t spawn(const std::vector<std::string>& args, const fs::path& log_file, const Env& env = {},
                   const Limits& limits = {}) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    std::string bin = ARCHMATRIX_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    FILE* f = std::fopen(log_file.c_str(), "w");
    if (f) {
      ::dup2(fileno(f), 1);
      ::dup2(fileno(f), 2);
    }
    if (limits.max_file_bytes >= 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // ignored stays ignored across exec
      const rlim_t n = static_cast<rlim_t>(limits.max_file_bytes);
      const struct rlimit rl{n, n};
      ::setrlimit(RLIMIT_FSIZE, &rl);
    }
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline Outcome run_archmatrix(const std::vector<std::string>& args, const fs::path& log_file, const Env& env = {},
                              const Limits& limits = {}) {
  Outcome o;
  o.exit_code = wait_exit(spawn(args, log_file, env, limits));
  o.log = slurp(log_file);
  return o;
}

/// Writes `source` (C) to dir/prog.c and builds the static program dir/prog
/// with `cc` (the aarch64 cross compiler by default); false if it fails.
inline bool build_static_program(const fs::path& dir, const std::string& source,
                                 const std::string& cc = "aarch64-linux-gnu-gcc") {
  std::ofstream(dir / "prog.c") << source;
  const std::string cmd = cc + " -static -O2 -o " + (dir / "prog").string() + " " + (dir / "prog.c").string();
  return std::system(cmd.c_str()) == 0;
}

/// A cell and the cross compiler of its arch, for tests parameterized by cell.
struct Target {
  const char* cell;
  const char* cc;
};

/// A gtest parameter name for a Target: its cell id with '_' for what is not alnum.
inline std::string target_name(const ::testing::TestParamInfo<Target>& p) {
  std::string n = p.param.cell;
  for (auto& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

/// Runs `command` with sh; its exit status and its stdout and stderr.
inline Outcome sh(const std::string& command) {
  Outcome o;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return o;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) o.log.append(buf, n);
  const int st = ::pclose(p);
  o.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

inline nlohmann::json read_report(const fs::path& out) {
  return nlohmann::json::parse(slurp(out / "report.json"));
}

/// QEMU processes whose command line mentions `marker` (e.g. an output dir).
inline int qemu_processes_mentioning(const std::string& marker) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = slurp(e.path() / "cmdline");
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find("qemu-system-") != std::string::npos && cmd.find(marker) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace archmatrix::testing
