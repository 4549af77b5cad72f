#include "report/diff_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "report/attribution.h"
#include "util/text_safe.h"

namespace archmatrix::report {

namespace {

using util::markdown_escape;
using verdict::Code;

// (cell, check) -> result, over a whole run.
using ResultMap = std::map<std::pair<std::string, std::string>, const ResultRow*>;

ResultMap results_of(const RunSummary& s) {
  ResultMap m;
  for (const auto& c : s.cells)
    for (const auto& sc : c.scenarios)
      for (const auto& r : sc.results) m.emplace(std::pair{c.id, CheckColumn{sc.scenario, r.check}.name()}, &r);
  return m;
}

std::map<std::string, const CellSummary*> cells_of(const RunSummary& s) {
  std::map<std::string, const CellSummary*> m;
  for (const auto& c : s.cells) m.emplace(c.id, &c);
  return m;
}

std::string kernel_text(const KernelInfo& k) {
  if (!k.package.empty()) return k.package + " " + k.version;
  return k.release;
}

// What appeared or vanished: whole cells, then scenarios of common cells,
// then checks of common scenarios.
void presence(const RunSummary& from, const RunSummary& to, std::vector<std::string>& out) {
  const auto to_cells = cells_of(to);
  for (const auto& c : from.cells) {
    auto it = to_cells.find(c.id);
    if (it == to_cells.end()) {
      out.push_back(c.id);
      continue;
    }
    for (const auto& sc : c.scenarios) {
      const auto* other = find_scenario(*it->second, sc.scenario);
      if (!other) {
        out.push_back(c.id + ": " + sc.scenario);
        continue;
      }
      for (const auto& r : sc.results)
        if (!find_result(*it->second, {sc.scenario, r.check}))
          out.push_back(c.id + ": " + CheckColumn{sc.scenario, r.check}.name());
    }
  }
  std::sort(out.begin(), out.end());
}

// MemTotal moves by a few KiB between boots of one guest (measured: 4 KiB on
// x86_64 6.12, what the firmware and the kernel reserve varies); a change of
// the guest's memory size (-m) is far above 1%.
bool same_memory(const std::string& a, const std::string& b) {
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a), y = std::strtod(b.c_str(), &end_b);
  if (a.empty() || b.empty() || *end_a != '\0' || *end_b != '\0' || x <= 0 || y <= 0) return false;
  return std::abs(x - y) <= 0.01 * std::max(x, y);
}

void facts_and_kernels(const RunSummary& before, const RunSummary& after, Diff& d) {
  const auto old_cells = cells_of(before);
  for (const auto& [id, now] : cells_of(after)) {
    auto it = old_cells.find(id);
    if (it == old_cells.end()) continue;
    const auto& was = *it->second;
    std::set<std::string> keys;
    for (const auto& [k, v] : was.facts) keys.insert(k);
    for (const auto& [k, v] : now->facts) keys.insert(k);
    for (const auto& k : keys) {
      // Where an unhinted mapping landed is randomised by ASLR at every boot;
      // the window it stands for is va_bits_default, which is compared.
      if (k == "mmap_default_top") continue;
      auto a = was.facts.find(k), b = now->facts.find(k);
      std::string va = a == was.facts.end() ? "" : a->second, vb = b == now->facts.end() ? "" : b->second;
      if (va != vb && !(k == "mem_total_kib" && same_memory(va, vb))) d.fact_changes.push_back({id, k, va, vb});
    }
    if (kernel_text(was.kernel) != kernel_text(now->kernel))
      d.kernel_changes.push_back({id, kernel_text(was.kernel), kernel_text(now->kernel)});
  }
}

std::string code_text(const std::optional<Code>& c) { return c ? std::string(verdict::code_name(*c)) : "absent"; }

std::string tally(const Diff& d) {
  return fmt::format("{} new failure{}, {} fixed, {} newly XPASS; {}", d.new_failures.size(),
                     d.new_failures.size() == 1 ? "" : "s", d.fixed.size(), d.newly_xpass.size(),
                     d.regressions ? "regressions" : "no regressions");
}

// Identity of a cell's outcome for merge: its codes per check.
std::map<std::string, Code> codes_of(const CellSummary& c) {
  std::map<std::string, Code> m;
  for (const auto& sc : c.scenarios)
    for (const auto& r : sc.results) m[CheckColumn{sc.scenario, r.check}.name()] = r.code;
  return m;
}

bool never_ran(const CellSummary& c) {
  for (const auto& sc : c.scenarios)
    for (const auto& r : sc.results)
      if (r.code != Code::NOTRUN) return false;
  return true;
}

std::string first_difference(const CellSummary& a, const CellSummary& b) {
  const auto ca = codes_of(a), cb = codes_of(b);
  std::set<std::string> keys;
  for (const auto& [k, v] : ca) keys.insert(k);
  for (const auto& [k, v] : cb) keys.insert(k);
  for (const auto& k : keys) {
    auto x = ca.find(k), y = cb.find(k);
    std::optional<Code> cx, cy;
    if (x != ca.end()) cx = x->second;
    if (y != cb.end()) cy = y->second;
    if (cx != cy) return fmt::format("{}: {} vs {}", k, code_text(cx), code_text(cy));
  }
  return "";
}

}  // namespace

