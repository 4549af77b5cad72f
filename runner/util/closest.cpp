#include "util/closest.h"

#include <algorithm>
#include <numeric>

namespace archmatrix::util {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> closest_names(std::string_view name, const std::vector<std::string>& known,
                                       std::size_t max) {
  std::vector<std::pair<std::size_t, std::size_t>> scored;  // (distance, index)
  for (std::size_t i = 0; i < known.size(); ++i) {
    const auto& k = known[i];
    std::size_t d = edit_distance(name, k);
    const bool contains = !name.empty() && (k.find(name) != std::string::npos || name.find(k) != std::string_view::npos);
    if (contains) d = std::min(d, std::size_t{1});
    if (contains || d * 2 <= std::max(name.size(), k.size())) scored.emplace_back(d, i);
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && out.size() < max; ++i) out.push_back(known[scored[i].second]);
  return out;
}

std::string closest_suffix(std::string_view name, const std::vector<std::string>& known) {
  std::string t;
  for (const auto& n : closest_names(name, known)) t += (t.empty() ? "; closest: " : ", ") + n;
  return t;
}

}  // namespace archmatrix::util
