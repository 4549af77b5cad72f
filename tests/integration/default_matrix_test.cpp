// Boots a matrix for real and checks what the issues promise a new user:
// every cell's guest is what the cell says, the scenarios report real
// results, a second run downloads and builds nothing, a damaged cache entry
// is rebuilt, and no QEMU outlives a run. The matrix is tests/integration/
// matrix.yaml: the default matrix's Debian cells plus one built kernel.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "reliability_ledger.h"
#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

const std::string kMatrix = std::string(ARCHMATRIX_SOURCE_ROOT) + "/tests/integration/matrix.yaml";

class DefaultMatrix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new fs::path(scratch("default"));
    outcome_ = new Outcome(run_archmatrix({"run", "--matrix", kMatrix, "--out", out_->string()}, *out_ / "log.txt"));
  }
  static void TearDownTestSuite() {
    delete out_;
    delete outcome_;
  }
  static const nlohmann::json& cell(const nlohmann::json& report, const std::string& id) {
    for (const auto& c : report["cells"])
      if (c["id"] == id) return c;
    throw std::runtime_error("no cell " + id + " in the report");
  }
  static fs::path* out_;
  static Outcome* outcome_;
};
fs::path* DefaultMatrix::out_ = nullptr;
Outcome* DefaultMatrix::outcome_ = nullptr;

TEST_F(DefaultMatrix, RunSucceedsAndWritesAReport) {
  EXPECT_EQ(outcome_->exit_code, 0) << outcome_->log;
  auto r = read_report(*out_);
  EXPECT_EQ(r["schema"], 1);
  EXPECT_GE(r["cells"].size(), 4u);
  EXPECT_EQ(qemu_processes_mentioning(out_->string()), 0);
}

TEST_F(DefaultMatrix, EveryCellsGuestIsWhatTheCellSays) {
  auto r = read_report(*out_);
  const std::map<std::string, std::pair<std::string, std::string>> expected{
      // cell id -> (page_size, machine)
      {"x86_64-6.1", {"4096", "x86_64"}},      {"x86_64-6.12", {"4096", "x86_64"}},
      {"x86_64-7", {"4096", "x86_64"}},        {"x86_64-5lvl-6.1", {"4096", "x86_64"}},
      {"armhf-3g1g-6.1", {"4096", "armv7l"}},  {"aarch64-4k-6.1", {"4096", "aarch64"}},
      {"aarch64-4k-6.12", {"4096", "aarch64"}}, {"aarch64-4k-7", {"4096", "aarch64"}},
      {"aarch64-16k-6.12", {"16384", "aarch64"}}, {"aarch64-64k-va48", {"65536", "aarch64"}},
  };
  EXPECT_EQ(r["cells"].size(), expected.size());
  for (const auto& [id, want] : expected) {
    const auto& c = cell(r, id);
    EXPECT_EQ(c["end"], "completed") << id << ": " << c["end_detail"];
    EXPECT_EQ(c["facts"]["page_size"], want.first) << id;
    EXPECT_EQ(c["facts"]["machine"], want.second) << id;
    EXPECT_TRUE(c["fact_mismatches"].empty()) << id << ": " << c["fact_mismatches"];
    EXPECT_GT(c["boot_seconds"].get<double>(), 0.0) << id;
    EXPECT_FALSE(c["qemu_argv"].empty()) << id;
    EXPECT_TRUE(fs::exists(*out_ / c["console_log"].get<std::string>())) << id;
  }
  EXPECT_EQ(cell(r, "x86_64-6.1")["facts"]["va_bits"], "47");
  EXPECT_EQ(cell(r, "x86_64-5lvl-6.1")["facts"]["va_bits"], "56");
  EXPECT_EQ(cell(r, "x86_64-5lvl-6.1")["facts"]["va_bits_default"], "47");
  // 52-bit kernels: a hint reaches 2^51 and above, unhinted mappings do not.
  EXPECT_EQ(cell(r, "aarch64-4k-7")["facts"]["va_bits"], "52");
  EXPECT_EQ(cell(r, "aarch64-4k-7")["facts"]["va_bits_default"], "48");
  EXPECT_EQ(cell(r, "aarch64-16k-6.12")["facts"]["va_bits_default"], "47");
  EXPECT_EQ(cell(r, "aarch64-4k-7")["facts"]["kernel_release"].get<std::string>().rfind("7.", 0), 0u);
  EXPECT_EQ(cell(r, "aarch64-4k-6.1")["facts"]["va_bits"], "48");
  // The kernel built from Debian's linux-source-6.12 with 64K pages and a
  // 48-bit VA: both VA figures are 48, and it is the kernel the recipe built.
  const auto& built = cell(r, "aarch64-64k-va48");
  EXPECT_EQ(built["facts"]["va_bits"], "48");
  EXPECT_EQ(built["facts"]["va_bits_default"], "48");
  EXPECT_EQ(built["kernel"]["source"], "built");
  EXPECT_EQ(built["kernel"]["package"].get<std::string>().rfind("linux-source-6.12", 0), 0u);
  EXPECT_NE(built["facts"]["kernel_release"].get<std::string>().find("archmatrix"), std::string::npos)
      << built["facts"]["kernel_release"];
  // 3G/1G: user space ends just below 0xC0000000.
  const auto top = std::stoull(cell(r, "armhf-3g1g-6.1")["facts"]["user_top"].get<std::string>(), nullptr, 16);
  EXPECT_GT(top, 0xB0000000ull);
  EXPECT_LE(top, 0xC0000000ull);
}

