#pragma once
// The cell, scenario and check a command names on its command line (repro,
// shell, bundle), looked up in the whole matrix: an unknown or inapplicable
// name is one line of bad input with the closest names, before anything is
// prepared.

#include <string>

#include "cli/commands.h"
#include "cli/project_loading.h"

namespace archmatrix::cli {

struct NamedTarget {
  LoadedPlan everything;  ///< every cell and scenario of the matrix (no --cell or --scenario filter)
  const plan::Cell* cell = nullptr;                  ///< into everything: valid as long as it is
  const plan::PlannedScenario* scenario = nullptr;   ///< null when only a cell was named
  std::string check;                                 ///< "" for the whole scenario
};

/// `target` is "", SCENARIO or SCENARIO/CHECK. Throws util::Error
/// (kExitBadInput) for an unknown or not planned cell, an unknown scenario, one
/// that does not apply to the cell or is UNSUPPORTED there, and a check the
/// scenario does not declare.
NamedTarget name_target(const CommonOptions& common, const std::string& cell, const std::string& target);

}  // namespace archmatrix::cli
