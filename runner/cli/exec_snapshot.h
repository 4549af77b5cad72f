#pragma once
// exec's ready-state snapshots (ARCHITECTURE.md, "Restored guests"): a cell's
// guest is booted once to "agent waits for its work", saved by QEMU, and
// every later exec of that cell restores it instead of booting. The cache
// entry is keyed by everything the saved state depends on (the QEMU binary,
// the cell's argv, the kernel, the agent and modules in the initramfs), so
// a change to any of them makes a new snapshot, never a wrong restore.

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"

namespace archmatrix::cli {

struct ReadyState {
  std::filesystem::path initrd;  ///< the initramfs the state was booted from: restores name it too
  std::filesystem::path state;   ///< QEMU's migration stream
  bool made_now = false;         ///< booted and saved by this call
};

struct ReadyStateInputs {
  const plan::Cell* cell = nullptr;
  std::filesystem::path kernel_image;
  std::string kernel_sha256;  ///< of the image, as its cache record has it ("": hashed here)
  std::filesystem::path agent;
  std::vector<std::filesystem::path> modules;
  std::string qemu_dir;
  std::string accel = "tcg";  ///< as exec::QemuInputs::accel
  std::string machine_kind;  ///< "pci" | "mmio"
  std::chrono::milliseconds boot_timeout{120000};
};

/// The cache key of a cell's ready state (sha256 hex): the argv with the
/// initramfs left out, the QEMU binary's path, size and mtime, and the
/// contents of the kernel, agent and modules.
std::string ready_state_key(const ReadyStateInputs& in);

/// The ready state from `cache`/snapshots/<key>, booted and saved first when
/// there is none (under the entry's lock: concurrent execs of one cell make
/// it once). Throws util::Error or guest::GuestError when it cannot be made.
ReadyState ready_state(const std::filesystem::path& cache, const ReadyStateInputs& in,
                       const std::function<void(std::string_view)>& log);

/// Removes a snapshot that failed to restore, so the next exec makes it again.
void discard_ready_state(const ReadyState& s);

/// The share every snapshot's guest is saved with, so restores can attach
/// the current directory under the same device configuration.
inline constexpr const char* kCwdTag = "amcwd";

}  // namespace archmatrix::cli
