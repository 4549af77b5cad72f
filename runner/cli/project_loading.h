#pragma once
// Loading the project and planning, shared by `run` and `list`.

#include "cli/commands.h"
#include "config/project.h"
#include "plan/plan.h"

namespace archmatrix::cli {

struct LoadedPlan {
  LoadedPlan() = default;
  LoadedPlan(LoadedPlan&&) = default;  // moving keeps the vectors' buffers, so plan's pointers stay valid
  LoadedPlan(const LoadedPlan&) = delete;
  config::Project project;
  plan::Plan plan;  ///< points into project: keep them together
  std::vector<std::string> planned_ids;  ///< every cell id before --shard
};

LoadedPlan load_and_plan(const CommonOptions& o);

}  // namespace archmatrix::cli
