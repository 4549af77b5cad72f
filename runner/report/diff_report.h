#pragma once
// Comparing and combining runs: `archmatrix diff OLD.json NEW.json` (what
// changed between two runs, and whether that is a regression) and
// `archmatrix merge` (one run out of several partial ones, e.g. shards).

#include <optional>
#include <string>
#include <vector>

#include "report/summary.h"

namespace archmatrix::report {

/// A result whose code changed between two runs (or that exists in one only).
struct CodeChange {
  std::string cell;
  std::string check;                   ///< "scenario/check" (or "scenario")
  std::optional<verdict::Code> before;  ///< nullopt: the result did not exist before
  verdict::Code after = verdict::Code::ERROR;
  std::string message;  ///< the new result's message (guest text: escape it)
};

struct FactChange {
  std::string cell, fact;
  std::string before, after;  ///< empty: absent on that side
};

struct KernelChange {
  std::string cell;
  std::string before, after;  ///< "package version" (release when there is no package)
};

struct Diff {
  /// Failing now (is_failure, but not XPASS) and not failing before, including
  /// results that did not exist before.
  std::vector<CodeChange> new_failures;
  /// Failing before and present but not failing now. A failing result that
  /// vanished is not "fixed": it is listed in `vanished` only.
  std::vector<CodeChange> fixed;
  /// XPASS now, something else (or nothing) before.
  std::vector<CodeChange> newly_xpass;
  /// Every other code change of a result present in both (FAIL -> CRASH, PASS -> XFAIL).
  std::vector<CodeChange> other_changes;
  /// "cell", "cell: scenario" or "cell: scenario/check", at the highest level
  /// that appeared or vanished (a new cell's scenarios are not listed again).
  std::vector<std::string> appeared, vanished;
  std::vector<FactChange> fact_changes;      ///< cells in both runs
  std::vector<KernelChange> kernel_changes;  ///< cells in both runs
  /// New failures or newly XPASS: `archmatrix diff` exits 1.
  bool regressions = false;
};

/// Pure and deterministic: every list sorted by cell, then check or fact.
Diff diff_runs(const RunSummary& before, const RunSummary& after);

/// Plain text for the terminal; guest text reduced to printable ASCII. Ends
/// with a one-line tally ("2 new failures, 1 fixed, 0 newly XPASS; regressions").
std::string diff_text(const Diff& d);
/// The same as Markdown (a pull request comment), guest text escaped.
std::string diff_markdown(const Diff& d);

/// The union of several runs' cells, sorted by id; skipped cells by id;
/// `started` the earliest, wall_seconds the longest, interrupted if any was.
/// A cell in several inputs: one whose results are all NOTRUN gives way to
/// one that ran; otherwise the first input wins, and if the results (codes
/// per check) differ that is a conflict. Each conflict, each cell run by no
/// input (all NOTRUN), and inputs of different matrices or versions are
/// described in `notes` when it is not null. Totals are recomputed by every
/// formatter from the merged cells.
RunSummary merge(const std::vector<RunSummary>& runs, std::vector<std::string>* notes);

}  // namespace archmatrix::report
