#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "report/console_report.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "report/junit_report.h"
#include "report/markdown_report.h"

namespace archmatrix::report {
namespace {

RunSummary sample() {
  RunSummary s;
  s.archmatrix_version = "0.1.0";
  s.matrix = "matrix.yaml";
  s.started = "2026-11-22T10:00:00Z";
  CellSummary c;
  c.id = "aarch64-16k-6.12";
  c.arch = "aarch64";
  c.axes = {{"page_size", "16384"}};
  c.facts = {{"page_size", "16384"}, {"va_bits", "52"}};
  c.qemu_argv = {"qemu-system-aarch64", "-M", "virt"};
  c.console_log = "cells/aarch64-16k-6.12/console.log";
  c.end = "completed";
  c.boot_seconds = 2.5;
  ScenarioRow sc;
  sc.scenario = "sparse-tmpfs";
  sc.status = "exit";
  sc.value = "1";
  sc.stdout_text = std::string("bad utf8 \xff\xfe <script>alert(1)</script> \x1b[31m");
  sc.results = {{"st-blksize", verdict::Code::PASS, "passed", ""},
                {"hardcoded-4096", verdict::Code::XFAIL, "expected failure", "allocated 16384"}};
  sc.code = worst({verdict::Code::PASS, verdict::Code::XFAIL});
  c.scenarios.push_back(sc);
  s.cells.push_back(c);
  s.skipped.push_back({"aarch64-4k-va47", "cannot exist", "matrix.yaml:3"});
  return s;
}

TEST(Report, WorstPicksTheMostSevere) {
  EXPECT_EQ(worst({verdict::Code::PASS, verdict::Code::XFAIL}), verdict::Code::XFAIL);
  EXPECT_EQ(worst({verdict::Code::XFAIL, verdict::Code::FAIL, verdict::Code::CRASH}), verdict::Code::CRASH);
  EXPECT_EQ(worst({}), verdict::Code::ERROR);
}

TEST(Report, JsonCarriesSchemaFactsArgvAndCodes) {
  auto j = nlohmann::json::parse(to_json_text(sample()));
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["failed"], false);
  const auto& c = j["cells"][0];
  EXPECT_EQ(c["id"], "aarch64-16k-6.12");
  EXPECT_EQ(c["facts"]["page_size"], "16384");
  EXPECT_EQ(c["qemu_argv"][0], "qemu-system-aarch64");
  EXPECT_EQ(c["scenarios"][0]["scenario"], "sparse-tmpfs");
  EXPECT_EQ(c["scenarios"][0]["code"], "XFAIL");
  EXPECT_EQ(c["scenarios"][0]["results"][1]["code"], "XFAIL");
  EXPECT_EQ(j["totals"]["PASS"], 1);
  EXPECT_EQ(j["skipped"][0]["id"], "aarch64-4k-va47");
  // Invalid UTF-8 from a guest is replaced, never allowed to break the document.
  EXPECT_NE(c["scenarios"][0]["stdout"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(Report, JsonIsDeterministic) { EXPECT_EQ(to_json_text(sample()), to_json_text(sample())); }

TEST(Report, FailureDrivesTheExitStatus) {
  auto s = sample();
  EXPECT_FALSE(failed(s));
  s.cells[0].scenarios[0].results[0].code = verdict::Code::FAIL;
  EXPECT_TRUE(failed(s));
  s = sample();
  s.interrupted = true;
  EXPECT_TRUE(failed(s));
  // A kernel that crashed after every scenario had reported: the results
  // are fine, the cell is not, and the run must not exit 0.
  s = sample();
  s.cells[0].end = "crashed";
  EXPECT_TRUE(failed(s));
}

// The verdict's "(exit)" result of a scenario that crashed after its checks
// is an ordinary result: every format, all made from the RunSummary, shows it.
TEST(Report, AbnormalEndResultShowsInEveryFormat) {
  auto s = sample();
  s.cells[0].scenarios[0].status = "signal";
  s.cells[0].scenarios[0].value = "11";
  s.cells[0].scenarios[0].results.push_back(
      {"(exit)", verdict::Code::FAIL, "the scenario's program ended abnormally: killed by signal 11 (SIGSEGV)", ""});
  EXPECT_TRUE(failed(s));
  for (const auto& [format, text] : {std::pair<std::string, std::string>{"console", console_summary(s)},
                                     {"junit", junit_xml(s)},
                                     {"markdown", markdown_summary(s)},
                                     {"html", html_report(s)},
                                     {"json", to_json_text(s)}}) {
    EXPECT_NE(text.find("exit)"), std::string::npos) << format;
    EXPECT_NE(text.find("SIGSEGV"), std::string::npos) << format;
  }
}

TEST(Report, ConsoleSummaryIsATableWithReasonsAndNoEscapes) {
  auto s = sample();
  s.cells[0].scenarios[0].results[1].detail = "\x1b]0;pwned\x07 allocated";
  const auto text = console_summary(s);
  EXPECT_NE(text.find("aarch64-16k-6.12"), std::string::npos);
  EXPECT_NE(text.find("[1] sparse-tmpfs/hardcoded-4096"), std::string::npos);
  EXPECT_NE(text.find("XFAIL aarch64-16k-6.12: sparse-tmpfs/hardcoded-4096"), std::string::npos);
  EXPECT_NE(text.find("SKIPPED aarch64-4k-va47"), std::string::npos);
  EXPECT_NE(text.find("1 cells, 1 PASS, 1 XFAIL; 0 failures"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

// Every row's code for check k starts where the header's "[k]" does, and
// codes are separated, whatever the widest code is.
TEST(Report, ConsoleColumnsFitTheWidestCode) {
  auto s = sample();
  auto c2 = s.cells[0];
  c2.id = "x";
  c2.scenarios[0].results[0].code = verdict::Code::UNSUPPORTED;
  c2.scenarios[0].results[1].code = verdict::Code::TIMEOUT;
  s.cells.push_back(c2);
  auto c3 = s.cells[0];
  c3.id = "y";
  c3.scenarios[0].results[0].code = verdict::Code::NOTRUN;
  c3.scenarios[0].results[1].code = verdict::Code::XFAIL;
  s.cells.push_back(c3);
  const auto text = console_summary(s);
  std::vector<std::string> lines;
  for (std::size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos && nl > at; at = nl + 1)
    lines.push_back(text.substr(at, nl - at));
  ASSERT_GE(lines.size(), 4u) << text;
  const auto col1 = lines[0].find("[1]"), col2 = lines[0].find("[2]");
  ASSERT_NE(col2, std::string::npos) << text;
  const std::vector<std::pair<std::string, std::string>> want = {
      {"XFAIL", "PASS"}, {"TIMEOUT", "UNSUPPORTED"}, {"XFAIL", "NOTRUN"}};  // columns by name
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto& row = lines[i + 1];
    EXPECT_EQ(row.substr(col1, want[i].first.size()), want[i].first) << text;
    EXPECT_EQ(row.substr(col2, want[i].second.size()), want[i].second) << text;
    EXPECT_EQ(row[col2 - 1], ' ') << text;
  }
}

}  // namespace
}  // namespace archmatrix::report