// Every scenario of scenarios/ runs on every cell and gives exactly what its
// expectations say (PASS, or XFAIL where the bug lives): a new FAIL or an
// XPASS means a scenario or the world changed.
TEST_F(DefaultMatrix, EveryScenarioGivesItsExpectedCodeOnEveryCell) {
  auto r = read_report(*out_);
  std::set<std::string> repo_scenarios;
  for (const auto& e : fs::directory_iterator(fs::path(ARCHMATRIX_SOURCE_ROOT) / "scenarios"))
    if (fs::exists(e.path() / "scenario.yaml")) repo_scenarios.insert(e.path().filename().string());
  ASSERT_GE(repo_scenarios.size(), 6u);
  for (const auto& c : r["cells"]) {
    std::set<std::string> ran;
    for (const auto& s : c["scenarios"]) {
      const std::string name = s["scenario"];
      ran.insert(name);
      EXPECT_EQ(s["status"], "exit") << c["id"] << " " << name;
      EXPECT_FALSE(s["results"].empty()) << c["id"] << " " << name;
      for (const auto& res : s["results"]) {
        const std::string code = res["code"];
        EXPECT_TRUE(code == "PASS" || code == "XFAIL") << c["id"] << " " << name << "/" << res["check"] << ": "
                                                       << code << " " << res["message"];
      }
    }
    EXPECT_EQ(ran, repo_scenarios) << c["id"];
  }
}

TEST_F(DefaultMatrix, The16KCellShowsTheHardCodedBlockAssumptionBreaking) {
  auto r = read_report(*out_);
  for (const auto& id : {"aarch64-16k-6.12", "aarch64-4k-6.1"}) {
    for (const auto& s : cell(r, id)["scenarios"]) {
      if (s["scenario"] != "sparse-tmpfs") continue;
      for (const auto& res : s["results"]) {
        if (res["check"] != "hardcoded-4096") continue;
        EXPECT_EQ(res["code"], std::string(id) == "aarch64-16k-6.12" ? "XFAIL" : "PASS") << id << res;
      }
    }
  }
}

TEST_F(DefaultMatrix, SecondRunDownloadsAndBuildsNothing) {
  auto first = read_report(*out_);
  const fs::path again = scratch("again");
  auto o = run_archmatrix({"run", "--matrix", kMatrix, "--out", again.string(), "--cell", "aarch64-16k*",
                           "--cell", "aarch64-64k*", "--scenario", "sparse-tmpfs"},
                          again / "log.txt");
  EXPECT_EQ(o.exit_code, 0) << o.log;
  EXPECT_EQ(o.log.find("downloading"), std::string::npos) << o.log;
  EXPECT_EQ(o.log.find("building kernel"), std::string::npos) << o.log;
  EXPECT_EQ(o.log.find("configuring"), std::string::npos) << o.log;
  auto second = read_report(again);
  for (const char* id : {"aarch64-16k-6.12", "aarch64-64k-va48"})
    EXPECT_EQ(cell(second, id)["kernel"]["sha256"], cell(first, id)["kernel"]["sha256"]) << id;
}

