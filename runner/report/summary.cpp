#include "report/summary.h"

#include <array>

namespace archmatrix::report {

namespace {
// Most severe first: what needs a human soonest.
constexpr std::array<verdict::Code, 10> kSeverity{
    verdict::Code::ERROR,  verdict::Code::CRASH, verdict::Code::TIMEOUT,
    verdict::Code::XPASS,  verdict::Code::FAIL,  verdict::Code::NOTRUN,
    verdict::Code::FLAKY,  verdict::Code::XFAIL, verdict::Code::PASS,
    verdict::Code::UNSUPPORTED,
};
}  // namespace

verdict::Code worst(const std::vector<verdict::Code>& codes) {
  for (auto c : kSeverity)
    for (auto have : codes)
      if (have == c) return c;
  return verdict::Code::ERROR;  // no result at all is itself an error
}

std::map<verdict::Code, int> totals(const RunSummary& s) {
  std::map<verdict::Code, int> t;
  for (const auto& c : s.cells)
    for (const auto& sc : c.scenarios)
      for (const auto& r : sc.results) ++t[r.code];
  return t;
}

std::vector<std::string> missing_cells(const RunSummary& s) {
  std::vector<std::string> out;
  // A shard answers only for its own cells; the rest are other shards' work.
  if (!s.shard.empty()) return out;
  for (const auto& id : s.planned_cells) {
    bool present = false;
    for (const auto& c : s.cells) present = present || c.id == id;
    if (!present) out.push_back(id);
  }
  return out;
}

bool failed(const RunSummary& s) {
  if (s.interrupted || !missing_cells(s).empty()) return true;
  // A crash is never a pass, even when it came after the last result.
  for (const auto& c : s.cells)
    if (c.end == "crashed") return true;
  for (const auto& [code, n] : totals(s))
    if (n > 0 && verdict::is_failure(code)) return true;
  return false;
}

}  // namespace archmatrix::report
