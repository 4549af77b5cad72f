#pragma once
// Axis attribution: for each scenario check, the simplest predicate over the
// cells' axes that is true exactly on the cells where the check breaks, so a
// report can say "fails exactly when page_size >= 16K" instead of a list of
// cell ids. Also the notion of a report column (a scenario check) that every
// format shares.

#include <compare>
#include <string>
#include <vector>

#include "report/summary.h"

namespace archmatrix::report {

/// One column of every report: a scenario's check, or the scenario itself
/// when it has no checks (check empty).
struct CheckColumn {
  std::string scenario, check;
  /// "scenario/check", or "scenario" when check is empty.
  std::string name() const;
  auto operator<=>(const CheckColumn&) const = default;
};

/// Every scenario check some cell has a result for, sorted by name() (the
/// order and numbering of the console table's columns).
std::vector<CheckColumn> check_columns(const RunSummary& s);

/// The scenario row named `scenario` in `c`, or nullptr.
const ScenarioRow* find_scenario(const CellSummary& c, const std::string& scenario);
/// The result of `col` in `c`, or nullptr when the cell has no such result.
const ResultRow* find_result(const CellSummary& c, const CheckColumn& col);

/// One comparison of a cell property (an axis, or "arch") with a value.
struct Atom {
  enum class Op { eq, ge, le, ne };
  std::string axis;
  Op op = Op::eq;
  std::string value;  ///< canonical, as in the cell's axes ("16384")
  bool fact = false;  ///< `axis` names a guest fact (va_bits_default), not an axis
  /// "page_size >= 16K": sizes shown as 4K/16K/64K.
  std::string text() const;
};

struct Attribution {
  enum class Kind {
    no_outcome,   ///< no cell has a PASS-like or FAIL-like outcome for it
    nowhere,      ///< it holds on every such cell
    everywhere,   ///< it breaks on every such cell
    predicate,    ///< `atoms` (one or two, joined by &&) is true exactly where it breaks
    unexplained,  ///< no predicate of at most two atoms separates them
  };
  CheckColumn column;
  Kind kind = Kind::no_outcome;
  std::vector<Atom> atoms;
  std::vector<std::string> breaking;  ///< ids of cells with FAIL or XFAIL, sorted
  std::vector<std::string> holding;   ///< ids of cells with PASS or XPASS, sorted
  /// "fails exactly when page_size >= 16K", "fails exactly when guest fact
  /// va_bits_default >= 48", "fails everywhere", "fails nowhere", "no
  /// explanation by the axes or the layout facts", or "no PASS or FAIL outcome".
  std::string text;
};

/// " (va_bits_default: a fact the guest reported, no axis of the matrix)" when
/// some of `atoms` are facts, else "": what reports add after the predicate.
std::string fact_note(const std::vector<Atom>& atoms);

/// One attribution per check_columns() entry, in that order.
///
/// Only cells where the check has a PASS-like (PASS, XPASS) or FAIL-like
/// (FAIL, XFAIL) outcome count: UNSUPPORTED, TIMEOUT, CRASH, ERROR, NOTRUN and
/// FLAKY (it both failed and passed there)
/// say nothing about the assumption. A cell's value of an axis is its axis
/// value, else the guest fact of the same name (an x86_64 cell that sets no
/// page_size has the page_size its guest reported), else unset; on an unset
/// value `==`, `>=` and `<=` are false and `!=` is true.
///
/// Atoms, in preference order: axes in the order arch, page_size, va_bits,
/// vmsplit, paging, release, then any other axis by name; within an axis `==`
/// then `>=` then `<=` then `!=`, values ascending. Thresholds exist for the
/// ordered axes: page_size and va_bits (numbers) and release (versions, 6.1 <
/// 6.12). One atom is preferred to two; pairs are tried in atom order.
///
/// When no predicate over the axes separates the cells, the guest's memory
/// layout facts that no axis sets are tried the same way, after them:
/// va_bits_default, tmpfs_blksize, overcommit_memory, la57 (ordered as
/// numbers). A check that breaks exactly where unhinted mappings reach 48 bits
/// is "fails exactly when guest fact va_bits_default >= 48", though no axis
/// says so. Other facts (kernel_release, mem_total_kib, ...) are never used:
/// they differ on every cell and would "explain" anything.
std::vector<Attribution> attribute(const RunSummary& s);

/// The attribution lines for the end of the console summary: one line per
/// check that breaks somewhere ("  [3] sparse-tmpfs/hardcoded-4096: fails
/// exactly when page_size >= 16K (2 of 5 cells)"), numbered like the table.
/// Check names (guest text) are reduced to printable ASCII. Empty when the run
/// has no results.
std::string attribution_text(const RunSummary& s);

}  // namespace archmatrix::report
