#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "util/text_safe.h"

namespace archmatrix::cli {

Progress::Progress(bool live) : live_(live), t0_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { clear_status(); }

bool Progress::stderr_is_live() {
  const char* term = std::getenv("TERM");
  return ::isatty(2) && !std::getenv("CI") && !(term && std::strcmp(term, "dumb") == 0);
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void Progress::clear_status() {
  if (status_shown_) std::cerr << "\r\033[K" << std::flush;
  status_shown_ = false;
}

void Progress::log(std::string_view message) {
  std::lock_guard lk(mu_);
  log_locked(message);
}

void Progress::log_locked(std::string_view message) {
  if (silent_) return;
  clear_status();
  std::cerr << fmt::format("[{:7.1f}s] {}\n", elapsed(), message);
  redraw();
}

void Progress::task(const std::string& name, const std::string& what) {
  std::lock_guard lk(mu_);
  running_[name] = what;
  if (silent_) return;
  if (live_) return redraw();
  // The step is what comes before the elapsed time ("make Image 1m10s: CC x").
  const std::string step = what.substr(0, what.find_first_of("0123456789"));
  const auto now = std::chrono::steady_clock::now();
  auto it = task_logged_.find(name);
  if (it == task_logged_.end() || it->second.step != step || now - it->second.at >= std::chrono::seconds(30)) {
    task_logged_[name] = {step, now};
    log_locked(name + ": " + what);
  }
}

void Progress::task_done(const std::string& name) {
  std::lock_guard lk(mu_);
  running_.erase(name);
  task_logged_.erase(name);
  redraw();
}

void Progress::start_cells(std::size_t cells, int jobs) {
  std::lock_guard lk(mu_);
  cells_ = cells;
  done_ = 0;  // a second boot phase (run --rerun-failures) counts afresh
  done_seconds_ = 0;
  jobs_ = jobs < 1 ? 1 : jobs;
  log_locked(fmt::format("booting {} cells, {} at a time", cells, jobs_));
}

std::string Progress::status() const {
  if (cells_ == 0) {  // preparing: kernel builds
    std::string s = fmt::format("{:.0f}s: preparing", elapsed());
    for (const auto& [name, what] : running_) s += fmt::format(" | {}: {}", name, what);
    return util::terminal_text(s, 157);
  }
  const std::size_t running = running_.size();
  const std::size_t queued = cells_ - done_ - running;
  std::string s = fmt::format("{:.0f}s: {} done, {} running, {} queued", elapsed(), done_, running, queued);
  if (done_ > 0 && done_ < cells_) {
    // Cells already finished tell how long one takes; the rest share the jobs.
    const double per_cell = done_seconds_ / static_cast<double>(done_);
    const double left = per_cell * static_cast<double>(queued + running) / jobs_;
    s += fmt::format(", about {:.0f}s left", left);
  }
  std::string doing;
  for (const auto& [cell, what] : running_) doing += fmt::format("{}{}: {}", doing.empty() ? "" : ", ", cell, what);
  if (!doing.empty()) s += " | " + doing;
  return util::terminal_text(s, 157);
}

void Progress::redraw() {
  if (!live_) return;
  if (cells_ == 0 && running_.empty()) return clear_status();
  if (cells_ > 0 && done_ == cells_) return clear_status();  // the summary comes next, on stdout
  std::cerr << "\r\033[K" << status() << std::flush;
  status_shown_ = true;
}

void Progress::event(const exec::CellEvent& e) {
  std::lock_guard lk(mu_);
  switch (e.kind) {
    case exec::CellEvent::started:
      running_[e.cell_id] = "booting";
      if (!live_) log_locked(fmt::format("{}: booting", e.cell_id));
      break;
    case exec::CellEvent::booted:
      running_[e.cell_id] = "up";
      log_locked(fmt::format("{}: agent up after {:.1f} s", e.cell_id, e.elapsed_s));
      break;
    case exec::CellEvent::scenario_started:
      running_[e.cell_id] = e.scenario;
      if (!live_) log_locked(fmt::format("{}: running {}", e.cell_id, e.scenario));
      break;
    case exec::CellEvent::scenario_finished: break;
    case exec::CellEvent::finished:
      running_.erase(e.cell_id);
      ++done_;
      done_seconds_ += e.elapsed_s;
      log_locked(fmt::format("{}: done after {:.1f} s", e.cell_id, e.elapsed_s));
      break;
  }
  redraw();
}

}  // namespace archmatrix::cli
