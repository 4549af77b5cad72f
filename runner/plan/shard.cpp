#include "plan/shard.h"

#include <algorithm>

#include "config/text_checks.h"

namespace archmatrix::plan {

std::optional<ShardSpec> parse_shard(const std::string& text) {
  const auto kn = config::text::fraction(text);
  if (!kn) return std::nullopt;
  ShardSpec s{kn->first, kn->second};
  if (s.count < 1 || s.count > 1000 || s.index < 1 || s.index > s.count) return std::nullopt;
  return s;
}

std::map<std::string, int> assign_shards(const std::vector<std::string>& cell_ids, int count,
                                         const std::map<std::string, double>& seconds) {
  std::vector<double> known;
  for (const auto& id : cell_ids)
    if (auto it = seconds.find(id); it != seconds.end() && it->second > 0) known.push_back(it->second);
  std::sort(known.begin(), known.end());
  const double fallback = known.empty() ? 1.0 : known[known.size() / 2];

  std::vector<std::pair<double, std::string>> cells;
  for (const auto& id : cell_ids) {
    auto it = seconds.find(id);
    cells.emplace_back(it != seconds.end() && it->second > 0 ? it->second : fallback, id);
  }
  // Longest first; ties by id, so the order never depends on input order.
  std::sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<double> load(static_cast<std::size_t>(count), 0.0);
  std::map<std::string, int> out;
  for (const auto& [secs, id] : cells) {
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    load[static_cast<std::size_t>(least)] += secs;
    out[id] = static_cast<int>(least) + 1;
  }
  return out;
}

void keep_shard(Plan& plan, const ShardSpec& spec, const std::map<std::string, double>& seconds) {
  std::vector<std::string> ids;
  for (const auto& c : plan.cells) ids.push_back(c.id);
  const auto shards = assign_shards(ids, spec.count, seconds);
  std::erase_if(plan.cells, [&](const Cell& c) { return shards.at(c.id) != spec.index; });
}

}  // namespace archmatrix::plan
