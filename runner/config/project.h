#pragma once
// Everything a run is made of, loaded and cross-checked: the matrix, the
// scenarios it names (from the project and from --scenarios packs) and the
// kernel recipes.

#include <filesystem>
#include <vector>

#include "config/model.h"

namespace archmatrix::config {

struct Project {
  Matrix matrix;
  std::vector<ScenarioSpec> scenarios;  ///< sorted by name; only those the matrix selects
  std::vector<KernelRecipe> kernels;    ///< sorted by id
};

/// Loads matrix_file, every <dir>/<name>/scenario.yaml under scenario_dirs
/// (later dirs may not redefine a name), and kernels_dir/*.yaml. Throws
/// util::InputError for any bad file, a duplicate scenario, or a matrix that
/// names a scenario that does not exist.
Project load_project(const std::filesystem::path& matrix_file,
                     const std::vector<std::filesystem::path>& scenario_dirs,
                     const std::filesystem::path& kernels_dir);

}  // namespace archmatrix::config
