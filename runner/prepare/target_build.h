#pragma once
// Builds the guest binaries (the agent and the scenarios) for one target
// architecture: the images/target CMake project, configured with that
// target's toolchain file, in a build directory of its own under the cache.
// Host and target never share a compiler, flags or an output directory
// (seed 004), and every binary is checked against the target's ELF identity
// before anything boots with it.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "prepare/dynamic_closure.h"
#include "util/arch.h"

namespace archmatrix::prepare {

struct TargetBinaries {
  std::filesystem::path agent;
  std::map<std::string, std::filesystem::path> scenarios;  ///< by scenario name
  /// By scenario name, for dynamically linked ones: the loader and shared
  /// libraries the guest needs (prepare/dynamic_closure.h).
  std::map<std::string, std::vector<GuestFile>> runtime;
  std::filesystem::path build_dir;
  std::filesystem::path log;  ///< the configure and build output
};

/// By scenario name: the root its Debian packages are unpacked in
/// (prepare/target_packages.h), for scenarios that declare build.packages.
using PackageRoots = std::map<std::string, std::filesystem::path>;

/// By scenario name: its build.source_packages, unpacked
/// (prepare/source_package.h), as (source package, tree) pairs.
using SourceTrees = std::map<std::string, std::vector<std::pair<std::string, std::filesystem::path>>>;

/// The CMake text that declares the scenarios to images/target (pure).
std::string scenarios_cmake(const std::vector<const config::ScenarioSpec*>& scenarios,
                            const PackageRoots& package_roots = {}, const SourceTrees& source_trees = {});

class TargetBuilder {
 public:
  using Progress = std::function<void(std::string_view)>;
  TargetBuilder(std::filesystem::path source_root, std::filesystem::path cache_root, Progress progress);

  /// Builds (incrementally) and checks. Throws util::Error with the tail of
  /// the build log if the build fails, or naming the binary and what is wrong
  /// with it if an ELF check fails.
  /// package_roots: where each scenario's Debian packages are; their
  /// headers and libraries are built against and their shared libraries
  /// searched (after the scenario's own, before the toolchain's).
  /// source_trees: the unpacked source packages a scenario's own build step
  /// (build.cmake) builds.
  TargetBinaries build(util::Arch arch, const std::vector<const config::ScenarioSpec*>& scenarios,
                       const PackageRoots& package_roots = {}, const SourceTrees& source_trees = {});

 private:
  std::filesystem::path source_root_, cache_root_;
  Progress progress_;
};

/// Checks one file against arch and linkage; throws util::Error naming the
/// file and the mismatch.
void require_elf(const std::filesystem::path& file, util::Arch arch, bool static_exe);

}  // namespace archmatrix::prepare
