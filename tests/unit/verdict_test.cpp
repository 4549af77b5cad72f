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

// An unsupported: or xfail: predicate over a fact the guest reported as ""
// cannot be evaluated: that scenario is ERROR, naming the predicate, its
// file:line and the fact; the rest of the cell is judged as usual.
TEST(Verdict, PredicateThatCannotBeEvaluatedIsThatScenariosError) {
  Fixture f;
  auto u = testing::expect_when("overcommit_memory >= 2", "strict overcommit");
  u.where = {"scenarios/plain/scenario.yaml", 12, 5};
  f.project.scenarios[0].unsupported.push_back(u);
  auto x = testing::expect_when("overcommit_memory >= 2", "strict overcommit");
  x.where = {"scenarios/sparse/scenario.yaml", 20, 9};
  f.project.scenarios[1].checks[0].xfail.push_back(x);
  f.plan = plan::make_plan(f.project);
  CellRun run;
  run.end = CellEnd::completed;
  run.facts = arm16k_facts();
  (*run.facts)["overcommit_memory"] = "";
  run.scenarios = {finished("plain", "exit", "0"),
                   finished("sparse", "exit", "0", "ARCHMATRIX-CHECK blksize PASS x\nARCHMATRIX-CHECK hardcoded FAIL y\n")};
  CellVerdict v;
  ASSERT_NO_THROW(v = judge(f.cell("aarch64-16k"), run));
  const auto& p = result(v, "plain", "");
  EXPECT_EQ(p.code, Code::ERROR);
  EXPECT_NE(p.message.find("unsupported: 'overcommit_memory >= 2'"), std::string::npos) << p.message;
  EXPECT_NE(p.message.find("scenarios/plain/scenario.yaml:12"), std::string::npos) << p.message;
  EXPECT_NE(p.message.find("overcommit_memory is ''"), std::string::npos) << p.message;
  const auto& b = result(v, "sparse", "blksize");
  EXPECT_EQ(b.code, Code::ERROR);
  EXPECT_NE(b.message.find("xfail: 'overcommit_memory >= 2'"), std::string::npos) << b.message;
  EXPECT_NE(b.message.find("scenarios/sparse/scenario.yaml:20"), std::string::npos) << b.message;
  EXPECT_EQ(result(v, "sparse", "hardcoded").code, Code::XFAIL);
}

// A check-reporting scenario whose program then dies, times out or exits
// with a status its checks do not explain gets one more result,
// "<scenario>/(exit)", so the end of the run is never silent.
TEST(Verdict, ScenarioThatCrashesAfterReportingItsChecksIsNotAllPass) {
  Fixture f;
  const std::string all_pass = "ARCHMATRIX-CHECK blksize PASS x\nARCHMATRIX-CHECK hardcoded PASS y\n";
  const auto judged = [&](ScenarioRun sparse) {
    CellRun run;
    run.end = CellEnd::completed;
    run.facts = arm16k_facts();
    (*run.facts)["page_size"] = "4096";
    (*run.facts)["va_bits"] = (*run.facts)["va_bits_default"] = "48";
    (*run.facts)["kernel_release"] = "6.1.0-28-arm64";
    run.scenarios = {finished("plain", "exit", "0"), std::move(sparse)};
    return judge(f.cell("aarch64-4k"), run);
  };
  auto v = judged(finished("sparse", "signal", "11", all_pass));
  EXPECT_EQ(result(v, "sparse", "blksize").code, Code::PASS);
  const auto& e = result(v, "sparse", "(exit)");
  EXPECT_EQ(e.code, Code::FAIL);
  EXPECT_NE(e.message.find("killed by signal 11 (SIGSEGV)"), std::string::npos) << e.message;

  auto t = finished("sparse", "timeout", "", all_pass);
  t.duration_ms = 60000;
  EXPECT_EQ(result(judged(t), "sparse", "(exit)").code, Code::TIMEOUT);
  EXPECT_EQ(result(judged(finished("sparse", "exit", "3", all_pass)), "sparse", "(exit)").code, Code::FAIL);
  // exit 1 after a reported FAIL is the scenarios' convention, and exit 0 is normal: no extra result.
  for (const auto& ok : {finished("sparse", "exit", "0", all_pass),
                         finished("sparse", "exit", "1", "ARCHMATRIX-CHECK blksize PASS x\nARCHMATRIX-CHECK hardcoded FAIL y\n")}) {
    for (const auto& r : judged(ok).results) EXPECT_NE(r.check, "(exit)") << r.message;
  }
  // exit 1 with every check PASS is not explained by the checks.
  EXPECT_EQ(result(judged(finished("sparse", "exit", "1", all_pass)), "sparse", "(exit)").code, Code::FAIL);
}

// The agent keeps the first 64 KiB of a scenario's stdout: a check printed
// after the cut is "not reported", and the message says the output was cut.
TEST(Verdict, CheckLostInTheOutputCutSaysSo) {
  Fixture f;
  CellRun run;
  run.end = CellEnd::completed;
  run.facts = arm16k_facts();
  auto sparse = finished("sparse", "exit", "0", "ARCHMATRIX-CHECK blksize PASS x\n");
  sparse.stdout_dropped = 12345;
  run.scenarios = {finished("plain", "exit", "0"), sparse};
  auto v = judge(f.cell("aarch64-16k"), run);
  const auto& h = result(v, "sparse", "hardcoded");
  EXPECT_EQ(h.code, Code::ERROR);
  EXPECT_NE(h.message.find("output was cut"), std::string::npos) << h.message;
  EXPECT_NE(h.message.find("12345 bytes"), std::string::npos) << h.message;
}

}  // namespace
}  // namespace archmatrix::verdict
