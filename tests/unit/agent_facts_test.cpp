// The agent's facts message (images/agent/facts.c, built for the host): a
// fact it cannot read is left out, never sent as "" (issue 9, item 2: an
// empty overcommit_memory made a predicate over it throw away the run).

#include <gtest/gtest.h>
#include <unistd.h>

#include "agent_host.h"

namespace archmatrix::testing {
namespace {

const agent_host::Sent& facts_message() {
  agent_host::sent().clear();
  facts_send();
  EXPECT_EQ(agent_host::sent().size(), 1u);
  return agent_host::sent().back();
}

class AgentFacts : public ::testing::Test {
 protected:
  void TearDown() override { agent_host::clear(); }
};

TEST_F(AgentFacts, AreSentFromWhatTheGuestSays) {
  agent_host::files()["/proc/sys/vm/overcommit_memory"] = "1\n";
  const auto& m = facts_message();
  EXPECT_EQ(m.kind, "facts");
  EXPECT_EQ(m.field("overcommit_memory"), "1");
  EXPECT_EQ(m.field("page_size"), std::to_string(::sysconf(_SC_PAGESIZE)));
  EXPECT_TRUE(m.field("kernel_release").has_value());
  EXPECT_TRUE(m.field("user_top").has_value());
  for (const auto& [key, value] : m.fields) EXPECT_FALSE(value.empty()) << key;
}

TEST_F(AgentFacts, AFactThatCannotBeReadIsLeftOutNotSentEmpty) {
  agent_host::files()["/proc/sys/vm/overcommit_memory"] = std::nullopt;  // cannot be opened
  agent_host::files()["/proc/meminfo"] = std::nullopt;
  const auto& m = facts_message();
  EXPECT_FALSE(m.field("overcommit_memory").has_value()) << "sent as '" << *m.field("overcommit_memory") << "'";
  EXPECT_FALSE(m.field("mem_total_kib").has_value());
  EXPECT_TRUE(m.field("page_size").has_value());  // the rest still goes

  agent_host::files()["/proc/sys/vm/overcommit_memory"] = "\n";  // readable, but says nothing
  EXPECT_FALSE(facts_message().field("overcommit_memory").has_value());
}

}  // namespace
}  // namespace archmatrix::testing
