#include "report/console_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

#include "util/text_safe.h"

namespace archmatrix::report {

namespace {

// Continuation lines of a multi-line reason are indented under it, so every
// line of guest text shows and the next note still starts at the margin.
constexpr std::string_view kNoteBreak = "\n      ";

std::string safe(std::string_view s) { return util::terminal_text(s, 200, kNoteBreak); }

// Ends a table row without the padding of its last column.
void end_row(std::string& out) {
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out += '\n';
}

std::string column_name(const std::string& scenario, const std::string& check) {
  return check.empty() ? scenario : scenario + "/" + check;
}

}  // namespace

std::string console_summary(const RunSummary& s) {
  std::vector<std::string> columns;
  std::set<std::string> seen;
  for (const auto& c : s.cells)
    for (const auto& sc : c.scenarios)
      for (const auto& r : sc.results) {
        auto name = column_name(sc.scenario, r.check);
        if (seen.insert(name).second) columns.push_back(name);
      }
  std::sort(columns.begin(), columns.end());

  // codes[row][column]; a column is as wide as its widest code or its "[k]".
  std::vector<std::vector<std::string>> codes(s.cells.size(), std::vector<std::string>(columns.size(), "-"));
  std::vector<std::size_t> width(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) width[i] = fmt::format("[{}]", i + 1).size();
  for (std::size_t ci = 0; ci < s.cells.size(); ++ci)
    for (const auto& sc : s.cells[ci].scenarios)
      for (const auto& r : sc.results) {
        const auto i = static_cast<std::size_t>(
            std::lower_bound(columns.begin(), columns.end(), column_name(sc.scenario, r.check)) - columns.begin());
        codes[ci][i] = std::string(verdict::code_name(r.code));
        width[i] = std::max(width[i], codes[ci][i].size());
      }

  std::size_t id_w = 4;
  for (const auto& c : s.cells) id_w = std::max(id_w, c.id.size());
  std::string out = fmt::format("{:<{}}  {:>6}", "cell", id_w, "boot");
  for (std::size_t i = 0; i < columns.size(); ++i) out += fmt::format("  {:<{}}", fmt::format("[{}]", i + 1), width[i]);
  end_row(out);
  for (std::size_t ci = 0; ci < s.cells.size(); ++ci) {
    const auto& c = s.cells[ci];
    out += fmt::format("{:<{}}  {:>6}", c.id, id_w,
                       c.boot_seconds < 0 ? std::string("-") : fmt::format("{:.1f}s", c.boot_seconds));
    for (std::size_t i = 0; i < columns.size(); ++i) out += fmt::format("  {:<{}}", codes[ci][i], width[i]);
    end_row(out);
  }
  for (std::size_t i = 0; i < columns.size(); ++i) out += fmt::format("[{}] {}\n", i + 1, safe(columns[i]));

  std::string notes;
  for (const auto& c : s.cells) {
    for (const auto& m : c.fact_mismatches) notes += fmt::format("  {}: WRONG GUEST: {}\n", c.id, safe(m));
    for (const auto& sc : c.scenarios)
      for (const auto& r : sc.results) {
        if (r.code == verdict::Code::PASS) continue;
        const bool every_attempt = !sc.attempts.empty() && verdict::is_failure(r.code);
        notes += fmt::format("  {} {}: {}: {}{}{}\n", verdict::code_name(r.code), c.id,
                             column_name(sc.scenario, r.check), safe(r.message),
                             every_attempt ? fmt::format(" (and on {} reruns)", sc.attempts.size() - 1) : "",
                             r.detail.empty() ? "" : " | " + safe(r.detail));
      }
  }
  for (const auto& k : s.skipped) notes += fmt::format("  SKIPPED {}: {}\n", k.id, safe(k.reason));
  if (!notes.empty()) out += "\n" + notes;

  std::string tally;
  for (const auto& [code, n] : totals(s)) tally += fmt::format("{}{} {}", tally.empty() ? "" : ", ", n, verdict::code_name(code));
  int failures = 0;
  for (const auto& [code, n] : totals(s))
    if (verdict::is_failure(code)) failures += n;
  out += fmt::format("\n{} cells, {}; {} failure{}{}\n", s.cells.size(), tally.empty() ? "no results" : tally,
                     failures, failures == 1 ? "" : "s", s.interrupted ? " (run interrupted)" : "");
  return out;
}

}  // namespace archmatrix::report
