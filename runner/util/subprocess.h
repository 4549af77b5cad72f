#pragma once
// Running a helper program (apt-get, dpkg-deb, cmake) to completion. Always
// an argv vector, never a shell: no word splitting, no quoting bugs, and
// nothing from guest output can become a command. Every child leads its own
// process group and dies with archmatrix (util/child_setup.h); an interrupt
// kills its group (util/interrupt.h).

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace archmatrix::util {

struct CommandResult {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr merged, in order (empty when output_file is used)
};

struct CommandOptions {
  std::filesystem::path cwd;
  std::vector<std::pair<std::string, std::string>> extra_env;
  std::filesystem::path output_file;  ///< if set, output goes here (long build logs)
  bool append = false;                ///< append to output_file instead of replacing it
};

/// Runs argv[0] (looked up in PATH unless it contains '/') with argv[1..] to
/// completion. Throws util::Error naming the program if it cannot be started,
/// and util::Error with kExitInterrupted when called after SIGINT/SIGTERM or
/// when the interrupt came while the child ran (the child's whole process
/// group is then killed).
CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& opts = {});

/// A started child, held by a pidfd, for killing it from an event loop that
/// also reaps it (the supervisor's QEMU): once the child is reaped, its pid
/// and group id may name other processes, and kill_tree() sends nothing.
class ChildRef {
 public:
  /// Opens a pidfd for pid, which must be our child and not yet reaped.
  explicit ChildRef(pid_t pid);
  ~ChildRef();
  ChildRef(const ChildRef&) = delete;
  ChildRef& operator=(const ChildRef&) = delete;

  /// SIGKILLs the child's process group and the child itself. Returns false,
  /// sending nothing, when the child has already been reaped. Must be called
  /// on the thread that reaps it (else the check could go stale).
  bool kill_tree();

 private:
  pid_t pid_;
  int pidfd_ = -1;
};

/// A shell-quoted rendering of argv for logs and reports, for people to copy
/// (never executed by us).
std::string quote_argv(const std::vector<std::string>& argv);

}  // namespace archmatrix::util
