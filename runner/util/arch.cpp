#include "util/arch.h"

#include <array>

namespace archmatrix::util {

namespace {
constexpr std::array<ArchInfo, 3> kArches{{
    {Arch::aarch64, "aarch64", "arm64", "aarch64-linux-gnu", 2, 183, false},
    {Arch::armhf, "armhf", "armhf", "arm-linux-gnueabihf", 1, 40, true},
    {Arch::x86_64, "x86_64", "amd64", "x86_64-linux-gnu", 2, 62, false},
}};
}  // namespace

std::span<const ArchInfo> all_arches() { return kArches; }

const ArchInfo& arch_info(Arch a) {
  for (const auto& info : kArches)
    if (info.arch == a) return info;
  return kArches[0];  // unreachable: every enumerator has a row
}

std::optional<Arch> parse_arch(std::string_view name) {
  for (const auto& info : kArches)
    if (info.name == name) return info.arch;
  return std::nullopt;
}

}  // namespace archmatrix::util
