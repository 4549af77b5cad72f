#pragma once
// Fatal errors. Recoverable, per-cell problems are values (a result code with
// a message), never exceptions; only what must stop the whole command is
// thrown, and main() turns it into one line on stderr and an exit status.

#include <stdexcept>
#include <string>

namespace archmatrix::util {

/// Exit statuses of the archmatrix command.
enum ExitStatus : int {
  kExitOk = 0,
  kExitFailures = 1,   ///< the run completed and some result is a failure
  kExitBadInput = 2,   ///< bad matrix/scenario/recipe input: nothing was booted
  kExitHostError = 3,  ///< the host could not do its part (download, build, disk)
  kExitInterrupted = 130,
};

/// A fatal error with the exit status main() should return.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int exit_status = kExitHostError)
      : std::runtime_error(what), exit_status_(exit_status) {}
  int exit_status() const { return exit_status_; }

 private:
  int exit_status_;
};

/// Bad input, located: "file:line:col: message". Exit status 2.
class InputError : public Error {
 public:
  InputError(const std::string& file, int line, int col, const std::string& message)
      : Error(format(file, line, col, message), kExitBadInput) {}

 private:
  static std::string format(const std::string& file, int line, int col, const std::string& m) {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line);
    if (col > 0) s += ":" + std::to_string(col);
    return s + ": " + m;
  }
};

}  // namespace archmatrix::util
