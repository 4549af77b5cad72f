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

/// The kernel command line and predicate environment need the effective axes
/// and facts as strings; this is the single lookup both use (facts win).
std::optional<std::string> lookup_name(const Cell& cell,
                                       const std::map<std::string, std::string>* facts,
                                       std::string_view name);

}  // namespace archmatrix::plan
