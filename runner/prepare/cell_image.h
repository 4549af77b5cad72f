#pragma once
// A cell's initramfs: the agent as /init, the guest plan with the cell's
// nonce (docs/protocol.md), the scenario binaries, and /dev/console.

#include <filesystem>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "prepare/target_build.h"

namespace archmatrix::prepare {

struct GuestScenario {
  std::string name;
  long timeout_ms = 0;
  bool privileged = false;
  std::vector<std::string> args;
};

/// The text of /archmatrix/plan (pure). Throws util::Error (bad input) for
/// a name or argument the plan's syntax cannot carry (empty, or with a
/// space, line break or NUL byte).
/// What a plan may say beside its scenarios (docs/protocol.md).
struct PlanExtras {
  int attempt = 1;    ///< > 1 (run --rerun-failures): an `attempt` line, the scenarios' ARCHMATRIX_ATTEMPT
  bool echo = false;  ///< `echo`: the agent also prints each result as plain lines (bundles)
};

std::string guest_plan(const std::string& nonce, const std::vector<GuestScenario>& scenarios,
                       const PlanExtras& extras = {});

/// 16 lower-case hex digits from the OS's random source.
std::string make_nonce();

/// Writes <dir>/initramfs.cpio for cell; returns its path. Scenarios that
/// are UNSUPPORTED on the cell are left out (they do not run).
std::filesystem::path write_cell_image(const plan::Cell& cell, const TargetBinaries& bins,
                                       const std::vector<GuestScenario>& scenarios,
                                       const std::string& nonce, const std::filesystem::path& dir,
                                       const PlanExtras& extras = {});

}  // namespace archmatrix::prepare

namespace archmatrix::prepare {

/// Writes <dir>/initramfs.cpio for a guest that serves the data channel
/// (docs/protocol.md, "Data channel"): the agent, a plan with no scenarios
/// and `channel <port>`, and `modules` (in load order) under
/// /archmatrix/modules/. The work itself arrives on the channel.
std::filesystem::path write_channel_image(const std::filesystem::path& agent,
                                          const std::vector<std::filesystem::path>& modules,
                                          const std::string& nonce, const std::filesystem::path& dir);

}  // namespace archmatrix::prepare
