#include "verdict/verdict.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <optional>
#include <sstream>

namespace archmatrix::verdict {

namespace {

using Facts = std::map<std::string, std::string>;

/// The check name of a scenario's abnormal end (declared check names cannot
/// contain parentheses, so it never collides with one).
constexpr const char* kExitCheck = "(exit)";

struct CheckLine {
  bool pass;
  std::string detail;
};

// "ARCHMATRIX-CHECK <name> PASS|FAIL <text>" lines of a scenario's stdout.
// The first report of a name wins; a conflicting later one is noted.
std::map<std::string, CheckLine> parse_checks(const std::string& out,
                                              std::vector<std::string>& conflicts) {
  std::map<std::string, CheckLine> checks;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    constexpr std::string_view tag = "ARCHMATRIX-CHECK ";
    if (line.rfind(tag, 0) != 0) continue;
    std::istringstream ls(line.substr(tag.size()));
    std::string name, verdict;
    ls >> name >> verdict;
    if (verdict != "PASS" && verdict != "FAIL") continue;
    std::string detail;
    std::getline(ls, detail);
    if (!detail.empty() && detail.front() == ' ') detail.erase(0, 1);
    auto [it, inserted] = checks.emplace(name, CheckLine{verdict == "PASS", detail});
    if (!inserted && it->second.pass != (verdict == "PASS")) conflicts.push_back(name);
  }
  return checks;
}

std::string signal_text(const std::string& value) {
  int sig = 0;
  try {
    sig = std::stoi(value);
  } catch (...) {
    return "killed by signal " + value;
  }
  const char* abbrev = sigabbrev_np(sig);
  return "killed by signal " + value + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

std::string hex_or_dec(const std::string& v) { return v; }

std::optional<unsigned long long> parse_number(const std::string& s) {
  try {
    std::size_t pos = 0;
    const unsigned long long v = std::stoull(s, &pos, 0);
    if (pos == s.size()) return v;
  } catch (...) {
  }
  return std::nullopt;
}

// The program of a scenario with checks ends with exit 0, or exit 1 when one
// of its checks reported FAIL (the convention every scenario follows). Any
// other end (a signal, a timeout, another status, a failure to start) is a
// result of its own, so a crash after the last check is never silent: the
// code and message of that "(exit)" result, or nullopt for a normal end.
std::optional<std::pair<Code, std::string>> abnormal_end(const ScenarioRun& sr,
                                                         const std::map<std::string, CheckLine>& reported,
                                                         const std::string& how) {
  if (sr.status == "exit") {
    if (sr.value == "0") return std::nullopt;
    const bool some_fail = std::any_of(reported.begin(), reported.end(), [](const auto& c) { return !c.second.pass; });
    if (sr.value == "1" && some_fail) return std::nullopt;
  }
  const Code code = sr.status == "timeout" ? Code::TIMEOUT
                    : sr.status == "exit" || sr.status == "signal" ? Code::FAIL
                                                                    : Code::ERROR;
  return std::pair{code, "the scenario's program ended abnormally: " + how};
}

// Why a cell's scenarios have no result of their own, from how the cell ended.
struct Missing {
  Code running_code;  ///< for the scenario that was running when it ended
  Code rest_code;     ///< for those never started
  std::string why;
};

Missing missing_for(const CellRun& run) {
  const std::string& d = run.end_detail;
  switch (run.end) {
    case CellEnd::boot_timeout: return {Code::TIMEOUT, Code::TIMEOUT, "guest did not boot: " + d};
    case CellEnd::no_output_timeout:
    case CellEnd::overall_timeout: return {Code::TIMEOUT, Code::NOTRUN, d};
    case CellEnd::crashed:
      return {Code::CRASH, Code::NOTRUN, "kernel crash: " + run.crash_title};
    case CellEnd::qemu_exited: return {Code::ERROR, Code::NOTRUN, "QEMU exited early: " + d};
    case CellEnd::start_failed: return {Code::ERROR, Code::ERROR, "QEMU did not start: " + d};
    case CellEnd::host_error: return {Code::ERROR, Code::ERROR, d};
    case CellEnd::interrupted: return {Code::NOTRUN, Code::NOTRUN, "run interrupted"};
    case CellEnd::not_run: return {Code::NOTRUN, Code::NOTRUN, "not run"};
    case CellEnd::completed:
      return {Code::ERROR, Code::ERROR, "the agent finished without reporting this scenario"};
  }
  return {Code::ERROR, Code::ERROR, "unknown cell end"};
}

void apply_expectations(Result& r, const std::vector<config::Expectation>& xfail,
                        const plan::Cell& cell, const Facts* facts) {
  if (r.code != Code::PASS && r.code != Code::FAIL) return;
  const auto m = plan::match_expectation(xfail, "xfail", cell, facts);
  if (!m.error.empty()) {
    r.code = Code::ERROR;
    r.message = m.error;
    return;
  }
  if (!m.match) return;
  const auto& e = *m.match;
  const std::string why = e.reason + (e.ref.empty() ? "" : " [" + e.ref + "]");
  if (r.code == Code::FAIL) {
    r.code = Code::XFAIL;
    r.message = "expected failure where " + e.when_text + ": " + why;
  } else {
    r.code = Code::XPASS;
    r.message = "passed where " + e.when_text + " was expected to fail: " + why;
  }
}

}  // namespace

std::string_view code_name(Code c) {
  switch (c) {
    case Code::PASS: return "PASS";
    case Code::FAIL: return "FAIL";
    case Code::XFAIL: return "XFAIL";
    case Code::XPASS: return "XPASS";
    case Code::UNSUPPORTED: return "UNSUPPORTED";
    case Code::TIMEOUT: return "TIMEOUT";
    case Code::CRASH: return "CRASH";
    case Code::ERROR: return "ERROR";
    case Code::NOTRUN: return "NOTRUN";
    case Code::FLAKY: return "FLAKY";
  }
  return "?";
}

bool is_failure(Code c) {
  switch (c) {
    case Code::PASS:
    case Code::XFAIL:
    case Code::UNSUPPORTED:
    case Code::FLAKY: return false;
    case Code::FAIL:
    case Code::XPASS:
    case Code::TIMEOUT:
    case Code::CRASH:
    case Code::ERROR:
    case Code::NOTRUN: return true;
  }
  return true;
}

std::vector<std::string> check_facts(const plan::Cell& cell, const Facts& facts) {
  std::vector<std::string> bad;
  const auto fact = [&](const char* k) -> const std::string* {
    auto it = facts.find(k);
    return it == facts.end() ? nullptr : &it->second;
  };
  const auto axis = [&](const char* k) -> const std::string* {
    auto it = cell.axes.find(k);
    return it == cell.axes.end() ? nullptr : &it->second;
  };
  const auto need = [&](const char* k) -> const std::string* {
    const auto* f = fact(k);
    if (!f) bad.push_back(std::string(k) + ": the guest did not report it");
    return f;
  };
  const auto mismatch = [&](const std::string& what, const std::string& has, const std::string& says) {
    bad.push_back(what + ": guest has " + has + ", cell says " + says);
  };

  if (const auto* m = need("machine")) {
    const bool ok = cell.arch == util::Arch::aarch64  ? *m == "aarch64"
                    : cell.arch == util::Arch::x86_64 ? *m == "x86_64"
                                                      : m->rfind("armv7", 0) == 0 || *m == "armv8l";
    if (!ok) mismatch("machine", *m, std::string(util::arch_info(cell.arch).name));
  }
  if (const auto* ps = axis("page_size"))
    if (const auto* f = need("page_size"); f && *f != *ps) mismatch("page_size", *f, *ps);
  if (const auto* va = axis("va_bits")) {
    if (const auto* f = need("va_bits"); f && *f != *va) mismatch("va_bits (with a hint)", *f, *va);
    const std::string want_default =
        cell.kernel && !cell.kernel->va_bits_default.empty() ? cell.kernel->va_bits_default : *va;
    if (const auto* f = need("va_bits_default"); f && *f != want_default)
      mismatch("va_bits_default (unhinted mmap window)", *f, want_default);
  }
  if (const auto* pg = axis("paging")) {
    const std::string want = *pg == "5level" ? "56" : "47";
    if (const auto* f = need("va_bits"); f && *f != want)
      mismatch("va_bits (" + *pg + " paging)", *f, want);
  }
  if (const auto* vs = axis("vmsplit")) {
    if (const auto* f = need("user_top")) {
      const auto top = parse_number(*f);
      // TASK_SIZE is PAGE_OFFSET minus 16 MiB for modules on arm: near, not at, the split.
      const unsigned long long split = *vs == "2G/2G" ? 0x80000000ull : 0xC0000000ull;
      if (!top || *top > split || *top < split - 0x10000000ull)
        mismatch("user_top (" + *vs + " split)", *f, "just below " + hex_or_dec(std::to_string(split)));
    }
  }
  if (const auto* rel = axis("release"))
    if (const auto* f = need("kernel_release"); f && !plan::release_matches(*rel, *f))
      mismatch("kernel release", *f, *rel + ".*");
  return bad;
}

CellVerdict judge(const plan::Cell& cell, const CellRun& run) {
  CellVerdict v;
  v.cell_id = cell.id;
  const Facts* facts = run.facts ? &*run.facts : nullptr;
  if (facts) v.fact_mismatches = check_facts(cell, *facts);
  std::string wrong_guest;
  for (const auto& m : v.fact_mismatches) wrong_guest += (wrong_guest.empty() ? "" : "; ") + m;

  const Missing missing = missing_for(run);
  for (const auto& ps : cell.scenarios) {
    const auto& spec = *ps.spec;
    std::vector<std::string> names;
    for (const auto& c : spec.checks) names.push_back(c.name);
    if (names.empty()) names.push_back("");
    const auto add = [&](const std::string& check, Code code, std::string message,
                         std::string detail = {}) {
      v.results.push_back({spec.name, check, code, std::move(message), std::move(detail)});
    };

    // Decided at plan time from the axes; the facts can only add to it.
    bool unsupported = ps.unsupported;
    std::string unsupported_reason = ps.unsupported_reason;
    if (!unsupported && facts) {
      const auto m = plan::match_expectation(spec.unsupported, "unsupported", cell, facts);
      if (!m.error.empty()) {
        for (const auto& n : names) add(n, Code::ERROR, m.error);
        continue;
      }
      if (m.match) {
        unsupported = true;
        unsupported_reason = plan::expectation_reason(*m.match);
      }
    }
    if (unsupported) {
      for (const auto& n : names) add(n, Code::UNSUPPORTED, unsupported_reason);
      continue;
    }

    const ScenarioRun* sr = nullptr;
    for (const auto& s : run.scenarios)
      if (s.name == spec.name) sr = &s;

    if (!sr || !sr->finished) {
      const bool running = sr && sr->begun;
      const bool before_boot = !facts;
      Code code = running ? missing.running_code : missing.rest_code;
      std::string why = missing.why;
      if (before_boot && (run.end == CellEnd::crashed || run.end == CellEnd::qemu_exited)) {
        code = missing.running_code;  // the cell died booting: that is this scenario's fate too
      } else if (!running && code == Code::NOTRUN && run.end != CellEnd::interrupted &&
                 run.end != CellEnd::not_run) {
        why = "not run: " + why;
      }
      for (const auto& n : names) add(n, code, why);
      continue;
    }
    if (!wrong_guest.empty()) {
      for (const auto& n : names) add(n, Code::ERROR, "guest is not what the cell says: " + wrong_guest);
      continue;
    }

    const std::string how = sr->status == "exit"      ? "exit status " + sr->value
                            : sr->status == "signal"  ? signal_text(sr->value)
                            : sr->status == "timeout" ? "timed out in the guest after " +
                                                            std::to_string(sr->duration_ms) + " ms"
                                                      : "could not run: " + sr->value;
    if (spec.checks.empty()) {
      Result r{spec.name, "", Code::ERROR, how, {}};
      if (sr->status == "exit") r.code = sr->value == "0" ? Code::PASS : Code::FAIL;
      else if (sr->status == "signal") r.code = Code::FAIL;
      else if (sr->status == "timeout") r.code = Code::TIMEOUT;
      apply_expectations(r, spec.xfail, cell, facts);
      v.results.push_back(std::move(r));
      continue;
    }
    std::vector<std::string> conflicts;
    const auto reported = parse_checks(sr->stdout_text, conflicts);
    for (const auto& c : spec.checks) {
      Result r{spec.name, c.name, Code::ERROR, {}, {}};
      auto it = reported.find(c.name);
      if (std::find(conflicts.begin(), conflicts.end(), c.name) != conflicts.end()) {
        r.message = "check reported both PASS and FAIL";
      } else if (it != reported.end()) {
        r.code = it->second.pass ? Code::PASS : Code::FAIL;
        r.detail = it->second.detail;
        r.message = it->second.pass ? "passed" : "failed";
        apply_expectations(r, c.xfail, cell, facts);
      } else {
        r.code = sr->status == "timeout" ? Code::TIMEOUT : Code::ERROR;
        r.message = "check not reported (" + how + ")";
        if (sr->stdout_dropped > 0)
          r.message += "; the scenario's output was cut (" + std::to_string(sr->stdout_dropped) +
                       " bytes dropped), the check may have been in the part cut off";
      }
      v.results.push_back(std::move(r));
    }
    if (auto end = abnormal_end(*sr, reported, how)) v.results.push_back({spec.name, kExitCheck, end->first, end->second, {}});
  }
  return v;
}

}  // namespace archmatrix::verdict
