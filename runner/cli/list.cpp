#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/project_loading.h"

namespace archmatrix::cli {

int run_list(const CommonOptions& o) {
  const LoadedPlan lp = load_and_plan(o);
  for (const auto& c : lp.plan.cells) {
    std::string axes;
    for (const auto& [k, v] : c.axes) axes += fmt::format(" {}={}", k, v);
    std::cout << fmt::format("{}  kernel={}  memory={}M{}\n", c.id, c.kernel->id, c.memory_mib, axes);
    for (const auto& s : c.scenarios)
      std::cout << fmt::format("    {}{}\n", s.spec->name,
                               s.unsupported ? "  UNSUPPORTED: " + s.unsupported_reason : "");
  }
  for (const auto& k : lp.plan.skipped)
    std::cout << fmt::format("{}  not planned: {} ({}:{})\n", k.id, k.reason, k.where.file, k.where.line);
  std::cout << fmt::format("{} cells, {} not planned, {} scenarios\n", lp.plan.cells.size(),
                           lp.plan.skipped.size(), lp.project.scenarios.size());
  return 0;
}

}  // namespace archmatrix::cli
