#pragma once
// Boots one QEMU per cell, at most `jobs` at once, and watches each console:
// framed agent messages, kernel crashes, a boot timeout, a no-output timeout
// and an overall timeout. Every QEMU it starts is killed (its whole process
// group) and reaped before run() returns, whatever happened, Ctrl-C included.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "verdict/cell_run.h"

namespace archmatrix::exec {

struct Session;

struct CellJob {
  std::string id;
  std::vector<std::string> argv;             ///< QEMU's argv; argv[0] found in PATH unless it has a '/'
  std::string nonce;                         ///< the plan's nonce: only frames carrying it count
  std::vector<std::string> scenario_names;   ///< plan order
  std::filesystem::path console_log;         ///< raw console bytes are written here
  /// A flooding guest's log keeps its first console_head_bytes and its last
  /// console_tail_bytes (where a panic is), with a line saying how many
  /// bytes between them were dropped.
  std::uint64_t console_head_bytes = 32ull << 20;
  std::uint64_t console_tail_bytes = 32ull << 20;
  std::chrono::milliseconds boot_timeout{120000};
  std::chrono::milliseconds no_output_timeout{60000};
  std::chrono::milliseconds overall_timeout{600000};
  /// After an oops or panic header: a real crash ends QEMU within it; a guest
  /// whose agent still sends records at its end was printing text. Longer
  /// than two of the agent's 5 s beats, so a live agent always shows.
  std::chrono::milliseconds crash_grace{12000};
};

/// What happens to a cell, for progress displays.
struct CellEvent {
  enum Kind { started, booted, scenario_started, scenario_finished, finished } kind;
  std::string cell_id;
  std::string scenario;  ///< for scenario_* events
  double elapsed_s = 0;  ///< since the cell started
};

class Supervisor {
 public:
  using Listener = std::function<void(const CellEvent&)>;
  Supervisor(int jobs, Listener listener);
  ~Supervisor();

  /// Runs every job; returns one CellRun per job, in the jobs' order. SIGINT
  /// and SIGTERM during the call stop new cells, kill the running ones and
  /// make the call return early (interrupted() then says so).
  std::vector<verdict::CellRun> run(const std::vector<CellJob>& jobs);
  bool interrupted() const;

 private:
  struct Impl;
  friend struct Session;
  std::unique_ptr<Impl> impl_;
};

}  // namespace archmatrix::exec
