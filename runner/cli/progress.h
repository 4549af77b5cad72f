#pragma once
// What a run shows while it runs. On a terminal: log lines plus one status
// line redrawn in place (cells queued, booting, running which scenario, done,
// elapsed, an estimate of what is left). Elsewhere (CI, a pipe): the same log
// lines only, plain text, no control characters.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "exec/supervisor.h"

namespace archmatrix::cli {

class Progress {
 public:
  /// live: redraw a status line (use stderr_is_live() to decide).
  explicit Progress(bool live);
  ~Progress();

  // All public members may be called from several threads (kernel builds).
  void log(std::string_view message);
  /// A preparation task (a kernel build) and what it is doing now; shown in
  /// the status line on a terminal, and as a log line when its step changes
  /// or every 30 s elsewhere.
  void task(const std::string& name, const std::string& what);
  void task_done(const std::string& name);
  /// Start of the boot phase: how many cells and how many at once.
  void start_cells(std::size_t cells, int jobs);
  void event(const exec::CellEvent& e);
  double elapsed() const;

  /// A terminal that is not CI and not TERM=dumb.
  static bool stderr_is_live();
  /// Nothing at all goes to stderr (exec: a script's stderr is the program's).
  void set_silent(bool silent) { silent_ = silent; }

 private:
  void log_locked(std::string_view message);
  void redraw();
  void clear_status();
  std::string status() const;

  bool live_;
  bool silent_ = false;
  std::chrono::steady_clock::time_point t0_;
  std::size_t cells_ = 0, done_ = 0;
  int jobs_ = 1;
  double done_seconds_ = 0;
  std::map<std::string, std::string> running_;  ///< cell -> what it is doing
  bool status_shown_ = false;
  struct TaskLog {
    std::string step;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::string, TaskLog> task_logged_;
  mutable std::recursive_mutex mu_;
};

}  // namespace archmatrix::cli
