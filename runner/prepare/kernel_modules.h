#pragma once
// The kernel modules a Debian kernel needs for the data channel
// (docs/protocol.md, "Data channel"): virtio_console and its transport (and,
// for exec's shares, the virtio-9p client), taken from the same linux-image
// package as the image (or, from 7.x on, linux-modules-<release> of the same
// version), decompressed, dependencies
// first. Debian's packages carry no modules.dep (depmod makes it at install
// time) and the host may have no kmod, so the order comes from each module's
// own `.modinfo` "depends=" string. Kept beside the image in the cache entry (modules/),
// fetched the first time a channel is asked for, so `run` never pays for it.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "prepare/debian_kernel.h"

namespace archmatrix::prepare {

/// A module: its file and the names it depends on ('-' written as '_').
struct ModuleDep {
  std::string path;
  std::vector<std::string> deps;
};

/// Writes the plain module `out` from `ko` (.ko, .ko.xz, .ko.zst or .ko.gz;
/// xz, zstd or gzip run with argv only, so any file name is safe). Throws
/// util::Error when the tool fails.
void decompress_module(const std::filesystem::path& ko, const std::filesystem::path& out);

/// The module names in the "depends=a,b" string of a module's .modinfo
/// section, found in the (uncompressed) .ko bytes. Pure.
std::vector<std::string> modinfo_depends(std::string_view ko);

/// The names to load for `wanted`, dependencies first, each once; a name
/// `dep` does not list is taken as built in and skipped. Pure.
std::vector<std::string> module_load_order(const std::map<std::string, ModuleDep>& dep,
                                           const std::vector<std::string>& wanted);

/// The channel modules for a cached Debian kernel, in load order (files
/// inside the cache entry). Downloads the recorded linux-image package again
/// the first time. `transport`: "virtio_pci" or "virtio_mmio". `shares`: also
/// the virtio-9p client (9pnet, 9pnet_virtio, 9p and what they depend on,
/// netfs and fscache on 6.1) for exec's shared directories; kept in its own
/// directory, so a set without them is never mistaken for one with.
std::vector<std::filesystem::path> channel_modules(const std::filesystem::path& cache_root,
                                                   const DebianKernelSpec& spec, const KernelArtifact& kernel,
                                                   const std::string& transport, bool shares,
                                                   const std::function<void(std::string_view)>& progress);

}  // namespace archmatrix::prepare
