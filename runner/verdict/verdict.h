#pragma once
// Judges a cell's raw run: checks the guest's facts against the cell's axes,
// turns scenario outcomes and sub-checks into result codes, and applies the
// expectations, all in one place.

#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"
#include "verdict/cell_run.h"

namespace archmatrix::verdict {

/// Result codes (after LLVM lit). NOTRUN: planned but never run because the
/// run was interrupted or the guest died before reaching it. FLAKY: a failure
/// that passed on a rerun (`run --rerun-failures`), as Bazel and Maven
/// Surefire call it; not a failure, but never shown as PASS.
enum class Code { PASS, FAIL, XFAIL, XPASS, UNSUPPORTED, TIMEOUT, CRASH, ERROR, NOTRUN, FLAKY };

std::string_view code_name(Code c);
/// The one table of which codes make a run fail (and `run` exit non-zero).
bool is_failure(Code c);

struct Result {
  std::string scenario;
  std::string check;    ///< empty: the scenario as a whole (it has no checks)
  Code code = Code::ERROR;
  std::string message;  ///< why this code: exit status, check detail, expectation reason
  std::string detail;   ///< the check's own text from ARCHMATRIX-CHECK, if any
};

struct CellVerdict {
  std::string cell_id;
  /// Facts that contradict the cell's axes ("page_size: guest has 4096, cell says 16384").
  std::vector<std::string> fact_mismatches;
  std::vector<Result> results;  ///< scenario order, then check order
};

/// Compares facts with the cell's effective axes. Empty when they agree.
std::vector<std::string> check_facts(const plan::Cell& cell,
                                     const std::map<std::string, std::string>& facts);

CellVerdict judge(const plan::Cell& cell, const CellRun& run);

}  // namespace archmatrix::verdict
