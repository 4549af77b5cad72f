#pragma once
// Debian packages of a guest's architecture that a scenario builds and runs
// with (build.packages in scenario.yaml). Each is resolved and downloaded
// through the private apt state of Debian 12, bookworm (prepare/apt_state.h;
// the cross toolchain is Debian 12's, so target libraries must be of the
// same glibc generation), checked against the sha256 of the signed index,
// and its data archive unpacked (prepare/package_tree.h) into a content-addressed
// cache entry: <cache>/target-packages/<deb_arch>/<name>_<version>_<sha12>/.
//
// A scenario's packages are then joined into one root,
// <cache>/target-packages/<deb_arch>/roots/<key>/ (hard links, as if they
// were installed together): a -dev package's libfoo.so is a symlink into
// its runtime package (libfoo.so -> libfoo.so.2), which only resolves when
// both are in one tree. Entries and roots are made under a temporary name
// and a lock, published with a rename, and complete only with their
// `.complete` marker.

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "util/arch.h"

namespace archmatrix::prepare {

class AptState;

/// The Debian suite target packages come from: the cross toolchain's.
inline constexpr std::string_view kTargetPackageSuite = "bookworm";

/// One package in the cache.
struct TargetPackage {
  std::string name, version, sha256;
  std::filesystem::path dir;  ///< its unpacked tree (usr/, lib/, ...)
};

/// Packages asked for together, and by whom (for messages): a scenario's
/// build.packages, or exec's --package options.
struct PackageRequest {
  std::string who;    ///< "scenario foo", "exec"
  std::string field;  ///< where the names were given: "build.packages", "--package"
  std::vector<std::string> names;
};

class TargetPackages {
 public:
  using Progress = std::function<void(std::string_view)>;
  TargetPackages(std::filesystem::path cache_root, Progress progress);

  /// The root holding all of the scenario's packages for arch (empty when it
  /// declares none). Downloads and unpacks only what the cache lacks; a
  /// second run with the same package index downloads nothing. Throws
  /// util::Error with util::kExitBadInput when apt knows no such package
  /// (naming the scenario, the package, the suite and the arch), and a
  /// plain util::Error when a download, checksum or unpacking fails.
  std::filesystem::path root(const config::ScenarioSpec& scenario, util::Arch arch);
  /// The same for any request; the unknown-package error names r.who and r.field.
  std::filesystem::path root(const PackageRequest& r, util::Arch arch);

 private:
  TargetPackage package(const AptState& apt, const PackageRequest& r, const std::string& name);
  TargetPackage fetch(const AptState& apt, const PackageRequest& r, const std::string& name);
  /// apt-get update of arch's state, at most once per run; false if done already.
  bool update_once(const AptState& apt);

  std::filesystem::path cache_;
  Progress progress_;
  std::set<std::string> updated_;  ///< Debian arches whose index this run fetched
};

}  // namespace archmatrix::prepare
