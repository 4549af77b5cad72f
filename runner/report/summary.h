#pragma once
// The run summary: everything a report says, as plain data that owns its
// strings (no pointers into the plan), so that formatters are pure functions
// of it and a summary can be read back from report.json (diff, merge).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "verdict/verdict.h"

namespace archmatrix::report {

struct ResultRow {
  std::string check;  ///< empty for a scenario without checks
  verdict::Code code = verdict::Code::ERROR;
  std::string message;
  std::string detail;
};

/// One attempt at a scenario that failed, when `run --rerun-failures` ran it
/// again in a fresh boot of its cell.
struct AttemptRow {
  int attempt = 1;                            ///< the first run is attempt 1
  verdict::Code code = verdict::Code::ERROR;  ///< the most severe of that attempt's results
  std::string status, value;                  ///< as the agent reported (empty if never)
  std::int64_t duration_ms = 0;
  std::string message;     ///< the first failing result's "check: CODE: message", or its first result's
  std::string console_log; ///< relative to the report's directory
  std::string trace;       ///< run --strace-failures: its strace -f output, relative; "" if none
};

struct ScenarioRow {
  std::string scenario;
  verdict::Code code = verdict::Code::ERROR;  ///< the most severe of its results
  std::string status, value;                  ///< as the agent reported (empty if never)
  std::int64_t duration_ms = 0;
  std::string stdout_text, stderr_text;
  std::uint64_t stdout_dropped = 0, stderr_dropped = 0;
  std::vector<ResultRow> results;
  /// Every attempt, the first included, when the scenario was rerun; else
  /// empty. The results above stay the first attempt's, except a failure
  /// that a rerun passed, which is FLAKY.
  std::vector<AttemptRow> attempts;
};

struct KernelInfo {
  std::string recipe, source, suite, package, version, release, sha256, cache_key, image;
};

struct CellSummary {
  std::string id;
  std::string arch;
  std::map<std::string, std::string> axes;
  KernelInfo kernel;
  int memory_mib = 0, cpus = 0;
  std::vector<std::string> qemu_argv;
  std::string console_log;  ///< relative to the report's directory
  std::string end, end_detail;
  double boot_seconds = -1, wall_seconds = 0;
  /// exec: "restored" (from the cell's saved ready state) or "cold", and why
  /// cold when a restore was tried; "" where not recorded (run's cells).
  std::string boot, boot_detail;
  /// "kvm" or "tcg", and why (exec/accel.h); "" in reports that predate it.
  std::string accel, accel_detail;
  std::map<std::string, std::string> facts;
  std::vector<std::string> fact_mismatches;
  std::string crash_title, crash_text;
  std::vector<std::string> protocol_anomalies;
  std::vector<ScenarioRow> scenarios;
};

struct SkippedRow {
  std::string id, reason, where;
};

struct RunSummary {
  static constexpr int kSchema = 1;
  std::string archmatrix_version;
  std::string matrix;
  std::string started;  ///< ISO 8601 UTC, recorded by the caller
  double wall_seconds = 0;
  bool interrupted = false;
  std::string shard;               ///< "K/N" when this run was one shard, else empty
  /// Every cell id of the matrix (after --cell, before --shard): what a
  /// merge of shards must add up to. Empty in reports that predate it.
  std::vector<std::string> planned_cells;
  std::vector<CellSummary> cells;  ///< sorted by id
  std::vector<SkippedRow> skipped;
};

/// The most severe code: what a scenario or a cell "is" at a glance.
verdict::Code worst(const std::vector<verdict::Code>& codes);
/// Count of each code over every result of the run.
std::map<verdict::Code, int> totals(const RunSummary& s);
/// Planned cells with no entry in cells (a shard that never reported). Empty
/// for a shard's own report, which answers only for its share.
std::vector<std::string> missing_cells(const RunSummary& s);
/// true if any result is a failure (is_failure), a cell's kernel crashed
/// (even after its last result), a planned cell is missing, or the run was
/// interrupted.
bool failed(const RunSummary& s);

}  // namespace archmatrix::report
