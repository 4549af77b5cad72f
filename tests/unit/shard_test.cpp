#include "plan/shard.h"

#include <gtest/gtest.h>

#include <set>

namespace archmatrix::plan {
namespace {

const std::vector<std::string> kIds{"a", "b", "c", "d", "e", "f", "g"};

TEST(Shard, ParsesKOverN) {
  ASSERT_TRUE(parse_shard("2/3"));
  EXPECT_EQ(parse_shard("2/3")->index, 2);
  for (const char* bad : {"0/3", "4/3", "1/0", "x/3", "1-3", "", "1/"}) EXPECT_FALSE(parse_shard(bad)) << bad;
}

TEST(Shard, EveryCellInExactlyOneShardAndDeterministic) {
  auto a = assign_shards(kIds, 3, {});
  EXPECT_EQ(a.size(), kIds.size());
  std::vector<std::string> reversed(kIds.rbegin(), kIds.rend());
  EXPECT_EQ(a, assign_shards(reversed, 3, {}));
  std::map<int, int> sizes;
  for (const auto& [id, s] : a) ++sizes[s];
  EXPECT_EQ(sizes.size(), 3u);
  for (const auto& [s, n] : sizes) EXPECT_GE(n, 2);  // 7 equal cells: 3, 2, 2
}

TEST(Shard, BalancesByRecordedDurations) {
  // One long cell deserves a shard of its own.
  const std::map<std::string, double> secs{{"a", 60}, {"b", 10}, {"c", 10}, {"d", 10}, {"e", 10}, {"f", 10}, {"g", 10}};
  auto a = assign_shards(kIds, 2, secs);
  double load[3] = {0, 0, 0};
  for (const auto& [id, s] : a) load[s] += secs.at(id);
  EXPECT_EQ(load[1], 60);
  EXPECT_EQ(load[2], 60);
}

TEST(Shard, UnknownCellsCountAsTheMedian) {
  // Known: 100, 10, 10 -> median 10, so d..g count 10 each: a (100) outweighs the other six (60).
  auto a = assign_shards(kIds, 2, {{"a", 100}, {"b", 10}, {"c", 10}});
  for (const auto& [id, s] : a) {
    if (id == "a") continue;
    EXPECT_NE(s, a.at("a")) << id;
  }
}

}  // namespace
}  // namespace archmatrix::plan