// A cache entry damaged on disk is found by its checksum and made again,
// never booted: for a built kernel that is make in the kept object tree
// (nothing to compile), for a Debian kernel a new download.
TEST_F(DefaultMatrix, ADamagedCacheEntryIsDetectedAndRebuilt) {
  auto first = read_report(*out_);
  for (const char* id : {"aarch64-64k-va48", "aarch64-16k-6.12"}) {
    const fs::path image = cell(first, id)["kernel"]["image"].get<std::string>();
    ASSERT_TRUE(fs::exists(image)) << image;
    { std::ofstream(image, std::ios::app) << "damage"; }
  }
  const fs::path again = scratch("damaged");
  auto o = run_archmatrix({"run", "--matrix", kMatrix, "--out", again.string(), "--cell", "aarch64-16k*",
                           "--cell", "aarch64-64k*", "--scenario", "sparse-tmpfs"},
                          again / "log.txt");
  EXPECT_EQ(o.exit_code, 0) << o.log;
  EXPECT_NE(o.log.find("kernel built-6.12-arm64-64k-va48 is missing or fails its checksum"), std::string::npos) << o.log;
  EXPECT_NE(o.log.find("cached kernel for trixie arm64 linux-image-arm64-16k is missing or fails its checksum"),
            std::string::npos)
      << o.log;
  auto second = read_report(again);
  for (const char* id : {"aarch64-64k-va48", "aarch64-16k-6.12"}) {
    EXPECT_EQ(cell(second, id)["kernel"]["sha256"], cell(first, id)["kernel"]["sha256"]) << id;
    EXPECT_EQ(cell(second, id)["end"], "completed") << id;
  }
  record_fault("cache entry damaged on disk", !::testing::Test::HasFailure(), qemu_processes_mentioning(again.string()));
}

std::map<std::string, std::string> codes(const nlohmann::json& report) {
  std::map<std::string, std::string> out;
  for (const auto& c : report["cells"])
    for (const auto& s : c["scenarios"])
      for (const auto& r : s["results"])
        out[c["id"].get<std::string>() + " " + s["scenario"].get<std::string>() + "/" + r["check"].get<std::string>()] =
            r["code"];
  return out;
}

TEST_F(DefaultMatrix, ThreeShardsMergedGiveTheSameResultsAsOneRun) {
  const fs::path dir = scratch("shards");
  std::vector<std::string> merge_args{"merge"};
  for (int k = 1; k <= 3; ++k) {
    const fs::path out = dir / ("shard" + std::to_string(k));
    auto o = run_archmatrix({"run", "--matrix", kMatrix, "--out", out.string(), "--shard", std::to_string(k) + "/3",
                             "--balance-from", (*out_ / "report.json").string()},
                            dir / ("log" + std::to_string(k) + ".txt"));
    EXPECT_EQ(o.exit_code, 0) << o.log;
    EXPECT_LT(read_report(out)["cells"].size(), read_report(*out_)["cells"].size());
    merge_args.push_back((out / "report.json").string());
  }
  merge_args.insert(merge_args.end(), {"--out", (dir / "merged").string()});
  auto m = run_archmatrix(merge_args, dir / "merge.txt");
  EXPECT_EQ(m.exit_code, 0) << m.log;
  EXPECT_EQ(codes(read_report(dir / "merged")), codes(read_report(*out_)));
  for (const char* f : {"junit.xml", "summary.md", "report.html"}) EXPECT_TRUE(fs::exists(dir / "merged" / f)) << f;
  // Two runs of the same tree: diff finds nothing (facts included) and exits 0.
  auto d = run_archmatrix({"diff", (*out_ / "report.json").string(), (dir / "merged" / "report.json").string()},
                          dir / "diff.txt");
  EXPECT_EQ(d.exit_code, 0) << d.log;
  EXPECT_NE(d.log.find("no differences"), std::string::npos) << d.log;
}

