#include "config/axes.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <utility>

#include "config/text_checks.h"

namespace archmatrix::config {

namespace {

constexpr std::array<AxisInfo, 6> kAxes{{
    {"page_size", AxisKind::kernel, "4K, 16K or 64K"},
    {"va_bits", AxisKind::kernel, "36, 39, 42, 47, 48 or 52"},
    {"vmsplit", AxisKind::kernel, "3G/1G or 2G/2G"},
    {"paging", AxisKind::machine, "4level or 5level"},
    {"release", AxisKind::kernel, "a kernel release such as 6.1, 6.12 or 7"},
    {"source", AxisKind::kernel, "debian or built"},
}};

// Valid arm64 (page size, VA bits) pairs, from arch/arm64/Kconfig
// (choice "Virtual address space size"): ARM64_VA_BITS_36 depends on
// ARM64_16K_PAGES; _39 on ARM64_4K_PAGES; _42 on ARM64_64K_PAGES; _47 on
// ARM64_16K_PAGES; _48 on any; _52 on 64K pages (since 5.4) and on 4K/16K
// pages with LPA2 (since 6.9). The figure is the user VA size the kernel is
// built for.
constexpr std::array<std::pair<int, int>, 10> kArm64PageVa{{
    {4096, 39}, {4096, 48}, {4096, 52},
    {16384, 36}, {16384, 47}, {16384, 48}, {16384, 52},
    {65536, 42}, {65536, 48}, {65536, 52},
}};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::span<const AxisInfo> all_axes() { return kAxes; }

const AxisInfo* find_axis(std::string_view name) {
  for (const auto& a : kAxes)
    if (a.name == name) return &a;
  return nullptr;
}

std::optional<std::string> normalize_axis_value(std::string_view axis, std::string_view value) {
  const std::string v = upper(value);
  if (axis == "page_size") {
    if (v == "4K" || v == "4KIB" || v == "4096") return "4096";
    if (v == "16K" || v == "16KIB" || v == "16384") return "16384";
    if (v == "64K" || v == "64KIB" || v == "65536") return "65536";
    return std::nullopt;
  }
  if (axis == "va_bits") {
    static const std::set<std::string> ok{"36", "39", "42", "47", "48", "52"};
    if (ok.count(v)) return v;
    return std::nullopt;
  }
  if (axis == "vmsplit") {
    if (v == "3G/1G") return "3G/1G";
    if (v == "2G/2G") return "2G/2G";
    return std::nullopt;
  }
  if (axis == "paging") {
    if (v == "4LEVEL" || v == "4") return "4level";
    if (v == "5LEVEL" || v == "5") return "5level";
    return std::nullopt;
  }
  if (axis == "release") {
    if (text::is_dotted_number(value)) return std::string(value);
    return std::nullopt;
  }
  if (axis == "source") {
    if (value == "debian" || value == "built") return std::string(value);
    return std::nullopt;
  }
  return std::nullopt;
}

std::string axis_label(std::string_view axis, std::string_view canonical) {
  if (axis == "page_size") return std::to_string(std::stoi(std::string(canonical)) / 1024) + "k";
  if (axis == "va_bits") return "va" + std::string(canonical);
  if (axis == "vmsplit") {
    std::string s;
    for (char c : canonical)
      if (c != '/') s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;  // 3g1g
  }
  if (axis == "paging") return canonical == "5level" ? "5lvl" : "4lvl";
  return std::string(canonical);
}

std::optional<std::string> invalid_combination(util::Arch arch, const AxisValues& axes) {
  const auto get = [&](const char* k) -> const std::string* {
    auto it = axes.find(k);
    return it == axes.end() ? nullptr : &it->second;
  };
  const std::string arch_name(util::arch_info(arch).name);
  if (const auto* ps = get("page_size"); ps && *ps != "4096" && arch != util::Arch::aarch64)
    return arch_name + " has only 4K pages (page_size " + *ps + " exists on aarch64 only)";
  if (const auto* vs = get("vmsplit"); vs && arch != util::Arch::armhf)
    return "vmsplit " + *vs + " is a 32-bit ARM setting (armhf only), not " + arch_name;
  if (const auto* pg = get("paging"); pg && arch != util::Arch::x86_64)
    return "paging " + *pg + " is an x86_64 setting, not " + arch_name;
  if (const auto* va = get("va_bits")) {
    if (arch != util::Arch::aarch64)
      return "va_bits is an aarch64 kernel setting; on " + arch_name +
             " the VA size follows from the architecture (or the paging/vmsplit axis)";
    const auto* ps = get("page_size");
    const int page = ps ? std::stoi(*ps) : 4096;
    const int bits = std::stoi(*va);
    const bool ok = std::any_of(kArm64PageVa.begin(), kArm64PageVa.end(),
                                [&](auto p) { return p.first == page && p.second == bits; });
    if (!ok) {
      std::string allowed;
      for (auto [p, b] : kArm64PageVa)
        if (p == page) allowed += (allowed.empty() ? "" : ", ") + std::to_string(b);
      return "aarch64 with " + std::to_string(page / 1024) + "K pages cannot have a " + *va +
             "-bit VA (arch/arm64/Kconfig allows " + allowed + ")";
    }
  }
  return std::nullopt;
}

}  // namespace archmatrix::config
