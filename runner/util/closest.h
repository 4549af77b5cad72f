#pragma once
// "Did you mean": the known names nearest to a mistyped one, for one-line
// errors about unknown cells and scenarios.

#include <string>
#include <string_view>
#include <vector>

namespace archmatrix::util {

/// Edit distance (insertions, deletions, substitutions) between a and b.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// Up to `max` of `known`, nearest first (ties in the given order); names
/// that contain `name` or are contained in it count as near. Only names
/// within half the longer length are offered: a guess that far off helps
/// nobody.
std::vector<std::string> closest_names(std::string_view name, const std::vector<std::string>& known,
                                       std::size_t max = 3);

/// "; closest: a, b" for an error message about `name`, or "" when nothing
/// is near.
std::string closest_suffix(std::string_view name, const std::vector<std::string>& known);

}  // namespace archmatrix::util
