#pragma once
// Debian's kernels, downloaded with apt's own tools into a private apt state
// directory (the host's package set and sources are never touched) and kept
// in a content-addressed cache.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace archmatrix::prepare {

struct DebianKernelSpec {
  std::string suite;     ///< bookworm | trixie | sid
  std::string deb_arch;  ///< arm64 | armhf | amd64
  std::string package;   ///< the metapackage users install, e.g. linux-image-arm64-16k
};

struct KernelArtifact {
  std::filesystem::path image;  ///< the kernel image inside the cache entry
  std::string package;          ///< the package that carried the image
  std::string version;          ///< its Debian version
  std::string release;          ///< uname -r of the kernel
  std::string sha256;           ///< of the image
  std::string cache_key;        ///< content address of the entry
};

/// A package of the resolution, with the checksum apt's signed index gives.
struct ResolvedPackage {
  std::string name, version, sha256;
};

/// Follows the metapackage's dependencies (from `apt-cache show` stanzas) to
/// the packages that can hold the image: linux-image-* and, where an image
/// package only depends on it (sid), linux-binary-*. Pure.
std::vector<ResolvedPackage> kernel_packages(const std::string& metapackage,
                                             const std::function<std::string(const std::string&)>& show);

/// The content address of a resolution (pure).
std::string kernel_cache_key(const DebianKernelSpec& spec, const std::vector<ResolvedPackage>& pkgs);

class AptState;

class DebianKernelFetcher {
 public:
  DebianKernelFetcher(std::filesystem::path cache_root, std::function<void(std::string_view)> progress);

  /// The cached kernel for spec. The first call resolves the metapackage,
  /// downloads the packages with apt (signed indexes, checked hashes),
  /// extracts the image into a content-addressed entry and records the
  /// resolution; later calls reuse that record and download nothing unless
  /// refresh is set or the entry fails its checksum.
  KernelArtifact fetch(const DebianKernelSpec& spec, bool refresh);

  /// The recorded kernel for spec if its entry is there and passes its
  /// checksum; downloads nothing.
  std::optional<KernelArtifact> cached(const DebianKernelSpec& spec) const;

 private:
  std::filesystem::path record_path(const DebianKernelSpec& spec) const;
  KernelArtifact download(const AptState& apt, const DebianKernelSpec& spec,
                          const std::vector<ResolvedPackage>& pkgs);

  std::filesystem::path cache_;
  std::function<void(std::string_view)> progress_;
};

}  // namespace archmatrix::prepare
