// `archmatrix run --rerun-failures N` on real guests (built aarch64 64K
// kernel): a failed scenario runs again in a fresh boot of its cell, which
// tells it its attempt in ARCHMATRIX_ATTEMPT; one that passes on a rerun is
// FLAKY (not a failure, in every report), one that fails every time keeps
// its first failure with every attempt recorded, and each attempt's console
// log is its own boot. With --strace-failures the last attempt runs under
// Debian's strace (through repro's guest) and its trace is kept with it.

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kCell = "aarch64-64k-va48";
const std::string kMatrix = ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml";

// `rerun-probe`: check `steady` always passes, `first-try` fails on the
// first attempt only. `always-fails` exits 1 every time.
void write_pack(const fs::path& dir) {
  fs::create_directories(dir / "rerun-probe");
  std::ofstream(dir / "rerun-probe" / "scenario.yaml") << R"(name: rerun-probe
summary: one check that passes, one that fails on the first attempt only
build:
  sources: [probe.c]
  link: static
run:
  timeout: 30
checks:
  steady:
    summary: always passes
  first-try:
    summary: fails unless ARCHMATRIX_ATTEMPT is 2 or more
)";
  std::ofstream(dir / "rerun-probe" / "probe.c") << R"(#include <stdio.h>
#include <stdlib.h>
int main(void) {
  const char *a = getenv("ARCHMATRIX_ATTEMPT");
  int attempt = a ? atoi(a) : 0;
  printf("ARCHMATRIX-CHECK steady PASS always\n");
  printf("ARCHMATRIX-CHECK first-try %s attempt %d\n", attempt >= 2 ? "PASS" : "FAIL", attempt);
  return attempt >= 2 ? 0 : 1;
}
)";
  fs::create_directories(dir / "always-fails");
  std::ofstream(dir / "always-fails" / "scenario.yaml") << R"(name: always-fails
summary: exits 1 on every attempt
build:
  sources: [fail.c]
  link: static
run:
  timeout: 30
)";
  std::ofstream(dir / "always-fails" / "fail.c") << R"(#include <stdio.h>
#include <stdlib.h>
int main(void) {
  printf("attempt %s\n", getenv("ARCHMATRIX_ATTEMPT"));
  return 1;
}
)";
}

const nlohmann::json& scenario_of(const nlohmann::json& report, const std::string& name) {
  for (const auto& s : report["cells"][0]["scenarios"])
    if (s["scenario"] == name) return s;
  throw std::runtime_error("no scenario " + name + " in the report");
}

// The nonce of the first framed line of a console log: one per boot.
std::string nonce_in(const fs::path& log) {
  const std::string text = slurp(log);
  const auto at = text.find("<<AM1|");
  return at == std::string::npos ? "" : text.substr(at + 6, 16);
}

class Rerun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch("rerun"));
    write_pack(*dir_ / "pack");
  }
  static void TearDownTestSuite() { delete dir_; }
  static Outcome run(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args{"run",        "--matrix",    kMatrix,      "--cell",
                                  kCell,        "--scenarios", (*dir_ / "pack").string(),
                                  "--scenario", "rerun-probe", "--scenario", "always-fails",
                                  "--out",      (*dir_ / name).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_archmatrix(args, *dir_ / (name + ".log"));
  }
  static fs::path* dir_;
};
fs::path* Rerun::dir_ = nullptr;

TEST_F(Rerun, WithoutRerunsTheFirstAttemptIsTheResult) {
  const auto r = run("once", {});
  EXPECT_EQ(r.exit_code, 1) << r.log;
  const auto report = read_report(*dir_ / "once");
  const auto& probe = scenario_of(report, "rerun-probe");
  EXPECT_EQ(probe["code"], "FAIL") << probe.dump(2);
  EXPECT_FALSE(probe.contains("attempts"));
  EXPECT_NE(probe["stdout"].get<std::string>().find("first-try FAIL attempt 1"), std::string::npos) << probe.dump(2);
  EXPECT_FALSE(fs::exists(*dir_ / "once" / "cells" / kCell / "attempt-2"));
  // Every cell says which accelerator ran it and why (an aarch64 guest on
  // this x86_64 CI host: TCG).
  EXPECT_EQ(report["cells"][0]["accel"], "tcg");
  EXPECT_EQ(report["cells"][0]["accel_detail"], "TCG: a guest of aarch64 on a x86_64 host");
}

