#include "report/rerun.h"

#include <fmt/format.h>

namespace archmatrix::report {

using verdict::Code;
using verdict::is_failure;

namespace {

bool any_failure(const ScenarioRow& s) {
  for (const auto& r : s.results)
    if (is_failure(r.code)) return true;
  return s.results.empty();  // no result at all is not a pass
}

// "check: FAIL: message", or "FAIL: message" for a scenario without checks.
std::string result_text(const ResultRow& r) {
  return (r.check.empty() ? "" : r.check + ": ") + std::string(verdict::code_name(r.code)) +
         (r.message.empty() ? "" : ": " + r.message);
}

// What an attempt says in one line: its first failure, else its first result.
std::string attempt_text(const ScenarioRow& s) {
  for (const auto& r : s.results)
    if (is_failure(r.code)) return result_text(r);
  return s.results.empty() ? "no result" : result_text(s.results.front());
}

const ResultRow* same_check(const ScenarioRow& s, const std::string& check) {
  for (const auto& r : s.results)
    if (r.check == check) return &r;
  return nullptr;
}

}  // namespace

std::vector<std::string> rerun_candidates(const CellSummary& c) {
  std::vector<std::string> out;
  if (c.end == "host_error" || c.end == "interrupted" || c.end == "not_run" || !c.fact_mismatches.empty())
    return out;
  for (const auto& s : c.scenarios)
    if (any_failure(s) && s.code != Code::UNSUPPORTED) out.push_back(s.scenario);
  return out;
}

AttemptRow attempt_of(const ScenarioRow& row, int attempt, const std::string& console_log) {
  AttemptRow a;
  a.attempt = attempt;
  a.code = row.code;
  a.status = row.status;
  a.value = row.value;
  a.duration_ms = row.duration_ms;
  a.message = attempt_text(row);
  a.console_log = console_log;
  return a;
}

bool fold_rerun(ScenarioRow& row, const ScenarioRow& again, int attempt, const std::string& console_log,
                const std::string& first_console_log) {
  if (row.attempts.empty()) row.attempts.push_back(attempt_of(row, 1, first_console_log));
  row.attempts.push_back(attempt_of(again, attempt, console_log));
  if (any_failure(again)) return true;

  std::vector<Code> codes;
  for (auto& r : row.results) {
    if (is_failure(r.code)) {
      const auto* now = same_check(again, r.check);
      const std::string passed = now ? fmt::format("{} on attempt {}", verdict::code_name(now->code), attempt)
                                     : fmt::format("no failure on attempt {}", attempt);
      r.message = fmt::format("{} on attempt 1{}; {}", verdict::code_name(r.code),
                              r.message.empty() ? "" : " (" + r.message + ")", passed);
      r.code = Code::FLAKY;
    }
    codes.push_back(r.code);
  }
  row.code = worst(codes);
  return false;
}

}  // namespace archmatrix::report
