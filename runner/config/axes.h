#pragma once
// The matrix axes: their names, accepted spellings, canonical values, and
// which combinations exist at all. This is the one place that knows them.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "util/arch.h"

namespace archmatrix::config {

enum class AxisKind {
  kernel,   ///< decided by which kernel is booted (the recipe must provide it)
  machine,  ///< decided by the QEMU machine or kernel command line
};

struct AxisInfo {
  std::string_view name;
  AxisKind kind;
  std::string_view accepted;  ///< for error messages: what values look like
};

/// Axis name -> canonical value, e.g. {"page_size": "16384", "va_bits": "47"}.
using AxisValues = std::map<std::string, std::string>;

/// The axes in their canonical order (the order of cell ids and report columns).
std::span<const AxisInfo> all_axes();
const AxisInfo* find_axis(std::string_view name);

/// Canonical form of a user-written value ("16K" -> "16384", "2g/2g" -> "2G/2G"),
/// or nullopt with nothing else when the value is not one the axis accepts.
std::optional<std::string> normalize_axis_value(std::string_view axis, std::string_view value);

/// Short label of a canonical value for cell ids ("16384" -> "16k", "48" -> "va48").
std::string axis_label(std::string_view axis, std::string_view canonical);

/// Why this combination cannot exist (for arch and whichever axes are set),
/// or nullopt when it can. Never remaps a value to a neighbour.
std::optional<std::string> invalid_combination(util::Arch arch, const AxisValues& axes);

}  // namespace archmatrix::config
