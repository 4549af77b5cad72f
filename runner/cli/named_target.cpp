#include "cli/named_target.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/closest.h"
#include "util/error.h"

namespace archmatrix::cli {

NamedTarget name_target(const CommonOptions& common, const std::string& cell_id, const std::string& target) {
  CommonOptions all = common;
  all.cells.clear();
  all.scenarios.clear();
  NamedTarget t{load_and_plan(all), nullptr, nullptr, ""};
  const auto& cells = t.everything.plan.cells;
  const auto cell = std::find_if(cells.begin(), cells.end(), [&](const auto& c) { return c.id == cell_id; });
  if (cell == cells.end()) {
    for (const auto& k : t.everything.plan.skipped)
      if (k.id == cell_id)
        throw util::Error(fmt::format("cell {} is not planned: {}", cell_id, k.reason), util::kExitBadInput);
    std::vector<std::string> ids;
    for (const auto& c : cells) ids.push_back(c.id);
    throw util::Error(fmt::format("unknown cell '{}' in {}{}", cell_id, common.matrix.string(),
                                  util::closest_suffix(cell_id, ids)),
                      util::kExitBadInput);
  }
  t.cell = &*cell;
  if (target.empty()) return t;

  const auto slash = target.find('/');
  const std::string name = target.substr(0, slash);
  t.check = slash == std::string::npos ? "" : target.substr(slash + 1);
  std::vector<std::string> names;
  for (const auto& s : t.everything.project.scenarios) names.push_back(s.name);
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw util::Error(fmt::format("unknown scenario '{}'{}", name, util::closest_suffix(name, names)),
                      util::kExitBadInput);
  const auto planned = std::find_if(cell->scenarios.begin(), cell->scenarios.end(),
                                    [&](const auto& s) { return s.spec->name == name; });
  if (planned == cell->scenarios.end())
    throw util::Error(fmt::format("scenario {} does not apply to {}", name, cell->id), util::kExitBadInput);
  if (planned->unsupported)
    throw util::Error(fmt::format("scenario {} is UNSUPPORTED on {}: {}", name, cell->id, planned->unsupported_reason),
                      util::kExitBadInput);
  if (!t.check.empty() && !planned->spec->checks.empty()) {
    std::vector<std::string> checks;
    for (const auto& c : planned->spec->checks) checks.push_back(c.name);
    if (std::find(checks.begin(), checks.end(), t.check) == checks.end())
      throw util::Error(fmt::format("scenario {} declares no check '{}'{}", name, t.check,
                                    util::closest_suffix(t.check, checks)),
                        util::kExitBadInput);
  }
  t.scenario = &*planned;
  return t;
}

}  // namespace archmatrix::cli
