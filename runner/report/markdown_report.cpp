#include "report/markdown_report.h"

#include <fmt/format.h>

#include <string_view>

#include "report/attribution.h"
#include "util/text_safe.h"

namespace archmatrix::report {

namespace {

using util::markdown_escape;
using verdict::Code;

// A summary is read on a CI page; the whole output is in report.json and
// report.html, so reasons are cut here.
constexpr std::size_t kReasonMax = 400;

std::string code_cell(Code c) {
  const std::string name(verdict::code_name(c));
  return verdict::is_failure(c) ? "**" + name + "**" : name;
}

std::string boot_text(double s) { return s < 0 ? "-" : fmt::format("{:.1f} s", s); }

std::string header(const RunSummary& s) {
  int failures = 0;
  for (const auto& [code, n] : totals(s))
    if (verdict::is_failure(code)) failures += n;
  std::string out = "# archmatrix report\n\n";
  out += failed(s) ? fmt::format("**FAILED**: {} failure{}", failures, failures == 1 ? "" : "s") : std::string("**passed**");
  if (s.interrupted) out += " (run interrupted)";
  out += "\n\n";
  out += fmt::format("matrix {} · started {} · {} cells · {:.1f} s · archmatrix {}\n", markdown_escape(s.matrix),
                     markdown_escape(s.started), s.cells.size(), s.wall_seconds, markdown_escape(s.archmatrix_version));
  return out;
}

std::string results_table(const RunSummary& s, const std::vector<CheckColumn>& cols) {
  std::string out = "\n## Results\n\n| cell | boot |";
  for (std::size_t i = 0; i < cols.size(); ++i) out += fmt::format(" [{}] |", i + 1);
  out += "\n|:--|--:|";
  for (std::size_t i = 0; i < cols.size(); ++i) out += ":-:|";
  out += "\n";
  for (const auto& c : s.cells) {
    out += "| " + markdown_escape(c.id) + " | " + boot_text(c.boot_seconds) + " |";
    for (const auto& col : cols) {
      const auto* r = find_result(c, col);
      out += " " + (r ? code_cell(r->code) : std::string("-")) + " |";
    }
    out += "\n";
  }
  out += "\n";
  for (std::size_t i = 0; i < cols.size(); ++i) out += fmt::format("- [{}] {}\n", i + 1, markdown_escape(cols[i].name()));

  std::string tally;
  int failures = 0;
  for (const auto& [code, n] : totals(s)) {
    tally += fmt::format("{}{} {}", tally.empty() ? "" : ", ", n, verdict::code_name(code));
    if (verdict::is_failure(code)) failures += n;
  }
  out += fmt::format("\n**Totals:** {}; {} failure{}", tally.empty() ? "no results" : tally, failures,
                     failures == 1 ? "" : "s");
  if (!s.skipped.empty()) out += fmt::format("; {} cell{} not planned", s.skipped.size(), s.skipped.size() == 1 ? "" : "s");
  return out + "\n";
}

// The predicate as a code span, which reads as the expression it is; only
// when nothing in it could end the span or the table cell.
std::string attribution_cell(const Attribution& a) {
  if (a.kind != Attribution::Kind::predicate) return markdown_escape(a.text);
  std::string expr;
  for (const auto& atom : a.atoms) expr += (expr.empty() ? "" : " && ") + atom.text();
  const std::string safe = util::document_text(expr);
  if (safe.find_first_of("`|\n\r") != std::string::npos) return markdown_escape(a.text);
  return "fails exactly when `" + safe + "`" + markdown_escape(fact_note(a.atoms));
}

std::string attribution_section(const std::vector<Attribution>& attr) {
  if (attr.empty()) return "";
  std::string out =
      "\n## Attribution\n\nWhere each check breaks (FAIL or XFAIL), over the cells where it passed or "
      "failed.\n\n| check | where it breaks | breaks on |\n|:--|:--|:--|\n";
  for (std::size_t i = 0; i < attr.size(); ++i) {
    const auto& a = attr[i];
    const auto n = a.breaking.size() + a.holding.size();
    out += fmt::format("| [{}] {} | {} | {} |\n", i + 1, markdown_escape(a.column.name()), attribution_cell(a),
                       n == 0 ? std::string("-") : fmt::format("{} of {} cells", a.breaking.size(), n));
  }
  return out;
}

std::string reasons_section(const RunSummary& s) {
  std::string out;
  for (const auto& c : s.cells) {
    for (const auto& m : c.fact_mismatches)
      out += fmt::format("- **WRONG GUEST** {}: {}\n", markdown_escape(c.id), markdown_escape(m, kReasonMax));
    if (!c.crash_title.empty())
      out += fmt::format("- **KERNEL CRASH** {}: {}\n", markdown_escape(c.id), markdown_escape(c.crash_title, kReasonMax));
    for (const auto& sc : c.scenarios)
      for (const auto& r : sc.results) {
        if (r.code == Code::PASS) continue;
        std::string why = r.message;
        if (!r.detail.empty()) why += "\n" + r.detail;
        out += fmt::format("- {} {} · {}: {}\n", code_cell(r.code), markdown_escape(c.id),
                           markdown_escape(CheckColumn{sc.scenario, r.check}.name()), markdown_escape(why, kReasonMax));
      }
  }
  for (const auto& k : s.skipped)
    out += fmt::format("- not planned {}: {} ({})\n", markdown_escape(k.id), markdown_escape(k.reason, kReasonMax),
                       markdown_escape(k.where));
  if (out.empty()) return "";
  return "\n## Not PASS\n\n" + out;
}

}  // namespace

std::string markdown_summary(const RunSummary& s) {
  const auto cols = check_columns(s);
  return header(s) + results_table(s, cols) + attribution_section(attribute(s)) + reasons_section(s);
}

}  // namespace archmatrix::report