TEST(Supervision, BootTimeoutKillsQemuAndKeepsTheConsoleLog) {
  const fs::path dir = scratch("timeout");
  {
    std::ofstream m(dir / "matrix.yaml");
    m << "timeouts: {boot: 1, no_output: 10}\nscenarios: [sparse-tmpfs]\ncells:\n  - arch: x86_64\n    release: '6.1'\n";
  }
  auto o = run_archmatrix({"run", "--matrix", (dir / "matrix.yaml").string(), "--out", (dir / "out").string()},
                          dir / "log.txt");
  EXPECT_EQ(o.exit_code, 1) << o.log;
  auto r = read_report(dir / "out");
  const auto& c = r["cells"][0];
  EXPECT_EQ(c["end"], "boot_timeout");
  EXPECT_EQ(c["scenarios"][0]["results"][0]["code"], "TIMEOUT");
  EXPECT_TRUE(fs::exists(dir / "out" / c["console_log"].get<std::string>()));
  const int left = qemu_processes_mentioning(dir.string());
  EXPECT_EQ(left, 0);
  record_fault("real guest misses its boot deadline", !::testing::Test::HasFailure(), left);
}

// Ctrl-C in the middle of the matrix, after the first cell has finished:
// every QEMU is killed and reaped, the partial report is valid and marks the
// rest NOTRUN, and `run --resume` runs only what is missing and completes it.
// The aarch64 cells (Debian and built kernels) are enough to interrupt and
// resume; the whole matrix only made the test twice as long.
constexpr const char* kInterruptCells = "aarch64-*";

TEST(Supervision, CtrlCKillsEveryQemuAndResumeCompletesTheReport) {
  const fs::path dir = scratch("interrupt");
  const fs::path out = dir / "out";
  const pid_t pid = spawn({"run", "--matrix", kMatrix, "--cell", kInterruptCells, "--out", out.string(), "--jobs", "2"}, dir / "log.txt");
  for (int i = 0; i < 3000 && slurp(dir / "log.txt").find("done after") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_NE(slurp(dir / "log.txt").find("done after"), std::string::npos) << slurp(dir / "log.txt");
  ::kill(pid, SIGINT);
  const auto t0 = std::chrono::steady_clock::now();
  const int code = wait_exit(pid);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(code, 130) << slurp(dir / "log.txt");
  EXPECT_LT(took, 10.0);
  EXPECT_EQ(qemu_processes_mentioning(dir.string()), 0);
  const auto partial = read_report(out);
  EXPECT_EQ(partial["interrupted"], true);
  int notrun = 0;
  std::map<std::string, nlohmann::json> finished;
  for (const auto& c : partial["cells"]) {
    if (c["end"] != "interrupted" && c["end"] != "not_run") finished[c["id"]] = c;
    for (const auto& s : c["scenarios"])
      for (const auto& res : s["results"]) notrun += res["code"] == "NOTRUN";
  }
  EXPECT_GT(notrun, 0);
  ASSERT_FALSE(finished.empty());

  auto o = run_archmatrix({"run", "--matrix", kMatrix, "--cell", kInterruptCells, "--resume", out.string()}, dir / "resume.txt");
  EXPECT_EQ(o.exit_code, 0) << o.log;
  EXPECT_NE(o.log.find(std::to_string(finished.size()) + " cells finished"), std::string::npos) << o.log;
  const auto full = read_report(out);
  EXPECT_EQ(full["interrupted"], false);
  EXPECT_EQ(full["cells"].size(), partial["planned_cells"].size());
  for (const auto& c : full["cells"]) {
    EXPECT_EQ(c["end"], "completed") << c["id"];
    for (const auto& s : c["scenarios"])
      for (const auto& res : s["results"]) EXPECT_NE(res["code"], "NOTRUN") << c["id"];
    // What had finished is kept as it was, not run again.
    if (finished.count(c["id"])) {
      EXPECT_EQ(c["wall_seconds"], finished[c["id"]]["wall_seconds"]) << c["id"];
    }
  }
  // A second resume has nothing left to run.
  auto again = run_archmatrix({"run", "--matrix", kMatrix, "--cell", kInterruptCells, "--resume", out.string()}, dir / "resume2.txt");
  EXPECT_EQ(again.exit_code, 0) << again.log;
  EXPECT_NE(again.log.find("0 to run"), std::string::npos) << again.log;
  const int left = qemu_processes_mentioning(dir.string());
  EXPECT_EQ(left, 0);
  record_fault("Ctrl-C mid-matrix, then --resume (real guests)", !::testing::Test::HasFailure(), left);
}

}  // namespace
}  // namespace archmatrix::testing
