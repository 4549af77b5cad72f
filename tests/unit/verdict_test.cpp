#include "verdict/verdict.h"

#include <gtest/gtest.h>

#include "test_project.h"

namespace archmatrix::verdict {
namespace {

struct Fixture {
  config::Project project = testing::small_project();
  plan::Plan plan = plan::make_plan(project);
  const plan::Cell& cell(const std::string& id) {
    for (const auto& c : plan.cells)
      if (c.id == id) return c;
    throw std::runtime_error("no cell " + id);
  }
};

std::map<std::string, std::string> arm16k_facts() {
  return {{"machine", "aarch64"}, {"page_size", "16384"}, {"va_bits", "52"}, {"va_bits_default", "47"},
          {"kernel_release", "6.12.48+deb13-arm64-16k"}};
}

ScenarioRun finished(const std::string& name, const std::string& status, const std::string& value,
                     const std::string& out = "") {
  ScenarioRun r;
  r.name = name;
  r.begun = r.finished = true;
  r.status = status;
  r.value = value;
  r.stdout_text = out;
  return r;
}

const Result& result(const CellVerdict& v, const std::string& scenario, const std::string& check) {
  for (const auto& r : v.results)
    if (r.scenario == scenario && r.check == check) return r;
  throw std::runtime_error("no result " + scenario + "/" + check);
}

TEST(Verdict, FailureTableIsLitLike) {
  EXPECT_FALSE(is_failure(Code::PASS));
  EXPECT_FALSE(is_failure(Code::XFAIL));
  EXPECT_FALSE(is_failure(Code::UNSUPPORTED));
  for (auto c : {Code::FAIL, Code::XPASS, Code::TIMEOUT, Code::CRASH, Code::ERROR, Code::NOTRUN})
    EXPECT_TRUE(is_failure(c)) << code_name(c);
}

TEST(Verdict, ChecksAndExpectations) {
  Fixture f;
  CellRun run;
  run.end = CellEnd::completed;
  run.facts = arm16k_facts();
  run.scenarios = {finished("plain", "exit", "0"),
                   finished("sparse", "exit", "1",
                            "noise\nARCHMATRIX-CHECK blksize PASS allocated 16384 = st_blksize\n"
                            "ARCHMATRIX-CHECK hardcoded FAIL allocated 16384, expected 4096\n")};
  auto v = judge(f.cell("aarch64-16k"), run);
  EXPECT_TRUE(v.fact_mismatches.empty());
  EXPECT_EQ(result(v, "plain", "").code, Code::PASS);
  EXPECT_EQ(result(v, "sparse", "blksize").code, Code::PASS);
  const auto& h = result(v, "sparse", "hardcoded");
  EXPECT_EQ(h.code, Code::XFAIL);
  EXPECT_EQ(h.detail, "allocated 16384, expected 4096");
  EXPECT_NE(h.message.find("tmpfs block = page"), std::string::npos);
}

TEST(Verdict, PassWhereFailureWasExpectedIsXpass) {
  Fixture f;
  CellRun run;
  run.end = CellEnd::completed;
  run.facts = arm16k_facts();
  run.scenarios = {finished("plain", "exit", "0"),
                   finished("sparse", "exit", "0", "ARCHMATRIX-CHECK blksize PASS x\nARCHMATRIX-CHECK hardcoded PASS y\n")};
  auto v = judge(f.cell("aarch64-16k"), run);
  EXPECT_EQ(result(v, "sparse", "hardcoded").code, Code::XPASS);
  EXPECT_TRUE(is_failure(result(v, "sparse", "hardcoded").code));
}

TEST(Verdict, WrongGuestIsAnErrorNeverAPass) {
  Fixture f;
  CellRun run;
  run.end = CellEnd::completed;
  run.facts = arm16k_facts();
  (*run.facts)["page_size"] = "4096";
  run.scenarios = {finished("plain", "exit", "0"), finished("sparse", "exit", "0")};
  auto v = judge(f.cell("aarch64-16k"), run);
  ASSERT_EQ(v.fact_mismatches.size(), 1u);
  EXPECT_EQ(v.fact_mismatches[0], "page_size: guest has 4096, cell says 16384");
  for (const auto& r : v.results) {
    EXPECT_EQ(r.code, Code::ERROR);
    EXPECT_NE(r.message.find("guest is not what the cell says"), std::string::npos);
  }
}

TEST(Verdict, VaWindowIsCheckedBothWays) {
  Fixture f;
  auto facts = arm16k_facts();
  facts["va_bits_default"] = "48";
  auto bad = check_facts(f.cell("aarch64-16k"), facts);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "va_bits_default (unhinted mmap window): guest has 48, cell says 47");
}

TEST(Verdict, X86PagingAndReleaseFacts) {
  Fixture f;
  std::map<std::string, std::string> facts{{"machine", "x86_64"}, {"page_size", "4096"}, {"va_bits", "56"},
                                           {"kernel_release", "6.12.1-amd64"}};
  auto bad = check_facts(f.cell("x86_64"), facts);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0], "va_bits (4level paging): guest has 56, cell says 47");
  EXPECT_EQ(bad[1], "kernel release: guest has 6.12.1-amd64, cell says 6.1.*");
}

