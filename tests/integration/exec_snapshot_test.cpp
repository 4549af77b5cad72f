// exec's ready-state snapshots on the built 64K cell: a cell's guest is
// restored, not booted, and every restore is its own guest (the facts are
// measured again under the run's nonce, the clock is now, and ASLR and
// getrandom() differ between two restores of one saved state); a damaged
// state file costs a cold boot (reported) and is made again; --no-snapshot
// boots cold.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "reliability_ledger.h"
#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kCell = "aarch64-64k-va48";

// One line: where its stack is, 16 bytes from getrandom(), the wall clock.
constexpr const char* kProgram = R"(
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
int main(void) {
  unsigned char b[16];
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) return 2;
  int on_stack = 0;
  printf("stack %p random ", (void *)&on_stack);
  for (int i = 0; i < 16; i++) printf("%02x", b[i]);
  printf(" time %lld\n", (long long)time(NULL));
  return 0;
}
)";

class ExecSnapshot : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch("exec-snapshot"));
    built_ = build_static_program(*dir_, kProgram);
  }
  static void TearDownTestSuite() { delete dir_; }

 public:
  struct Run {
    int status;
    std::string log;
    nlohmann::json cell;  // the report's only cell
  };
  static Run exec(const std::string& name, std::vector<std::string> extra = {}) {
    const fs::path out = *dir_ / name;
    std::vector<std::string> a{"exec", "--matrix", std::string(ARCHMATRIX_SOURCE_ROOT) + "/tests/integration/matrix.yaml",
                               "--cell", kCell, "--out", out.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    a.push_back("--");
    a.push_back((*dir_ / "prog").string());
    const auto o = run_archmatrix(a, *dir_ / (name + ".log"), {{"TMPDIR", dir_->string()}});
    Run r{o.exit_code, o.log, {}};
    if (fs::exists(out / "report.json")) r.cell = read_report(out)["cells"][0];
    return r;
  }

 protected:
  static fs::path* dir_;
  static bool built_;
};
fs::path* ExecSnapshot::dir_ = nullptr;
bool ExecSnapshot::built_ = false;

std::string line_of(const ExecSnapshot::Run& r) { return r.cell["scenarios"][0]["stdout"].get<std::string>(); }

TEST_F(ExecSnapshot, EveryRestoreIsItsOwnGuestWithTheCellsFactsAndTodaysClock) {
  ASSERT_TRUE(built_);
  const Run a = exec("a"), b = exec("b");
  ASSERT_EQ(a.status, 0) << a.log;
  ASSERT_EQ(b.status, 0) << b.log;
  for (const auto* r : {&a, &b}) {
    EXPECT_EQ(r->cell["boot"], "restored") << r->cell.dump(1);
    // Measured in the restored guest under this run's nonce, and checked.
    EXPECT_EQ(r->cell["facts"]["page_size"], "65536") << r->cell.dump(1);
    EXPECT_EQ(r->cell["facts"]["va_bits"], "48");
  }
  // The saved state is the same; what each restore draws from it is not.
  const std::regex shape("stack (0x[0-9a-f]+) random ([0-9a-f]{32}) time ([0-9]+)\n");
  std::smatch ma, mb;
  const std::string la = line_of(a), lb = line_of(b);
  ASSERT_TRUE(std::regex_match(la, ma, shape)) << la;
  ASSERT_TRUE(std::regex_match(lb, mb, shape)) << lb;
  EXPECT_NE(ma[1], mb[1]) << "the same stack address in two restores: no fresh ASLR";
  EXPECT_NE(ma[2], mb[2]) << "the same getrandom() bytes in two restores";
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  EXPECT_LT(std::llabs(std::stoll(mb[3]) - now), 120) << "the guest's clock is not now: " << lb;
}

TEST_F(ExecSnapshot, ADamagedStateCostsAColdBootAndIsMadeAgain) {
  ASSERT_TRUE(built_);
  const Run first = exec("first");
  ASSERT_EQ(first.cell["boot"], "restored") << first.log;
  // boot_detail: "from <entry>[ (saved by this run)]".
  const std::string detail = first.cell["boot_detail"];
  ASSERT_EQ(detail.rfind("from ", 0), 0u) << detail;
  const fs::path entry = detail.substr(5, detail.find(" (") == std::string::npos ? std::string::npos : detail.find(" (") - 5);
  ASSERT_TRUE(fs::exists(entry / "state")) << entry;
  fs::resize_file(entry / "state", fs::file_size(entry / "state") / 2);

  const Run damaged = exec("damaged");
  EXPECT_EQ(damaged.status, 0) << damaged.log;
  EXPECT_EQ(damaged.cell["boot"], "cold") << damaged.cell.dump(1);
  EXPECT_EQ(damaged.cell["boot_detail"].get<std::string>().rfind("restore failed: ", 0), 0u)
      << damaged.cell["boot_detail"];
  EXPECT_EQ(damaged.cell["facts"]["page_size"], "65536");
  EXPECT_NE(line_of(damaged).find("stack "), std::string::npos);

  const Run again = exec("again");
  EXPECT_EQ(again.status, 0) << again.log;
  EXPECT_EQ(again.cell["boot"], "restored");
  EXPECT_NE(again.cell["boot_detail"].get<std::string>().find("(saved by this run)"), std::string::npos)
      << again.cell["boot_detail"];
  const int left = qemu_processes_mentioning(dir_->string());
  EXPECT_EQ(left, 0);
  record_fault("exec: a saved guest state damaged on disk", !HasFailure(), left);
}

TEST_F(ExecSnapshot, NoSnapshotBootsCold) {
  ASSERT_TRUE(built_);
  const Run r = exec("cold", {"--no-snapshot"});
  EXPECT_EQ(r.status, 0) << r.log;
  EXPECT_EQ(r.cell["boot"], "cold");
  EXPECT_EQ(r.cell["boot_detail"], "");
  EXPECT_EQ(r.cell["facts"]["page_size"], "65536");
}

}  // namespace
}  // namespace archmatrix::testing
