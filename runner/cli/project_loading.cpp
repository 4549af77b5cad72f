#include "cli/project_loading.h"

#include "plan/shard.h"
#include "report/json_read.h"
#include "util/error.h"

namespace archmatrix::cli {

LoadedPlan load_and_plan(const CommonOptions& o) {
  std::vector<std::filesystem::path> dirs{o.root / "scenarios"};
  dirs.insert(dirs.end(), o.scenario_dirs.begin(), o.scenario_dirs.end());
  LoadedPlan lp;
  lp.project = config::load_project(o.matrix, dirs, o.root / "kernels");
  lp.plan = plan::make_plan(lp.project, plan::Filters{o.cells, o.scenarios});
  for (const auto& c : lp.plan.cells) lp.planned_ids.push_back(c.id);
  if (!o.shard.empty()) {
    auto spec = plan::parse_shard(o.shard);
    if (!spec) throw util::Error("--shard " + o.shard + ": expected K/N with 1 <= K <= N", util::kExitBadInput);
    std::map<std::string, double> seconds;
    if (!o.balance_from.empty())
      for (const auto& c : report::read_report(o.balance_from).cells) seconds[c.id] = c.wall_seconds;
    plan::keep_shard(lp.plan, *spec, seconds);
  } else if (!o.balance_from.empty()) {
    throw util::Error("--balance-from needs --shard", util::kExitBadInput);
  }
  return lp;
}

}  // namespace archmatrix::cli
