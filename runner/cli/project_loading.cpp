#include "cli/project_loading.h"

namespace archmatrix::cli {

LoadedPlan load_and_plan(const CommonOptions& o) {
  std::vector<std::filesystem::path> dirs{o.root / "scenarios"};
  dirs.insert(dirs.end(), o.scenario_dirs.begin(), o.scenario_dirs.end());
  LoadedPlan lp;
  lp.project = config::load_project(o.matrix, dirs, o.root / "kernels");
  lp.plan = plan::make_plan(lp.project, plan::Filters{o.cells, o.scenarios});
  return lp;
}

}  // namespace archmatrix::cli
