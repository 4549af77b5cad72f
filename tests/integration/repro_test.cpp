// `archmatrix repro CELL SCENARIO[/CHECK]` on real guests (built aarch64 64K
// kernel): one scenario's output arrives live on stdout, its verdict is the
// one `run` gives the same cell and scenario (compared through both
// report.json files), a CHECK narrows the verdict and the exit status to
// that check, a failing check exits 1, --from refuses a report whose kernel
// the cache no longer holds, and unknown names are one line with the
// closest ones, before anything boots.

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kCell = "aarch64-64k-va48";
const std::string kMatrix = ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml";

// A scenario pack of one scenario with two checks: `alpha` always passes,
// `beta` fails on pages larger than 4K.
void write_pack(const fs::path& dir) {
  const fs::path s = dir / "repro-probe";
  fs::create_directories(s);
  std::ofstream(s / "scenario.yaml") << R"(name: repro-probe
summary: two checks, one that fails on pages larger than 4K
build:
  sources: [probe.c]
  link: static
run:
  timeout: 30
checks:
  alpha:
    summary: always passes
  beta:
    summary: the page size is 4096
)";
  std::ofstream(s / "probe.c") << R"(#include <stdio.h>
#include <unistd.h>
int main(void) {
  long p = sysconf(_SC_PAGESIZE);
  printf("ARCHMATRIX-CHECK alpha PASS always\n");
  printf("ARCHMATRIX-CHECK beta %s page size %ld\n", p == 4096 ? "PASS" : "FAIL", p);
  return p == 4096 ? 0 : 1;
}
)";
}

// check name -> code, for one cell and scenario of a report.
std::map<std::string, std::string> codes(const fs::path& out, const std::string& scenario) {
  std::map<std::string, std::string> m;
  const auto r = read_report(out);
  for (const auto& c : r["cells"])
    for (const auto& s : c["scenarios"])
      if (s["scenario"] == scenario)
        for (const auto& res : s["results"]) m[res.value("check", "")] = res["code"];
  return m;
}

class Repro : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch("repro"));
    write_pack(*dir_ / "pack");
  }
  static void TearDownTestSuite() { delete dir_; }
  static Outcome repro(const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), {"repro", "--matrix", kMatrix, "--scenarios", (*dir_ / "pack").string()});
    return run_archmatrix(args, *dir_ / (name + ".log"));
  }
  static fs::path* dir_;
};
fs::path* Repro::dir_ = nullptr;

TEST_F(Repro, GivesRunsVerdictWithTheOutputLive) {
  const fs::path by_run = *dir_ / "by-run", by_repro = *dir_ / "by-repro";
  const auto r = run_archmatrix({"run", "--matrix", kMatrix, "--cell", kCell, "--scenario", "sparse-tmpfs", "--out",
                                 by_run.string()},
                                *dir_ / "run.log");
  ASSERT_NE(r.exit_code, 2) << r.log;
  const auto p = repro("sparse", {kCell, "sparse-tmpfs", "--out", by_repro.string()});
  // Every sparse-tmpfs check is PASS or XFAIL on 64K pages: exit 0.
  EXPECT_EQ(p.exit_code, 0) << p.log;
  EXPECT_NE(p.log.find("ARCHMATRIX-CHECK hardcoded-4096 FAIL"), std::string::npos) << p.log;
  EXPECT_NE(p.log.find("XFAIL       sparse-tmpfs/hardcoded-4096"), std::string::npos) << p.log;
  const auto want = codes(by_run, "sparse-tmpfs");
  ASSERT_EQ(want.size(), 4u) << r.log;
  EXPECT_EQ(codes(by_repro, "sparse-tmpfs"), want);
}

TEST_F(Repro, AFailingCheckExitsOneAndACheckNarrowsTheVerdict) {
  const auto all = repro("probe", {kCell, "repro-probe"});
  EXPECT_EQ(all.exit_code, 1) << all.log;
  EXPECT_NE(all.log.find("FAIL        repro-probe/beta"), std::string::npos) << all.log;
  EXPECT_NE(all.log.find("ARCHMATRIX-CHECK beta FAIL page size 65536"), std::string::npos) << all.log;
  const auto alpha = repro("alpha", {kCell, "repro-probe/alpha"});
  EXPECT_EQ(alpha.exit_code, 0) << alpha.log;
  EXPECT_EQ(alpha.log.find("repro-probe/beta"), std::string::npos) << alpha.log;
}

TEST_F(Repro, UnknownNamesAreOneLineWithTheClosest) {
  const auto cell = repro("bad-cell", {"aarch64-64k-va4", "sparse-tmpfs"});
  EXPECT_EQ(cell.exit_code, 2);
  EXPECT_NE(cell.log.find("unknown cell 'aarch64-64k-va4'"), std::string::npos) << cell.log;
  EXPECT_NE(cell.log.find("closest: aarch64-64k-va48"), std::string::npos) << cell.log;
  const auto scenario = repro("bad-scenario", {kCell, "sparse-tmps"});
  EXPECT_EQ(scenario.exit_code, 2);
  EXPECT_NE(scenario.log.find("closest: sparse-tmpfs"), std::string::npos) << scenario.log;
  const auto check = repro("bad-check", {kCell, "repro-probe/alpah"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.log.find("declares no check 'alpah'; closest: alpha"), std::string::npos) << check.log;
  for (const auto* o : {&cell, &scenario, &check})
    EXPECT_EQ(o->log.find("kernel"), std::string::npos) << "prepared something: " << o->log;
}

TEST_F(Repro, FromARecordedReportNeedsItsKernelInTheCache) {
  const fs::path recorded = *dir_ / "recorded";
  const auto r = run_archmatrix({"run", "--matrix", kMatrix, "--cell", kCell, "--scenario", "large-mmap", "--out",
                                 recorded.string()},
                                *dir_ / "recorded.log");
  ASSERT_NE(r.exit_code, 2) << r.log;
  const auto same = repro("from", {kCell, "large-mmap", "--from", recorded.string()});
  EXPECT_NE(same.exit_code, 3) << same.log;
  EXPECT_NE(same.log.find("large-mmap on " + std::string(kCell)), std::string::npos) << same.log;
  // The same report, but its kernel is one the cache never held.
  std::string json = slurp(recorded / "report.json");
  const std::string sha = read_report(recorded)["cells"][0]["kernel"]["sha256"];
  ASSERT_EQ(sha.size(), 64u);
  for (std::size_t at; (at = json.find(sha)) != std::string::npos;) json.replace(at, sha.size(), std::string(64, 'e'));
  const fs::path gone = *dir_ / "gone";
  fs::create_directories(gone);
  std::ofstream(gone / "report.json") << json;
  const auto refused = repro("from-gone", {kCell, "large-mmap", "--from", gone.string()});
  EXPECT_EQ(refused.exit_code, 3) << refused.log;
  EXPECT_NE(refused.log.find("the cache no longer holds the kernel"), std::string::npos) << refused.log;
}

}  // namespace
}  // namespace archmatrix::testing