TEST(Verdict, MissingCheckIsAnErrorNotAPass) {
  Fixture f;
  CellRun run;
  run.end = CellEnd::completed;
  run.facts = arm16k_facts();
  run.scenarios = {finished("plain", "signal", "11"), finished("sparse", "signal", "11", "ARCHMATRIX-CHECK blksize PASS x\n")};
  auto v = judge(f.cell("aarch64-16k"), run);
  EXPECT_EQ(result(v, "plain", "").code, Code::FAIL);
  EXPECT_EQ(result(v, "plain", "").message, "killed by signal 11 (SIGSEGV)");
  EXPECT_EQ(result(v, "sparse", "blksize").code, Code::PASS);
  EXPECT_EQ(result(v, "sparse", "hardcoded").code, Code::ERROR);
  EXPECT_EQ(result(v, "sparse", "hardcoded").message, "check not reported (killed by signal 11 (SIGSEGV))");
}

TEST(Verdict, CrashDuringAScenarioAndTheRestNotRun) {
  Fixture f;
  CellRun run;
  run.end = CellEnd::crashed;
  run.crash_title = "Kernel panic - not syncing: sysrq triggered crash";
  run.facts = arm16k_facts();
  ScenarioRun plain;
  plain.name = "plain";
  plain.begun = true;
  ScenarioRun sparse;
  sparse.name = "sparse";
  run.scenarios = {plain, sparse};
  auto v = judge(f.cell("aarch64-16k"), run);
  EXPECT_EQ(result(v, "plain", "").code, Code::CRASH);
  EXPECT_NE(result(v, "plain", "").message.find("sysrq"), std::string::npos);
  EXPECT_EQ(result(v, "sparse", "blksize").code, Code::NOTRUN);
}

TEST(Verdict, BootTimeoutAndHostError) {
  Fixture f;
  CellRun run;
  run.end = CellEnd::boot_timeout;
  run.end_detail = "no agent hello within 120 s";
  run.scenarios = {ScenarioRun{}, ScenarioRun{}};
  auto v = judge(f.cell("x86_64"), run);
  for (const auto& r : v.results) EXPECT_EQ(r.code, Code::TIMEOUT);
  run.end = CellEnd::host_error;
  run.end_detail = "kernel amd64: download failed";
  v = judge(f.cell("x86_64"), run);
  for (const auto& r : v.results) {
    EXPECT_EQ(r.code, Code::ERROR);
    EXPECT_EQ(r.message, "kernel amd64: download failed");
  }
}

}  // namespace
}  // namespace archmatrix::verdict
