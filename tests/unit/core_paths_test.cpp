// The `cores` field of an exit frame is the guest's word: only paths of the
// form the agent writes are fetched, so a hostile guest cannot make the host
// fetch (or name in a report) anything else.
#include <gtest/gtest.h>

#include "guest/guest.h"

namespace archmatrix::guest {
namespace {

TEST(CorePaths, KeepsWhatTheAgentWrites) {
  const auto v = valid_core_paths("/tmp/.archmatrix-cores/core.26.j1\n/tmp/.archmatrix-cores/core.4711.j1");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], "/tmp/.archmatrix-cores/core.26.j1");
  EXPECT_EQ(v[1], "/tmp/.archmatrix-cores/core.4711.j1");
}

TEST(CorePaths, DropsEverythingElse) {
  for (const char* bad : {"/etc/shadow", "/tmp/.archmatrix-cores/core.26", "/tmp/.archmatrix-cores/core..j1",
                          "/tmp/.archmatrix-cores/core.26.j1/../../../etc/shadow",
                          "/tmp/.archmatrix-cores/core.26.jx", "/tmp/.archmatrix-cores/core.-1.j1",
                          "tmp/.archmatrix-cores/core.26.j1", "/tmp/.archmatrix-cores/core.26.j1 ", ""})
    EXPECT_TRUE(valid_core_paths(bad).empty()) << bad;
}

TEST(CorePaths, KeepsAtMostEight) {
  std::string many;
  for (int i = 0; i < 20; ++i) many += "/tmp/.archmatrix-cores/core." + std::to_string(i) + ".j1\n";
  EXPECT_EQ(valid_core_paths(many).size(), 8u);
}

}  // namespace
}  // namespace archmatrix::guest
