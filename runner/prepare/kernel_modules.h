#pragma once
// The kernel modules a Debian kernel needs for the data channel
// (docs/protocol.md, "Data channel"): virtio_console and its transport, taken
// from the same linux-image package as the image, decompressed, in
// modules.dep order. Kept beside the image in the cache entry (modules/),
// fetched the first time a channel is asked for, so `run` never pays for it.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "prepare/debian_kernel.h"

namespace archmatrix::prepare {

/// Parses modules.dep into module name (basename without .ko*, '-' as '_')
/// -> {relative path, dependency names}. Pure.
struct ModuleDep {
  std::string path;
  std::vector<std::string> deps;
};
std::map<std::string, ModuleDep> parse_modules_dep(std::string_view text);

/// The names to load for `wanted`, dependencies first, each once; a wanted
/// name modules.dep does not list is taken as built in and skipped. Pure.
std::vector<std::string> module_load_order(const std::map<std::string, ModuleDep>& dep,
                                           const std::vector<std::string>& wanted);

/// The channel modules for a cached Debian kernel, in load order (files
/// inside the cache entry). Downloads the recorded linux-image package again
/// the first time. `transport`: "virtio_pci" or "virtio_mmio".
std::vector<std::filesystem::path> channel_modules(const std::filesystem::path& cache_root,
                                                   const DebianKernelSpec& spec, const KernelArtifact& kernel,
                                                   const std::string& transport,
                                                   const std::function<void(std::string_view)>& progress);

}  // namespace archmatrix::prepare
