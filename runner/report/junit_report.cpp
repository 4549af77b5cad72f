#include "report/junit_report.h"

#include <fmt/format.h>

#include "util/text_safe.h"

namespace archmatrix::report {

namespace {

using verdict::Code;

std::string attr(std::string_view s) { return util::xml_escape(s, true); }
std::string text(std::string_view s) { return util::xml_escape(s, false); }

std::string seconds(double s) { return fmt::format("{:.3f}", s < 0 ? 0.0 : s); }

enum class Kind { passed, failure, error, skipped };

Kind kind_of(Code c) {
  switch (c) {
    case Code::PASS:
    case Code::FLAKY: return Kind::passed;
    case Code::FAIL:
    case Code::XPASS: return Kind::failure;
    case Code::XFAIL:
    case Code::UNSUPPORTED: return Kind::skipped;
    case Code::TIMEOUT:
    case Code::CRASH:
    case Code::ERROR:
    case Code::NOTRUN: return Kind::error;
  }
  return Kind::error;
}

struct Counts {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  void add(Code c) {
    ++tests;
    switch (kind_of(c)) {
      case Kind::passed: break;
      case Kind::failure: ++failures; break;
      case Kind::error: ++errors; break;
      case Kind::skipped: ++skipped; break;
    }
  }
  std::string attrs() const {
    return fmt::format(R"(tests="{}" failures="{}" errors="{}" skipped="{}")", tests, failures, errors, skipped);
  }
};

std::string output_text(const std::string& s, std::uint64_t dropped) {
  if (dropped == 0) return s;
  return s + fmt::format("\n[archmatrix: {} further bytes were dropped by the guest agent]\n", dropped);
}

// Reruns as Maven Surefire writes them (Jenkins and GitLab read them): a
// FLAKY result passes with a <flakyFailure>/<flakyError> per failed attempt;
// one that still fails has a <rerunFailure>/<rerunError> per failed rerun.
std::string attempts(const ScenarioRow& sc, const ResultRow& r) {
  if (sc.attempts.empty() || !(r.code == Code::FLAKY || verdict::is_failure(r.code))) return {};
  const bool flaky = r.code == Code::FLAKY;
  std::string out;
  auto element = [&](Code code, const std::string& message) {
    const bool failure = kind_of(code) == Kind::failure;
    const char* tag = flaky ? (failure ? "flakyFailure" : "flakyError") : (failure ? "rerunFailure" : "rerunError");
    out += fmt::format("      <{} message=\"{}\" type=\"{}\">{}</{}>\n", tag, attr(message), verdict::code_name(code),
                       text(message), tag);
  };
  // A rerun that still fails has its first attempt in <failure>/<error>.
  for (const auto& a : sc.attempts)
    if (verdict::is_failure(a.code) && (flaky || a.attempt > 1))
      element(a.code, fmt::format("attempt {}: {}", a.attempt, a.message));
  return out;
}

std::string testcase(const CellSummary& c, const ScenarioRow& sc, const ResultRow& r) {
  const std::string name = sc.scenario + (r.check.empty() ? "" : "/" + r.check);
  std::string out = fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"", attr(c.id), attr(name),
                                seconds(static_cast<double>(sc.duration_ms) / 1000.0));
  const std::string code(verdict::code_name(r.code));
  std::string body;
  const auto kind = kind_of(r.code);
  if (kind == Kind::skipped) {
    body += fmt::format("      <skipped message=\"{}\"/>\n", attr(code + ": " + r.message));
  } else if (kind != Kind::passed) {
    std::string why = code + ": " + r.message;
    if (!r.detail.empty()) why += "\n" + r.detail;
    if (r.code == Code::CRASH && !c.crash_title.empty()) why += "\nkernel: " + c.crash_title;
    const char* tag = kind == Kind::failure ? "failure" : "error";
    body += fmt::format("      <{} message=\"{}\" type=\"{}\">{}</{}>\n", tag, attr(r.message), code, text(why), tag);
  }
  body += attempts(sc, r);
  if (!sc.stdout_text.empty() || sc.stdout_dropped)
    body += "      <system-out>" + text(output_text(sc.stdout_text, sc.stdout_dropped)) + "</system-out>\n";
  if (!sc.stderr_text.empty() || sc.stderr_dropped)
    body += "      <system-err>" + text(output_text(sc.stderr_text, sc.stderr_dropped)) + "</system-err>\n";
  if (body.empty()) return out + "/>\n";
  return out + ">\n" + body + "    </testcase>\n";
}

std::string property(const std::string& name, const std::string& value) {
  return fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", attr(name), attr(value));
}

// What happened to the cell as a whole, for the suite's <system-out>: a CI
// page then shows why every case of a crashed cell is an error.
std::string cell_notes(const CellSummary& c) {
  std::string out = "end: " + c.end + (c.end_detail.empty() ? "" : ": " + c.end_detail) + "\n";
  for (const auto& m : c.fact_mismatches) out += "wrong guest: " + m + "\n";
  if (!c.crash_title.empty()) out += "kernel crash: " + c.crash_title + "\n" + c.crash_text + "\n";
  for (const auto& a : c.protocol_anomalies) out += "protocol: " + a + "\n";
  out += "console log: " + c.console_log + "\n";
  return out;
}

}  // namespace

std::string junit_xml(const RunSummary& s) {
  Counts all;
  std::string suites;
  for (const auto& c : s.cells) {
    Counts n;
    std::string cases;
    for (const auto& sc : c.scenarios)
      for (const auto& r : sc.results) {
        n.add(r.code);
        all.add(r.code);
        cases += testcase(c, sc, r);
      }
    std::string props = property("arch", c.arch);
    for (const auto& [k, v] : c.axes) props += property("axis." + k, v);
    props += property("kernel.recipe", c.kernel.recipe);
    props += property("kernel.package", c.kernel.package);
    props += property("kernel.version", c.kernel.version);
    props += property("kernel.release", c.kernel.release);
    for (const auto& [k, v] : c.facts) props += property("fact." + k, v);
    props += property("boot_seconds", c.boot_seconds < 0 ? std::string("-") : seconds(c.boot_seconds));
    props += property("end", c.end);
    if (!c.accel.empty()) props += property("accel", c.accel_detail);
    props += property("console_log", c.console_log);
    suites += fmt::format("  <testsuite name=\"{}\" {} time=\"{}\">\n    <properties>\n{}    </properties>\n{}",
                          attr(c.id), n.attrs(), seconds(c.wall_seconds), props, cases);
    suites += "    <system-out>" + text(cell_notes(c)) + "</system-out>\n  </testsuite>\n";
  }
  return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"archmatrix\" {} time=\"{}\">\n{}"
                     "</testsuites>\n",
                     all.attrs(), seconds(s.wall_seconds), suites);
}

}  // namespace archmatrix::report
