// run --rerun-failures: which scenarios get another boot, and how attempts
// fold into the report (report/rerun.h).

#include "report/rerun.h"

#include <gtest/gtest.h>

namespace archmatrix::report {
namespace {

using verdict::Code;

ScenarioRow row(const std::string& name, std::vector<ResultRow> results, const std::string& value = "0") {
  ScenarioRow s;
  s.scenario = name;
  s.status = "exit";
  s.value = value;
  s.results = std::move(results);
  std::vector<Code> codes;
  for (const auto& r : s.results) codes.push_back(r.code);
  s.code = worst(codes);
  return s;
}

CellSummary cell_with(std::vector<ScenarioRow> rows, const std::string& end = "completed") {
  CellSummary c;
  c.id = "aarch64-16k-6.12";
  c.end = end;
  c.console_log = "cells/aarch64-16k-6.12/console.log";
  c.scenarios = std::move(rows);
  return c;
}

TEST(RerunCandidates, EveryScenarioWithAFailureAndNoOther) {
  auto c = cell_with({row("a", {{"x", Code::PASS, "", ""}, {"y", Code::FAIL, "check failed", ""}}),
                      row("b", {{"", Code::XFAIL, "expected", ""}}), row("c", {{"", Code::TIMEOUT, "timed out", ""}}),
                      row("d", {{"", Code::UNSUPPORTED, "requires arch == x86_64", ""}}),
                      row("e", {{"", Code::XPASS, "passed where expected to fail", ""}}),
                      row("f", {{"", Code::NOTRUN, "the guest died before it", ""}})});
  EXPECT_EQ(rerun_candidates(c), (std::vector<std::string>{"a", "c", "e", "f"}));
}

TEST(RerunCandidates, NoneWhereAnotherBootCannotChangeTheAnswer) {
  const auto failing = row("a", {{"", Code::ERROR, "kernel download failed", ""}});
  EXPECT_TRUE(rerun_candidates(cell_with({failing}, "host_error")).empty());
  EXPECT_TRUE(rerun_candidates(cell_with({failing}, "interrupted")).empty());
  auto wrong = cell_with({failing});
  wrong.fact_mismatches = {"page_size: guest has 4096, cell says 16384"};
  EXPECT_TRUE(rerun_candidates(wrong).empty());
  EXPECT_EQ(rerun_candidates(cell_with({failing}, "crashed")), std::vector<std::string>{"a"});
}

TEST(FoldRerun, APassOnARerunMakesOnlyTheFailedChecksFlaky) {
  auto first = row("a", {{"x", Code::PASS, "passed", ""}, {"y", Code::FAIL, "check failed", "got 3"}}, "1");
  const auto again = row("a", {{"x", Code::PASS, "passed", ""}, {"y", Code::PASS, "passed", ""}});
  EXPECT_FALSE(fold_rerun(first, again, 2, "cells/c/attempt-2/console.log", "cells/c/console.log"));
  EXPECT_EQ(first.results[0].code, Code::PASS);
  EXPECT_EQ(first.results[1].code, Code::FLAKY);
  EXPECT_EQ(first.results[1].message, "FAIL on attempt 1 (check failed); PASS on attempt 2");
  EXPECT_EQ(first.results[1].detail, "got 3");  // the failure's own text stays
  EXPECT_EQ(first.code, Code::FLAKY);
  EXPECT_EQ(first.value, "1");  // and so does the failing attempt's output
  ASSERT_EQ(first.attempts.size(), 2u);
  EXPECT_EQ(first.attempts[0].attempt, 1);
  EXPECT_EQ(first.attempts[0].code, Code::FAIL);
  EXPECT_EQ(first.attempts[0].message, "y: FAIL: check failed");
  EXPECT_EQ(first.attempts[0].console_log, "cells/c/console.log");
  EXPECT_EQ(first.attempts[1].attempt, 2);
  EXPECT_EQ(first.attempts[1].code, Code::PASS);
  EXPECT_EQ(first.attempts[1].console_log, "cells/c/attempt-2/console.log");
  EXPECT_FALSE(verdict::is_failure(Code::FLAKY));
}

TEST(FoldRerun, AFailureOnEveryAttemptStaysTheFirstFailure) {
  auto first = row("a", {{"", Code::TIMEOUT, "timed out after 60 s", ""}});
  const auto crash = row("a", {{"", Code::CRASH, "kernel crash: Oops", ""}});
  const auto fail = row("a", {{"", Code::FAIL, "exit status 1", ""}}, "1");
  EXPECT_TRUE(fold_rerun(first, crash, 2, "l2", "l1"));
  EXPECT_TRUE(fold_rerun(first, fail, 3, "l3", "l1"));
  EXPECT_EQ(first.code, Code::TIMEOUT);
  EXPECT_EQ(first.results[0].message, "timed out after 60 s");
  ASSERT_EQ(first.attempts.size(), 3u);
  EXPECT_EQ(first.attempts[1].code, Code::CRASH);
  EXPECT_EQ(first.attempts[2].code, Code::FAIL);
  EXPECT_EQ(first.attempts[2].value, "1");
  EXPECT_EQ(first.attempts[2].message, "FAIL: exit status 1");
}

TEST(FoldRerun, AnExpectedFailureOnARerunIsNoFailure) {
  // XFAIL is what the matrix expects there: the earlier XPASS was the flake.
  auto first = row("a", {{"", Code::XPASS, "passed where page_size > 4K was expected to fail", ""}});
  EXPECT_FALSE(fold_rerun(first, row("a", {{"", Code::XFAIL, "expected failure", ""}}), 2, "l2", "l1"));
  EXPECT_EQ(first.results[0].code, Code::FLAKY);
  EXPECT_EQ(first.results[0].message,
            "XPASS on attempt 1 (passed where page_size > 4K was expected to fail); XFAIL on attempt 2");
}

TEST(FoldRerun, ARerunWithoutResultsIsStillAFailure) {
  auto first = row("a", {{"", Code::FAIL, "exit status 1", ""}});
  ScenarioRow none;
  none.scenario = "a";
  EXPECT_TRUE(fold_rerun(first, none, 2, "l2", "l1"));
  EXPECT_EQ(first.code, Code::FAIL);
  EXPECT_EQ(first.attempts[1].message, "no result");
}

}  // namespace
}  // namespace archmatrix::report
