#pragma once
// Splitting a plan's cells across CI machines: a deterministic 1/N of the
// cells for shard K, balanced by cell durations from an earlier run when they
// are known (longest first onto the least-loaded shard). Pure.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace archmatrix::plan {

struct ShardSpec {
  int index = 1;  ///< K, 1-based
  int count = 1;  ///< N
};

/// "K/N" with 1 <= K <= N <= 1000; nullopt otherwise.
std::optional<ShardSpec> parse_shard(const std::string& text);

/// Which shard (1-based) each cell id goes to. Every cell goes to exactly one
/// shard; the same ids and durations always give the same assignment. Cells
/// without a recorded duration count as the median of the known ones (or 1).
std::map<std::string, int> assign_shards(const std::vector<std::string>& cell_ids, int count,
                                         const std::map<std::string, double>& seconds);

/// Keeps only plan's cells of shard spec.index.
void keep_shard(Plan& plan, const ShardSpec& spec, const std::map<std::string, double>& seconds);

}  // namespace archmatrix::plan
