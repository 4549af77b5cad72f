#pragma once
// The guest binaries of scenarios, per arch: their Debian packages and source
// packages fetched, then built (prepare/target_build.h). Shared by `run`
// (every planned scenario) and `repro` (one).

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "prepare/target_build.h"
#include "util/arch.h"

namespace archmatrix::cli {

struct ScenarioBinaries {
  std::map<util::Arch, prepare::TargetBinaries> binaries;
  std::map<util::Arch, std::string> errors;  ///< an arch whose target could not be built at all
};

using PerArch = std::map<util::Arch, std::vector<const config::ScenarioSpec*>>;
using Log = std::function<void(std::string_view)>;

/// A scenario that does not build, or whose package cannot be downloaded, is
/// that scenario's failure (its arch's `failed`); the target not building at
/// all is its arch's error. Throws util::Error with kExitBadInput for bad input
/// (a package apt does not know, a binary built for the wrong guest), and
/// prepare::NoDebianMirror when nothing can be downloaded. Stops between
/// arches when the run is interrupted.
ScenarioBinaries build_scenario_binaries(const std::filesystem::path& root, PerArch per_arch, const Log& log);

}  // namespace archmatrix::cli
