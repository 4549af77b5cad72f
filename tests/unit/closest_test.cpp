#include "util/closest.h"

#include <gtest/gtest.h>

namespace archmatrix::util {
namespace {

TEST(Closest, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("sparse-tmps", "sparse-tmpfs"), 1u);
}

TEST(Closest, NearestFirstAtMostThreeAndNothingFarOff) {
  const std::vector<std::string> cells{"aarch64-4k-6.1", "aarch64-64k-va48", "aarch64-16k-va48", "x86_64-6.1",
                                       "armhf-3g1g-6.1"};
  const auto near = closest_names("aarch64-64k-va4", cells);
  ASSERT_FALSE(near.empty());
  EXPECT_EQ(near.front(), "aarch64-64k-va48");
  EXPECT_LE(near.size(), 3u);
  EXPECT_TRUE(closest_names("zzzzzzzz", cells).empty());
  // A part of a name is near: "tmpfs" finds "sparse-tmpfs".
  EXPECT_EQ(closest_names("tmpfs", {"large-mmap", "sparse-tmpfs"}), std::vector<std::string>{"sparse-tmpfs"});
}

}  // namespace
}  // namespace archmatrix::util
