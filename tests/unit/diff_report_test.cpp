#include <gtest/gtest.h>

#include "report/diff_report.h"
#include "report/json_report.h"
#include "report_samples.h"

namespace archmatrix::report {
namespace {

using verdict::Code;

ResultRow& result(RunSummary& s, const std::string& cell, const std::string& scenario, const std::string& check) {
  for (auto& c : s.cells)
    if (c.id == cell)
      for (auto& sc : c.scenarios)
        if (sc.scenario == scenario)
          for (auto& r : sc.results)
            if (r.check == check) return r;
  throw std::runtime_error("no such result: " + cell + " " + scenario + "/" + check);
}

CellSummary& cell_of(RunSummary& s, const std::string& id) {
  for (auto& c : s.cells)
    if (c.id == id) return c;
  throw std::runtime_error("no such cell: " + id);
}

TEST(Diff, IdenticalRunsHaveNoDifferences) {
  const auto d = diff_runs(testing::golden_run(), testing::golden_run());
  EXPECT_FALSE(d.regressions);
  EXPECT_TRUE(d.new_failures.empty() && d.fixed.empty() && d.newly_xpass.empty() && d.other_changes.empty());
  EXPECT_TRUE(d.appeared.empty() && d.vanished.empty() && d.fact_changes.empty() && d.kernel_changes.empty());
  EXPECT_EQ(diff_text(d), "no differences\n0 new failures, 0 fixed, 0 newly XPASS; no regressions\n");
}

TEST(Diff, NewFailureIsARegression) {
  const auto before = testing::golden_run();
  auto after = before;
  result(after, "aarch64-4k-6.1", "sparse-tmpfs", "st-blksize") = {"st-blksize", Code::FAIL, "check failed", ""};
  const auto d = diff_runs(before, after);
  ASSERT_EQ(d.new_failures.size(), 1u);
  EXPECT_EQ(d.new_failures[0].cell, "aarch64-4k-6.1");
  EXPECT_EQ(d.new_failures[0].check, "sparse-tmpfs/st-blksize");
  EXPECT_EQ(d.new_failures[0].before, Code::PASS);
  EXPECT_EQ(d.new_failures[0].after, Code::FAIL);
  EXPECT_TRUE(d.regressions);
  EXPECT_NE(diff_text(d).find("new failures (1):\n  aarch64-4k-6.1 sparse-tmpfs/st-blksize: PASS -> FAIL: check failed"),
            std::string::npos)
      << diff_text(d);
  EXPECT_NE(diff_markdown(d).find("## New failures (1)"), std::string::npos);
}

TEST(Diff, FixedIsNotARegression) {
  const auto before = testing::golden_run();
  auto after = before;
  result(after, "armhf-6.1", "large-mmap", "") = {"", Code::PASS, "exit status 0", ""};
  const auto d = diff_runs(before, after);
  ASSERT_EQ(d.fixed.size(), 1u);
  EXPECT_EQ(d.fixed[0].check, "large-mmap");
  EXPECT_EQ(d.fixed[0].before, Code::FAIL);
  EXPECT_FALSE(d.regressions);
}

TEST(Diff, NewlyXpassIsARegression) {
  const auto before = testing::golden_run();
  auto after = before;
  result(after, "aarch64-16k-6.12", "sparse-tmpfs", "hardcoded-4096").code = Code::XPASS;
  const auto d = diff_runs(before, after);
  ASSERT_EQ(d.newly_xpass.size(), 1u);
  EXPECT_EQ(d.newly_xpass[0].before, Code::XFAIL);
  EXPECT_TRUE(d.new_failures.empty());  // counted once, as XPASS
  EXPECT_TRUE(d.regressions);
}

TEST(Diff, OtherChangesBetweenFailuresAndBetweenNonFailures) {
  const auto before = testing::golden_run();
  auto after = before;
  result(after, "x86_64-6.1", "va-hint", "no-hint-above-47").code = Code::CRASH;    // FAIL -> CRASH
  result(after, "aarch64-4k-6.1", "large-mmap", "").code = Code::XFAIL;            // PASS -> XFAIL
  const auto d = diff_runs(before, after);
  ASSERT_EQ(d.other_changes.size(), 2u);
  EXPECT_EQ(d.other_changes[0].cell, "aarch64-4k-6.1");
  EXPECT_EQ(d.other_changes[1].after, Code::CRASH);
  EXPECT_FALSE(d.regressions);
}

TEST(Diff, AppearedAndVanishedAtTheHighestLevel) {
  const auto before = testing::golden_run();
  auto after = before;
  // A new cell (a failing result in it is a new failure), a vanished cell,
  // a vanished scenario and an appeared check.
  auto extra = testing::cell("aarch64-16k-va36-6.12", "aarch64", {{"page_size", "16384"}, {"va_bits", "36"}}, {});
  extra.scenarios = {testing::scenario("large-mmap", {{"", Code::FAIL, "exit status 1", ""}})};
  after.cells.insert(after.cells.begin(), extra);
  after.cells.erase(after.cells.end() - 1);  // x86_64-6.1
  auto& a4 = cell_of(after, "aarch64-4k-6.1");
  a4.scenarios.erase(a4.scenarios.begin() + 3);  // stack-guard
  a4.scenarios[1].results.push_back({"new-check", Code::PASS, "passed", ""});
  const auto d = diff_runs(before, after);
  EXPECT_EQ(d.appeared, (std::vector<std::string>{"aarch64-16k-va36-6.12", "aarch64-4k-6.1: sparse-tmpfs/new-check"}));
  EXPECT_EQ(d.vanished, (std::vector<std::string>{"aarch64-4k-6.1: stack-guard", "x86_64-6.1"}));
  ASSERT_EQ(d.new_failures.size(), 1u);
  EXPECT_FALSE(d.new_failures[0].before.has_value());
  EXPECT_TRUE(d.regressions);
  // The vanished cell's FAIL is not "fixed".
  EXPECT_TRUE(d.fixed.empty());
}

TEST(Diff, FactAndKernelChanges) {
  const auto before = testing::golden_run();
  auto after = before;
  auto& a4 = cell_of(after, "aarch64-4k-6.1");
  a4.facts["va_bits"] = "52";
  a4.facts["mem_total_kib"] = "1000000";
  a4.kernel.version = "6.1.115-1";
  const auto d = diff_runs(before, after);
  ASSERT_EQ(d.fact_changes.size(), 2u);
  EXPECT_EQ(d.fact_changes[0].fact, "mem_total_kib");
  EXPECT_EQ(d.fact_changes[0].before, "");
  EXPECT_EQ(d.fact_changes[1].fact, "va_bits");
  EXPECT_EQ(d.fact_changes[1].before, "48");
  EXPECT_EQ(d.fact_changes[1].after, "52");
  ASSERT_EQ(d.kernel_changes.size(), 1u);
  EXPECT_EQ(d.kernel_changes[0].before, "linux-image-6.1-aarch64 6.1.112-1");
  EXPECT_EQ(d.kernel_changes[0].after, "linux-image-6.1-aarch64 6.1.115-1");
  EXPECT_FALSE(d.regressions);
  const auto text = diff_text(d);
  EXPECT_NE(text.find("  aarch64-4k-6.1: va_bits 48 -> 52\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  aarch64-4k-6.1: linux-image-6.1-aarch64 6.1.112-1 -> linux-image-6.1-aarch64 6.1.115-1\n"),
            std::string::npos);
}

TEST(Diff, GuestTextIsEscapedInBothOutputs) {
  const auto before = testing::golden_run();
  auto after = before;
  result(after, "aarch64-4k-6.1", "large-mmap", "") = {"", Code::FAIL, "\x1b[2J| `x` <b>\nsecond", ""};
  const auto d = diff_runs(before, after);
  EXPECT_EQ(diff_text(d).find('\x1b'), std::string::npos);
  const auto md = diff_markdown(d);
  EXPECT_NE(md.find("\\| \\`x\\` \\<b\\><br>second"), std::string::npos) << md;
}

// Shards: each ran some cells and lists the others as NOTRUN.
RunSummary shard(const RunSummary& full, const std::set<std::string>& ran) {
  auto s = full;
  for (auto& c : s.cells)
    if (!ran.count(c.id))
      for (auto& sc : c.scenarios)
        for (auto& r : sc.results) r = {r.check, Code::NOTRUN, "not run", ""};
  return s;
}

TEST(Merge, ShardsGiveBackTheWholeRun) {
  const auto full = testing::golden_run();
  auto a = shard(full, {"aarch64-16k-6.12", "aarch64-4k-6.1", "aarch64-64k-6.12"});
  auto b = shard(full, {"armhf-2g2g-6.1", "armhf-6.1", "x86_64-5lvl-6.12", "x86_64-6.1"});
  b.started = "2026-11-22T09:59:00Z";
  b.wall_seconds = 400;
  std::vector<std::string> notes;
  const auto m = merge({a, b}, &notes);
  EXPECT_TRUE(notes.empty()) << notes.front();
  EXPECT_EQ(m.started, "2026-11-22T09:59:00Z");
  EXPECT_EQ(m.wall_seconds, 400);
  auto expected = full;
  expected.started = m.started;
  expected.wall_seconds = m.wall_seconds;
  EXPECT_EQ(to_json(m), to_json(expected));
}

TEST(Merge, DisjointCellsAreSortedAndTotalsRecomputed) {
  auto full = testing::golden_run();
  RunSummary a = full, b = full;
  a.cells = {full.cells[4], full.cells[0]};
  b.cells = {full.cells[6], full.cells[1]};
  std::vector<std::string> notes;
  const auto m = merge({a, b}, &notes);
  ASSERT_EQ(m.cells.size(), 4u);
  EXPECT_EQ(m.cells[0].id, "aarch64-16k-6.12");
  EXPECT_EQ(m.cells[3].id, "x86_64-6.1");
  EXPECT_EQ(to_json(m)["totals"]["PASS"], 12);
  EXPECT_EQ(to_json(m)["totals"]["FLAKY"], 1);  // large-mmap on aarch64-4k-6.1 passed on its rerun
  EXPECT_EQ(m.skipped.size(), 1u);  // the same not-planned cell in both, once
  EXPECT_TRUE(notes.empty());
}

TEST(Merge, ReportsConflictsAndMissingCells) {
  const auto full = testing::golden_run();
  auto a = shard(full, {"aarch64-16k-6.12", "aarch64-4k-6.1"});
  auto b = shard(full, {"aarch64-4k-6.1", "armhf-6.1"});
  result(b, "aarch64-4k-6.1", "sparse-tmpfs", "st-blksize").code = Code::FAIL;
  b.matrix = "other.yaml";
  std::vector<std::string> notes;
  auto m = merge({a, b}, &notes);
  const auto has = [&](const std::string& s) {
    return std::any_of(notes.begin(), notes.end(), [&](const auto& n) { return n.find(s) != std::string::npos; });
  };
  EXPECT_TRUE(has("input 2 is of matrix other.yaml, input 1 of matrix.yaml"));
  EXPECT_TRUE(has("conflict: cell aarch64-4k-6.1 differs between input 1 and input 2 "
                  "(sparse-tmpfs/st-blksize: PASS vs FAIL); keeping input 1"));
  EXPECT_TRUE(has("missing: cell x86_64-6.1 was run by no input"));
  EXPECT_TRUE(has("missing: cell aarch64-64k-6.12 was run by no input"));
  EXPECT_FALSE(has("missing: cell armhf-6.1"));
  EXPECT_EQ(result(m, "aarch64-4k-6.1", "sparse-tmpfs", "st-blksize").code, Code::PASS);
  EXPECT_EQ(result(m, "armhf-6.1", "large-mmap", "").code, Code::FAIL);
  // Nothing to merge is an empty run, not an error.
  EXPECT_TRUE(merge({}, nullptr).cells.empty());
}

}  // namespace
}  // namespace archmatrix::report

