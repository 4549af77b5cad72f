// Bad input and report-writing faults, through the real archmatrix binary.
//
// Every kind of bad input (issue 6) must end the run before anything boots,
// with exit status 2 and one line naming the file, the line and what was
// expected. "Nothing booted" is observed, not assumed: every run here is
// given a QEMU directory whose qemu-system-* programs only leave a mark and
// fail, so a run that got as far as booting leaves the mark behind.
//
// A report directory that cannot be written, or a disk that fills up while
// reports are written (RLIMIT_FSIZE, which fails writes with EFBIG as a full
// disk fails them with ENOSPC), is a clear error that leaves the previous
// reports as they were. These use `archmatrix merge`, which writes the same
// reports as `run` from report.json files, so nothing here touches the
// network or boots anything (label "unit").

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "reliability_ledger.h"
#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

const std::string kBadInputFault = "bad input (YAML, keys, axis values, impossible cells, missing recipes)";

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A QEMU directory whose programs record that they were started, then fail.
fs::path marking_qemu_dir(const fs::path& dir) {
  const fs::path q = dir / "qemu";
  for (const char* name : {"qemu-system-aarch64", "qemu-system-arm", "qemu-system-x86_64"}) {
    write(q / name, "#!/bin/sh\necho \"$0\" >> \"" + (dir / "booted").string() + "\"\nexit 1\n");
    fs::permissions(q / name, fs::perms::owner_all);
  }
  return q;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = text.find('\n', start);
    out.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// The contract for every bad input: exit 2, exactly one line of output,
// "archmatrix: <file>:<line>:<col>: <what>", no QEMU started, no report.
void expect_rejected(const fs::path& dir, const Outcome& o, const std::string& file, int line,
                     const std::string& what) {
  EXPECT_EQ(o.exit_code, 2) << o.log;
  const auto lines = lines_of(o.log);
  EXPECT_EQ(lines.size(), 1u) << o.log;
  const std::string where = "archmatrix: " + file + ":" + std::to_string(line) + ":";
  EXPECT_EQ(o.log.rfind(where, 0), 0u) << "expected the message to start with '" << where << "':\n" << o.log;
  EXPECT_NE(o.log.find(what), std::string::npos) << "expected '" << what << "' in:\n" << o.log;
  EXPECT_FALSE(fs::exists(dir / "booted")) << "a QEMU was started: " << slurp(dir / "booted");
  EXPECT_FALSE(fs::exists(dir / "out" / "report.json"));
}

// `archmatrix run` on a matrix file (relative, so the message names it as given).
Outcome run_matrix(const fs::path& dir, const std::string& matrix_text, const std::vector<std::string>& extra = {}) {
  write(dir / "matrix.yaml", matrix_text);
  std::vector<std::string> args{"run", "--matrix", (dir / "matrix.yaml").string(), "--out", (dir / "out").string(),
                                "--qemu-dir", marking_qemu_dir(dir).string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_archmatrix(args, dir / "log");
}

class BadInput : public ::testing::Test {
 protected:
  void TearDown() override { record_fault(kBadInputFault, !HasFailure(), 0); }
};

TEST_F(BadInput, MalformedYaml) {
  const fs::path d = scratch("bad-yaml");
  const auto o = run_matrix(d, "cells:\n  - arch: x86_64\n    release: [6.1\n");
  expect_rejected(d, o, (d / "matrix.yaml").string(), 4, "invalid YAML");
}

TEST_F(BadInput, UnknownKeyListsTheKnownOnes) {
  const fs::path d = scratch("bad-key");
  const auto o = run_matrix(d, "cells:\n  - arch: x86_64\n    relase: \"6.1\"\n");
  expect_rejected(d, o, (d / "matrix.yaml").string(), 3, "unknown key 'relase' in a cell entry; expected one of: arch");
}

TEST_F(BadInput, UnknownAxisValueSaysWhatTheAxisAccepts) {
  const fs::path d = scratch("bad-value");
  const auto o = run_matrix(d, "cells:\n  - arch: aarch64\n    page_size: 8K\n");
  expect_rejected(d, o, (d / "matrix.yaml").string(), 3,
                  "'8K' is not a value of axis page_size; expected 4K, 16K or 64K");
}

TEST_F(BadInput, ImpossibleAxisCombinationCitesTheKconfig) {
  const fs::path d = scratch("bad-combination");
  const auto o = run_matrix(d, "cells:\n  - arch: aarch64\n    page_size: 4K\n    va_bits: 42\n");
  expect_rejected(d, o, (d / "matrix.yaml").string(), 2,
                  "aarch64 with 4K pages cannot have a 42-bit VA (arch/arm64/Kconfig allows 39, 48, 52)");
}

TEST_F(BadInput, ACellNoKernelRecipeProvides) {
  const fs::path d = scratch("bad-no-recipe");
  const auto o = run_matrix(d, "cells:\n  - arch: x86_64\n    release: \"5.10\"\n");
  expect_rejected(d, o, (d / "matrix.yaml").string(), 2, "no kernel recipe in kernels/ provides x86_64 release=5.10");
}

TEST_F(BadInput, AnOutOfRangeTimeout) {
  const fs::path d = scratch("bad-timeout");
  const auto o = run_matrix(d, "timeouts:\n  boot: -3\ncells:\n  - arch: x86_64\n");
  expect_rejected(d, o, (d / "matrix.yaml").string(), 2, "expected a whole number from 1 to 86400 for 'boot'");
}

TEST_F(BadInput, AScenarioWithAnUnknownKey) {
  const fs::path d = scratch("bad-scenario-key");
  write(d / "pack" / "demo" / "demo.c", "int main(void) { return 0; }\n");
  write(d / "pack" / "demo" / "scenario.yaml",
        "name: demo\nsummary: s\nbuild: {sources: [demo.c]}\nrun:\n  timeout: 5\n  retries: 3\n");
  const auto o = run_matrix(d, "cells:\n  - arch: x86_64\n    release: \"6.1\"\n",
                            {"--scenarios", (d / "pack").string()});
  expect_rejected(d, o, (d / "pack" / "demo" / "scenario.yaml").string(), 6, "unknown key 'retries'");
}

TEST_F(BadInput, AScenarioPredicateNamingAnUnknownFact) {
  const fs::path d = scratch("bad-scenario-predicate");
  write(d / "pack" / "demo" / "demo.c", "int main(void) { return 0; }\n");
  write(d / "pack" / "demo" / "scenario.yaml",
        "name: demo\nsummary: s\nbuild: {sources: [demo.c]}\nchecks:\n  a:\n    xfail:\n"
        "      - when: \"pagesize > 4K\"\n        reason: r\n");
  const auto o = run_matrix(d, "cells:\n  - arch: x86_64\n    release: \"6.1\"\n",
                            {"--scenarios", (d / "pack").string()});
  expect_rejected(d, o, (d / "pack" / "demo" / "scenario.yaml").string(), 7, "unknown name 'pagesize'");
}

TEST_F(BadInput, AKernelRecipeForASuiteDebianDoesNotHave) {
  // A project of its own (--root): the repository's images/ and scenarios/,
  // and a kernels/ directory holding one bad recipe.
  const fs::path d = scratch("bad-recipe");
  const fs::path root = d / "project";
  fs::create_directories(root / "kernels");
  fs::create_directory_symlink(fs::path(ARCHMATRIX_SOURCE_ROOT) / "images", root / "images");
  fs::create_directory_symlink(fs::path(ARCHMATRIX_SOURCE_ROOT) / "scenarios", root / "scenarios");
  write(root / "kernels" / "debian-potato-amd64.yaml",
        "arch: x86_64\nsource: debian\ndebian:\n  suite: potato\n  package: linux-image-amd64\n"
        "provides:\n  release: \"2.2\"\n  page_size: 4K\n");
  const auto o = run_matrix(d, "cells:\n  - arch: x86_64\n", {"--root", root.string()});
  expect_rejected(d, o, (root / "kernels" / "debian-potato-amd64.yaml").string(), 4, "potato");
}

// ---- report-writing faults ---------------------------------------------------

fs::path golden_report() { return fs::path(ARCHMATRIX_SOURCE_ROOT) / "tests/fixtures/golden/report.json"; }

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return files;
}

TEST(ReportWriting, AnOutputDirectoryThatCannotBeCreatedIsAClearError) {
  const fs::path d = scratch("unwritable");
  write(d / "a-file", "not a directory\n");
  const auto o = run_archmatrix({"merge", "--out", (d / "a-file" / "out").string(), golden_report().string()},
                                d / "log");
  EXPECT_EQ(o.exit_code, 3) << o.log;
  EXPECT_EQ(lines_of(o.log).size(), 1u) << o.log;
  EXPECT_NE(o.log.find((d / "a-file" / "out").string()), std::string::npos) << o.log;
  EXPECT_NE(o.log.find("Not a directory"), std::string::npos) << o.log;
  record_fault("report directory cannot be created", !::testing::Test::HasFailure(), 0);
}

TEST(ReportWriting, ADiskThatFillsUpLeavesThePreviousReportsIntact) {
  const fs::path d = scratch("disk-full");
  const fs::path out = d / "out";
  auto first = run_archmatrix({"merge", "--out", out.string(), golden_report().string()}, d / "log1");
  ASSERT_EQ(first.exit_code, 0) << first.log;
  const auto before = snapshot(out);
  ASSERT_TRUE(before.count("report.json") && before.count("junit.xml") && before.count("report.html"));

  // Every report is larger than 2 KiB, so each write fails part-way.
  const auto second = run_archmatrix({"merge", "--out", out.string(), golden_report().string()}, d / "log2", {},
                                     Limits{2048});
  EXPECT_EQ(second.exit_code, 3) << second.log;
  EXPECT_NE(second.log.find("cannot write " + out.string()), std::string::npos) << second.log;
  EXPECT_NE(second.log.find("File too large"), std::string::npos) << second.log;
  // The previous reports, byte for byte, and no temporary file left beside them.
  EXPECT_EQ(snapshot(out), before);
  record_fault("disk full while writing reports", !::testing::Test::HasFailure(), 0);
}

}  // namespace
}  // namespace archmatrix::testing
