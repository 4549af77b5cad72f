#pragma once
// Builds the guest binaries (the agent and the scenarios) for one target
// architecture: the images/target CMake project, configured with that
// target's toolchain file, in a build directory of its own under the cache.
// Host and target never share a compiler, flags or an output directory
// (seed 004), and every binary is checked against the target's ELF identity
// before anything boots with it. Scenarios are built one target at a time,
// so a scenario that does not build is that scenario's failure, never its
// arch's: the agent and every other scenario still build.

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

/// Why one scenario has no binary for a target (prepare only; the run turns
/// it into that scenario's ERROR on every cell of the arch).
struct ScenarioBuildFailure {
  std::string message;  ///< one paragraph: the scenario, the arch, the compiler's (or CMake's) error lines
  std::string log;      ///< the end of its build log, for the report
};

struct TargetBinaries {
  std::filesystem::path agent;
  std::map<std::string, std::filesystem::path> scenarios;  ///< by scenario name, those that built
  /// By scenario name: those that did not build (absent from `scenarios`).
  std::map<std::string, ScenarioBuildFailure> failed;
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

  /// Builds (incrementally) and checks. A scenario whose configure step,
  /// compilation, link or runtime closure fails goes into `failed` with its
  /// error lines; the others are built all the same. Throws util::Error with
  /// the log's error lines when the target cannot be built at all (the
  /// toolchain, the agent), and util::Error with kExitBadInput naming the
  /// binary and what is wrong with it when an ELF check fails.
  /// package_roots: where each scenario's Debian packages are; their
  /// headers and libraries are built against and their shared libraries
  /// searched (after the scenario's own, before the toolchain's).
  /// source_trees: the unpacked source packages a scenario's own build step
  /// (build.cmake) builds.
  TargetBinaries build(util::Arch arch, const std::vector<const config::ScenarioSpec*>& scenarios,
                       const PackageRoots& package_roots = {}, const SourceTrees& source_trees = {});

  /// The agent alone (exec's guests need nothing else), checked for arch.
  /// Kept in the cache under a key of its sources (images/agent,
  /// images/target) and the toolchain file: while they are unchanged no
  /// CMake runs at all, which is most of exec's own start-up otherwise.
  std::filesystem::path agent(util::Arch arch);

 private:
  std::filesystem::path source_root_, cache_root_;
  Progress progress_;
};

/// The lines of a build log that say what went wrong: the compiler's and
/// linker's `error:` lines, `undefined reference`s and CMake's `CMake Error`
/// paragraphs, at most max_lines of them; the log's last lines when none
/// match (pure).
std::string build_error_lines(std::string_view log, std::size_t max_lines = 12);

/// Checks one file against arch and linkage; throws util::Error naming the
/// file and the mismatch.
void require_elf(const std::filesystem::path& file, util::Arch arch, bool static_exe);

}  // namespace archmatrix::prepare
