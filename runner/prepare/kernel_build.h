#pragma once
// Kernels built from Debian's linux-source-* packages: the source package is
// downloaded through a private apt state (prepare/apt_state.h) and unpacked
// once per version; each recipe is configured with `make allnoconfig` from
// its merged fragments (config/kernel_config.h), checked line by line, and
// cross-built with the Debian cross toolchain of its arch in an object
// directory of its own (O=, never in the source tree). The image, its
// .config and the build log go into a content-addressed cache entry
// (<cache>/kernels/<key>/) whose key covers the source package version, the
// resolved .config and the toolchain version, so only what changed is built.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "config/model.h"
#include "prepare/debian_kernel.h"

namespace archmatrix::prepare {

/// What a kernel build looks like for one arch (pure table).
struct KernelBuildArch {
  std::string_view karch;       ///< the kernel's ARCH=
  std::string_view make_target; ///< Image, zImage, bzImage
  std::string_view image_path;  ///< relative to the object directory
};
const KernelBuildArch& kernel_build_arch(util::Arch arch);

/// The unpacked source tree of a linux-source-* package.
struct KernelSourceTree {
  std::string package, version, sha256;
  std::filesystem::path tree;  ///< contains Makefile, Kconfig, arch/...
};

/// The ELF vmlinux (symbols, for `exec --kernel-gdb`) of a built kernel's
/// cache entry: kept beside its image since entries have it; for an older
/// entry, copied in from the recipe's object tree when that tree's .config
/// is the entry's. nullopt when neither has it.
std::optional<std::filesystem::path> built_vmlinux(const std::filesystem::path& cache_root,
                                                   const KernelArtifact& kernel);

class KernelBuilder {
 public:
  /// status(kernel id, what it is doing): called from the building thread,
  /// at each step and every few seconds while make runs.
  using Status = std::function<void(const std::string& kernel, const std::string& what)>;
  KernelBuilder(std::filesystem::path cache_root, std::function<void(std::string_view)> log, Status status);

  /// The cached kernel of recipe, built first if needed with
  /// `make -j make_jobs -l make_jobs` (at most make_jobs jobs, fewer while
  /// the load is above it: concurrent builds share the CPUs).
  /// refresh: resolve the source package again (a newer Debian version
  /// makes a new key). Throws util::Error naming the step, with the tail of
  /// the build log. Safe to call from several threads and processes at
  /// once: entries are published with a rename, and locks serialize builds
  /// of the same recipe and unpacking of the same source.
  KernelArtifact build(const config::KernelRecipe& recipe, int make_jobs, bool refresh);

  /// The cached kernel of recipe if one is there and passes its checksum,
  /// without building or downloading anything.
  std::optional<KernelArtifact> cached(const config::KernelRecipe& recipe) const;

 private:
  KernelSourceTree source(const config::KernelRecipe& recipe, bool refresh);
  std::string toolchain_version(util::Arch arch) const;

  std::filesystem::path cache_;
  std::function<void(std::string_view)> log_;
  Status status_;
};

}  // namespace archmatrix::prepare