Diff diff_runs(const RunSummary& before, const RunSummary& after) {
  Diff d;
  const auto old_results = results_of(before);
  for (const auto& [key, r] : results_of(after)) {
    auto it = old_results.find(key);
    std::optional<Code> was;
    if (it != old_results.end()) was = it->second->code;
    CodeChange ch{key.first, key.second, was, r->code, r->message};
    const bool fails_now = verdict::is_failure(r->code), failed_before = was && verdict::is_failure(*was);
    if (r->code == Code::XPASS && was != Code::XPASS) {
      d.newly_xpass.push_back(std::move(ch));
    } else if (fails_now && !failed_before) {
      d.new_failures.push_back(std::move(ch));
    } else if (was && failed_before && !fails_now) {
      d.fixed.push_back(std::move(ch));
    } else if (was && *was != r->code) {
      d.other_changes.push_back(std::move(ch));
    }
  }
  presence(after, before, d.appeared);
  presence(before, after, d.vanished);
  facts_and_kernels(before, after, d);
  d.regressions = !d.new_failures.empty() || !d.newly_xpass.empty();
  return d;
}

std::string diff_text(const Diff& d) {
  std::string out;
  const auto changes = [&](const char* title, const std::vector<CodeChange>& v) {
    if (v.empty()) return;
    out += fmt::format("{} ({}):\n", title, v.size());
    for (const auto& c : v)
      out += fmt::format("  {} {}: {} -> {}: {}\n", util::terminal_text(c.cell), util::terminal_text(c.check), code_text(c.before),
                         verdict::code_name(c.after), util::terminal_text(c.message));
  };
  const auto names = [&](const char* title, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out += fmt::format("{} ({}):\n", title, v.size());
    for (const auto& n : v) out += "  " + util::terminal_text(n) + "\n";
  };
  changes("new failures", d.new_failures);
  changes("newly XPASS", d.newly_xpass);
  changes("fixed", d.fixed);
  changes("other changes", d.other_changes);
  names("appeared", d.appeared);
  names("vanished", d.vanished);
  if (!d.fact_changes.empty()) {
    out += fmt::format("facts changed ({}):\n", d.fact_changes.size());
    for (const auto& f : d.fact_changes)
      out += fmt::format("  {}: {} {} -> {}\n", util::terminal_text(f.cell), util::terminal_text(f.fact),
                         f.before.empty() ? "(none)" : util::terminal_text(f.before), f.after.empty() ? "(none)" : util::terminal_text(f.after));
  }
  if (!d.kernel_changes.empty()) {
    out += fmt::format("kernel changed ({}):\n", d.kernel_changes.size());
    for (const auto& k : d.kernel_changes)
      out += fmt::format("  {}: {} -> {}\n", util::terminal_text(k.cell), util::terminal_text(k.before), util::terminal_text(k.after));
  }
  if (out.empty()) out = "no differences\n";
  return out + tally(d) + "\n";
}

