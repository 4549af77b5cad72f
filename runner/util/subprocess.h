#pragma once
// Running a helper program (apt-get, dpkg-deb, cmake) to completion. Always
// an argv vector, never a shell: no word splitting, no quoting bugs, and
// nothing from guest output can become a command.

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
/// completion. Throws util::Error naming the program if it cannot be started.
CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& opts = {});

/// A shell-quoted rendering of argv for logs and reports, for people to copy
/// (never executed by us).
std::string quote_argv(const std::vector<std::string>& argv);

}  // namespace archmatrix::util