namespace archmatrix::report {
namespace {

TEST(Merge, APlannedCellNoShardDeliveredIsMissingAndFails) {
  RunSummary a, b;
  a.planned_cells = b.planned_cells = {"x", "y", "z"};
  a.shard = "1/3";
  b.shard = "2/3";
  CellSummary cx, cy;
  cx.id = "x";
  cy.id = "y";
  a.cells = {cx};
  b.cells = {cy};
  std::vector<std::string> notes;
  auto m = merge({a, b}, &notes);
  EXPECT_EQ(missing_cells(m), std::vector<std::string>{"z"});
  EXPECT_TRUE(failed(m));
  bool said = false;
  for (const auto& n : notes) said = said || n.find("missing: cell z") != std::string::npos;
  EXPECT_TRUE(said);
}

}  // namespace
}  // namespace archmatrix::report

namespace archmatrix::report {
namespace {

TEST(Diff, AslrRandomisedAddressIsNotAFactChange) {
  RunSummary a, b;
  CellSummary c;
  c.id = "x";
  c.facts = {{"mmap_default_top", "0xffffc30eb000"}, {"va_bits", "48"}};
  a.cells = {c};
  c.facts["mmap_default_top"] = "0xffffdb6a6000";
  b.cells = {c};
  EXPECT_TRUE(diff_runs(a, b).fact_changes.empty());
  c.facts["va_bits"] = "52";
  b.cells = {c};
  EXPECT_EQ(diff_runs(a, b).fact_changes.size(), 1u);
}

TEST(Diff, MemTotalWobbleBetweenBootsIsNotAChangeButANewMemorySizeIs) {
  RunSummary a, b;
  CellSummary c;
  c.id = "x";
  c.facts = {{"mem_total_kib", "2021232"}};
  a.cells = {c};
  c.facts["mem_total_kib"] = "2021236";  // measured: two boots of x86_64-6.12
  b.cells = {c};
  EXPECT_TRUE(diff_runs(a, b).fact_changes.empty());
  c.facts["mem_total_kib"] = "4053000";  // -m 2G -> -m 4G
  b.cells = {c};
  EXPECT_EQ(diff_runs(a, b).fact_changes.size(), 1u);
  c.facts["mem_total_kib"] = "garbage";
  b.cells = {c};
  EXPECT_EQ(diff_runs(a, b).fact_changes.size(), 1u);
}

}  // namespace
}  // namespace archmatrix::report

namespace archmatrix::report {
namespace {

TEST(Merge, AShardsOwnReportDoesNotCountOtherShardsCellsAsMissing) {
  RunSummary a;
  a.planned_cells = {"x", "y"};
  a.shard = "1/2";
  CellSummary cx;
  cx.id = "x";
  a.cells = {cx};
  EXPECT_TRUE(missing_cells(a).empty());
  EXPECT_FALSE(failed(a));
  auto m = merge({a}, nullptr);  // a merge answers for the whole plan
  EXPECT_TRUE(m.shard.empty());
  EXPECT_EQ(missing_cells(m), std::vector<std::string>{"y"});
}

}  // namespace
}  // namespace archmatrix::report
