#pragma once
// A kernel image is checked against its cell's architecture before it boots,
// like every guest binary (seed 004: a host or wrong-target artefact must
// never slip into a guest). The boot headers say which arch an image is for:
// arm64 Image ("ARM\x64" at 0x38), 32-bit ARM zImage (0x016f2818 at 0x24),
// x86 bzImage ("HdrS" at 0x202). Debian's arm64 vmlinuz is a gzip-compressed
// Image; its header is read through the decompressor.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/arch.h"

namespace archmatrix::prepare {

/// What is wrong with an image whose first bytes are head (uncompressed), or
/// nullopt when it is a boot image for arch. Pure.
std::optional<std::string> kernel_image_problem(std::string_view head, util::Arch arch);

/// Reads the first bytes of the image (through gzip if it is compressed)
/// and throws util::Error naming the file when it is not for arch.
void require_kernel_image(const std::filesystem::path& image, util::Arch arch);

}  // namespace archmatrix::prepare
