#pragma once
// Expands the matrix into cells, picks each cell's kernel, drops impossible
// combinations with a reason, and decides UNSUPPORTED before anything boots.
// Pure: works only on the loaded project it is handed.

#include <optional>
#include <string>
#include <vector>

#include "config/project.h"

namespace archmatrix::plan {

struct PlannedScenario {
  const config::ScenarioSpec* spec = nullptr;
  bool unsupported = false;
  std::string unsupported_reason;  ///< the matching expectation's reason and ref
};

struct Cell {
  std::string id;                  ///< e.g. aarch64-16k-6.12: arch + the axes the matrix set
  util::Arch arch = util::Arch::x86_64;
  config::AxisValues axes;         ///< effective: what the matrix set plus what the kernel provides
  const config::KernelRecipe* kernel = nullptr;
  int memory_mib = 0;
  int cpus = 0;
  std::vector<PlannedScenario> scenarios;  ///< sorted by name
};

/// A combination the matrix asked for that cannot be run, and why.
struct SkippedCell {
  std::string id;
  std::string reason;
  config::Location where;
};

struct Plan {
  std::vector<Cell> cells;         ///< sorted by id
  std::vector<SkippedCell> skipped;
};

struct Filters {
  std::vector<std::string> cell_patterns;  ///< shell globs over cell ids; empty = all
  std::vector<std::string> scenarios;      ///< names; empty = all
};

/// Throws util::InputError when an entry yields no runnable cell, when a cell
/// matches several kernel recipes, on duplicate cell ids, or when a filter
/// selects nothing.
Plan make_plan(const config::Project& project, const Filters& filters = {});

/// What an expectation list (`unsupported:` or a check's `xfail:`) says for
/// one cell: the first entry whose predicate holds, or why one could not be
/// evaluated (a fact the guest reported as a word where an order is asked).
struct ExpectationMatch {
  const config::Expectation* match = nullptr;
  /// Non-empty when a predicate could not be evaluated; it names the kind,
  /// the predicate, its file:line and the cause (the variable and its value).
  std::string error;
};

/// The one evaluator of expectation predicates, at plan time (facts null:
/// axes only, unknown never matches) and after boot (facts win over axes).
/// Entries are tried in order; the first that holds or fails to evaluate
/// decides. `kind` ("unsupported", "xfail") prefixes the error. Never throws
/// for an evaluation error: a predicate is the scenario's problem, not the run's.
ExpectationMatch match_expectation(const std::vector<config::Expectation>& list, std::string_view kind,
                                   const Cell& cell, const std::map<std::string, std::string>* facts);

/// An expectation's reason with its reference, as reports show it.
std::string expectation_reason(const config::Expectation& e);

/// Whether a kernel release belongs to a `release` axis value: the release
/// starts with it and goes on, if at all, with '.', '-', '+' or '~'. "6"
/// matches 6.1 and 6.12; "6.1" matches 6.1, 6.1.0-28-arm64 and 6.1+rc, not
/// 6.12. The one rule for choosing a recipe (its `provides.release`) and for
/// checking the guest (its kernel_release fact).
bool release_matches(std::string_view axis, std::string_view release);

/// The kernel command line and predicate environment need the effective axes
/// and facts as strings; this is the single lookup both use (facts win).
std::optional<std::string> lookup_name(const Cell& cell,
                                       const std::map<std::string, std::string>* facts,
                                       std::string_view name);

}  // namespace archmatrix::plan
