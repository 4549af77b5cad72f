#pragma once
// What running one cell produced, before any judgement: filled in by exec/
// from the console, read by verdict/. Plain data.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace archmatrix::verdict {

/// One scenario as the agent reported it (or did not).
struct ScenarioRun {
  std::string name;
  bool begun = false;     ///< the agent said it started
  bool finished = false;  ///< a result message arrived
  std::string status;     ///< exit | signal | timeout | error (from the agent)
  std::string value;      ///< exit code, signal number, or error text
  std::int64_t duration_ms = 0;
  std::string stdout_text, stderr_text;
  std::uint64_t stdout_dropped = 0, stderr_dropped = 0;
};

/// How a cell's QEMU run ended.
enum class CellEnd {
  completed,          ///< the agent's end message arrived
  boot_timeout,       ///< no hello within the boot timeout
  no_output_timeout,  ///< the console went silent
  overall_timeout,    ///< the cell's overall bound ran out
  crashed,            ///< a kernel panic or oops
  qemu_exited,        ///< QEMU ended before the agent's end message
  start_failed,       ///< QEMU could not be started
  interrupted,        ///< the run was cancelled (SIGINT/SIGTERM)
  not_run,            ///< never started (the run was cancelled first)
  host_error,         ///< the host could not prepare this cell (kernel, build, ELF check)
};

struct CellRun {
  CellEnd end = CellEnd::not_run;
  std::string end_detail;  ///< QEMU's own message, the timeout figure, the host error
  std::optional<std::map<std::string, std::string>> facts;
  std::vector<ScenarioRun> scenarios;  ///< in plan order
  std::string crash_title, crash_text;
  double boot_seconds = -1;  ///< QEMU start to the agent's hello; -1 if never
  double wall_seconds = 0;   ///< QEMU start to QEMU reaped
  int qemu_exit_code = -1;   ///< -1 if killed or not started
  std::vector<std::string> protocol_anomalies;
};

}  // namespace archmatrix::verdict