std::string diff_markdown(const Diff& d) {
  std::string out = "# archmatrix diff\n\n" + tally(d) + "\n";
  const auto changes = [&](const char* title, const std::vector<CodeChange>& v) {
    if (v.empty()) return;
    out += fmt::format("\n## {} ({})\n\n| cell | check | before | after | reason |\n|:--|:--|:--|:--|:--|\n", title, v.size());
    for (const auto& c : v)
      out += fmt::format("| {} | {} | {} | {} | {} |\n", markdown_escape(c.cell), markdown_escape(c.check),
                         code_text(c.before), verdict::code_name(c.after), markdown_escape(c.message, 300));
  };
  const auto names = [&](const char* title, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out += fmt::format("\n## {} ({})\n\n", title, v.size());
    for (const auto& n : v) out += "- " + markdown_escape(n) + "\n";
  };
  changes("New failures", d.new_failures);
  changes("Newly XPASS", d.newly_xpass);
  changes("Fixed", d.fixed);
  changes("Other changes", d.other_changes);
  names("Appeared", d.appeared);
  names("Vanished", d.vanished);
  if (!d.fact_changes.empty()) {
    out += fmt::format("\n## Facts changed ({})\n\n| cell | fact | before | after |\n|:--|:--|:--|:--|\n", d.fact_changes.size());
    for (const auto& f : d.fact_changes)
      out += fmt::format("| {} | {} | {} | {} |\n", markdown_escape(f.cell), markdown_escape(f.fact),
                         f.before.empty() ? "-" : markdown_escape(f.before), f.after.empty() ? "-" : markdown_escape(f.after));
  }
  if (!d.kernel_changes.empty()) {
    out += fmt::format("\n## Kernel changed ({})\n\n| cell | before | after |\n|:--|:--|:--|\n", d.kernel_changes.size());
    for (const auto& k : d.kernel_changes)
      out += fmt::format("| {} | {} | {} |\n", markdown_escape(k.cell), markdown_escape(k.before), markdown_escape(k.after));
  }
  return out;
}

RunSummary merge(const std::vector<RunSummary>& runs, std::vector<std::string>* notes) {
  std::vector<std::string> local;
  auto& out_notes = notes ? *notes : local;
  RunSummary m;
  if (runs.empty()) return m;
  m.archmatrix_version = runs.front().archmatrix_version;
  m.matrix = runs.front().matrix;
  m.started = runs.front().started;
  std::map<std::string, std::pair<CellSummary, std::size_t>> cells;  // id -> cell, input index
  std::map<std::string, SkippedRow> skipped;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    if (r.matrix != m.matrix)
      out_notes.push_back(fmt::format("input {} is of matrix {}, input 1 of {}", i + 1, r.matrix, m.matrix));
    if (r.archmatrix_version != m.archmatrix_version)
      out_notes.push_back(fmt::format("input {} is from archmatrix {}, input 1 from {}", i + 1, r.archmatrix_version,
                                      m.archmatrix_version));
    if (!r.started.empty() && (m.started.empty() || r.started < m.started)) m.started = r.started;  // ISO 8601 sorts
    m.wall_seconds = std::max(m.wall_seconds, r.wall_seconds);
    m.interrupted = m.interrupted || r.interrupted;
    for (const auto& k : r.skipped) skipped.emplace(k.id, k);
    for (const auto& id : r.planned_cells)
      if (std::find(m.planned_cells.begin(), m.planned_cells.end(), id) == m.planned_cells.end())
        m.planned_cells.push_back(id);
    for (const auto& c : r.cells) {
      auto [it, inserted] = cells.emplace(c.id, std::pair{c, i});
      if (inserted) continue;
      auto& [kept, from] = it->second;
      // A shard that did not run a cell may still list it as NOTRUN: the
      // input that ran it is the one that knows.
      if (never_ran(c)) continue;
      if (never_ran(kept)) {
        kept = c;
        from = i;
        continue;
      }
      if (auto why = first_difference(kept, c); !why.empty())
        out_notes.push_back(fmt::format("conflict: cell {} differs between input {} and input {} ({}); keeping input {}",
                                        c.id, from + 1, i + 1, why, from + 1));
    }
  }
  for (auto& [id, entry] : cells) {
    if (never_ran(entry.first) && !entry.first.scenarios.empty())
      out_notes.push_back(fmt::format("missing: cell {} was run by no input (all NOTRUN)", id));
    m.cells.push_back(std::move(entry.first));
  }
  for (auto& [id, k] : skipped)
    if (!cells.count(id)) m.skipped.push_back(std::move(k));
  std::sort(m.planned_cells.begin(), m.planned_cells.end());
  for (const auto& id : missing_cells(m))
    out_notes.push_back(fmt::format("missing: cell {} is planned but in no input (a shard that never reported?)", id));
  return m;
}

}  // namespace archmatrix::report
