#pragma once
// `run --rerun-failures N`: which scenarios of a cell get another attempt,
// and how an attempt folds into the report row of the first. Pure, so the
// rules are unit-tested apart from booting.

#include <string>
#include <vector>

#include "report/summary.h"

namespace archmatrix::report {

/// The scenarios of `c` worth another boot: those with a failure result
/// (verdict::is_failure). None when another boot cannot change the answer:
/// the host could not prepare the cell, the guest is not what the cell says
/// (fact mismatch), or the run was interrupted.
std::vector<std::string> rerun_candidates(const CellSummary& c);

/// The scenario of `row` as one attempt: its code, how it ended, its first
/// failure (or first result) in one line, and where its console log is.
AttemptRow attempt_of(const ScenarioRow& row, int attempt, const std::string& console_log);

/// Folds `again`, the same scenario's row from attempt `attempt` (2, 3, ...)
/// in a fresh boot, into `row`, the first attempt's. Both are recorded in
/// row.attempts (the first when it is still empty, with
/// `first_console_log`). When `again` has no failure, every failed result
/// of `row` becomes FLAKY, its message naming both attempts, and row.code
/// follows. The first attempt's output stays (it is the failure's). Returns
/// true when the scenario still fails.
bool fold_rerun(ScenarioRow& row, const ScenarioRow& again, int attempt, const std::string& console_log,
                const std::string& first_console_log);

}  // namespace archmatrix::report
