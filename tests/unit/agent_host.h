#pragma once
// The guest agent's C files (images/agent/plan.c, facts.c) built for the
// host: what they send and the files they read go through these instead of
// the console and /proc (tests/unit/agent_host.cpp).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent.h"

namespace archmatrix::testing::agent_host {

/// One message the agent sent with msg_send(), its fields in order.
struct Sent {
  std::string kind;
  std::vector<std::pair<std::string, std::string>> fields;
  /// The value of a field, if the message has it.
  std::optional<std::string> field(const std::string& key) const;
};

/// Every message sent since the last clear().
std::vector<Sent>& sent();

/// read_small_file() of these paths returns this text, or fails (nullopt);
/// any other path is read from the host.
std::map<std::string, std::optional<std::string>>& files();

/// Forgets the messages and the file overrides.
void clear();

}  // namespace archmatrix::testing::agent_host
