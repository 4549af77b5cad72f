#pragma once
// Debian source packages for scenarios that build a library themselves
// (scenario.yaml: build.source_packages), e.g. jemalloc cross-built for the
// target the way a cross-build does it by default (seed 000).
//
// Resolved once per suite through a private deb-src apt state (AptState with
// kSource: the host's mirror, never the host's apt sources), downloaded with
// `apt-get source --download-only` (apt checks every file against the signed
// Sources index) and unpacked with `dpkg-source -x`, Debian's patches
// applied, into <cache>/sources/<name>_<version>-src/. The tree is shared by
// every target: builds must happen out of tree (the scenario's build step
// configures in its own build directory).

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace archmatrix::prepare {

struct SourcePackage {
  std::string name;
  std::string version;
  std::string dsc_sha256;      ///< from the signed Sources index; the cache entry's stamp
  std::filesystem::path tree;  ///< the unpacked source tree
};

class SourcePackageFetcher {
 public:
  using Progress = std::function<void(std::string_view)>;
  SourcePackageFetcher(std::filesystem::path cache_root, Progress progress);

  /// The source package `name` of Debian `suite`, unpacked. The version is
  /// recorded at first resolution (sources/resolved/<suite>-src-<name>.json)
  /// and reused, so later runs neither ask the mirror nor change under a
  /// cached build. Throws util::Error with kExitBadInput when the suite has no
  /// such source package, util::Error otherwise.
  SourcePackage fetch(const std::string& suite, const std::string& name);

 private:
  std::filesystem::path cache_;
  Progress progress_;
};

/// The SHA-256 of the .dsc in a Sources stanza's Checksums-Sha256 field
/// ("" if none), e.g. " 3f2a... 2179 jemalloc_5.3.0-1.dsc" (pure).
std::string dsc_sha256(const std::string& checksums_field);

}  // namespace archmatrix::prepare
