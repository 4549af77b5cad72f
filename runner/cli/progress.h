#pragma once
// What a run shows while it runs. On a terminal: log lines plus one status
// line redrawn in place (cells queued, booting, running which scenario, done,
// elapsed, an estimate of what is left). Elsewhere (CI, a pipe): the same log
// lines only, plain text, no control characters.

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "exec/supervisor.h"

namespace archmatrix::cli {

class Progress {
 public:
  /// live: redraw a status line (use stderr_is_live() to decide).
  explicit Progress(bool live);
  ~Progress();

  void log(std::string_view message);
  /// Start of the boot phase: how many cells and how many at once.
  void start_cells(std::size_t cells, int jobs);
  void event(const exec::CellEvent& e);
  double elapsed() const;

  /// A terminal that is not CI and not TERM=dumb.
  static bool stderr_is_live();

 private:
  void redraw();
  void clear_status();
  std::string status() const;

  bool live_;
  std::chrono::steady_clock::time_point t0_;
  std::size_t cells_ = 0, done_ = 0;
  int jobs_ = 1;
  double done_seconds_ = 0;
  std::map<std::string, std::string> running_;  ///< cell -> what it is doing
  bool status_shown_ = false;
};

}  // namespace archmatrix::cli