TEST_F(Rerun, APassOnARerunIsFlakyAndAStubbornFailureKeepsEveryAttempt) {
  const auto r = run("reruns", {"--rerun-failures", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.log;  // always-fails still fails
  const fs::path out = *dir_ / "reruns";
  const auto report = read_report(out);

  const auto& probe = scenario_of(report, "rerun-probe");
  EXPECT_EQ(probe["code"], "FLAKY") << probe.dump(2);
  ASSERT_EQ(probe["results"].size(), 2u);
  EXPECT_EQ(probe["results"][0]["check"], "steady");
  EXPECT_EQ(probe["results"][0]["code"], "PASS");
  EXPECT_EQ(probe["results"][1]["check"], "first-try");
  EXPECT_EQ(probe["results"][1]["code"], "FLAKY");
  EXPECT_EQ(probe["results"][1]["message"], "FAIL on attempt 1 (failed); PASS on attempt 2")
      << probe["results"][1].dump(2);
  ASSERT_EQ(probe["attempts"].size(), 2u) << probe.dump(2);
  EXPECT_EQ(probe["attempts"][0]["code"], "FAIL");
  EXPECT_EQ(probe["attempts"][1]["code"], "PASS");

  const auto& stubborn = scenario_of(report, "always-fails");
  EXPECT_EQ(stubborn["code"], "FAIL");
  ASSERT_EQ(stubborn["attempts"].size(), 3u) << stubborn.dump(2);
  std::set<std::string> nonces;
  for (int a = 0; a < 3; ++a) {
    const auto& at = stubborn["attempts"][a];
    EXPECT_EQ(at["attempt"], a + 1);
    EXPECT_EQ(at["code"], "FAIL");
    EXPECT_EQ(at["value"], "1");
    const fs::path log = out / at["console_log"].get<std::string>();
    ASSERT_TRUE(fs::exists(log)) << log;
    nonces.insert(nonce_in(log));
  }
  EXPECT_EQ(nonces.size(), 3u) << "each attempt is a boot of its own";
  EXPECT_EQ(nonces.count(""), 0u);
  // Only the still-failing scenario went into attempt 3's guest.
  const std::string third = slurp(out / "cells" / kCell / "attempt-3" / "console.log");
  EXPECT_EQ(third.find("rerun-probe"), std::string::npos);

  const std::string junit = slurp(out / "junit.xml");
  EXPECT_NE(junit.find("<flakyFailure message=\"attempt 1: first-try: FAIL: failed\""), std::string::npos)
      << junit;
  EXPECT_NE(junit.find("<rerunFailure message=\"attempt 3: FAIL: exit status 1\""), std::string::npos) << junit;
  EXPECT_NE(r.log.find("FLAKY"), std::string::npos) << r.log;
  EXPECT_NE(slurp(out / "report.html").find("attempt-2/console.log"), std::string::npos);
}

TEST_F(Rerun, TheLastAttemptUnderStraceKeepsItsTrace) {
  const auto r = run("strace", {"--rerun-failures", "1", "--strace-failures"});
  EXPECT_EQ(r.exit_code, 1) << r.log;
  const fs::path out = *dir_ / "strace";
  const auto report = read_report(out);
  // Judged as run judges it, with the attempt number the scenario expects.
  const auto& probe = scenario_of(report, "rerun-probe");
  EXPECT_EQ(probe["code"], "FLAKY") << probe.dump(2);
  const auto& stubborn = scenario_of(report, "always-fails");
  ASSERT_EQ(stubborn["attempts"].size(), 2u) << stubborn.dump(2);
  const auto& last = stubborn["attempts"][1];
  EXPECT_EQ(last["code"], "FAIL");
  ASSERT_TRUE(last.contains("trace")) << last.dump(2);
  const std::string trace = slurp(out / last["trace"].get<std::string>());
  EXPECT_NE(trace.find("exit_group(1)"), std::string::npos) << trace.substr(0, 2000);
  EXPECT_NE(trace.find("attempt 2"), std::string::npos) << trace.substr(0, 2000);  // its write(1, ...)
  EXPECT_TRUE(fs::exists(out / last["console_log"].get<std::string>())) << last.dump(2);
  EXPECT_NE(slurp(out / "report.html").find(">strace</a>"), std::string::npos);
  EXPECT_FALSE(stubborn["attempts"][0].contains("trace"));
}

}  // namespace
}  // namespace archmatrix::testing
