// `archmatrix exec` on several cells at once: the cells of the program's
// architecture run (the others are listed as skipped, with why), every live
// output line carries its cell id, a table ends the run, the reports hold
// one result per cell, each cell's output is kept byte-exact in --out, and
// the exit status is the first failing cell's.

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

// Passes only on 64K pages; prints its page size, and a last line with no
// newline (the prefixer must still show it).
constexpr const char* kProgram = R"(
#include <stdio.h>
#include <unistd.h>
int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  printf("page %ld\n", page);
  fprintf(stderr, "to stderr\n");
  printf("no newline");
  return page == 65536 ? 0 : 3;
}
)";

TEST(ExecCells, EveryCellOfTheProgramsArchRunsWithPrefixedLinesATableAndReports) {
  const fs::path dir = scratch("exec-cells");
  std::ofstream(dir / "prog.c") << kProgram;
  ASSERT_EQ(std::system(("aarch64-linux-gnu-gcc -static -O2 -o " + (dir / "prog").string() + " " +
                         (dir / "prog.c").string())
                            .c_str()),
            0);
  // Two aarch64 cells (a Debian 16K kernel and a built 64K one) and an
  // x86_64 cell that an aarch64 program cannot use.
  std::ofstream(dir / "matrix.yaml") << "defaults: {memory: 1024}\n"
                                        "timeouts: {boot: 120, no_output: 60, margin: 60, tcg_scale: 1}\n"
                                        "cells:\n"
                                        "  - {arch: aarch64, page_size: 16K, release: '6.12'}\n"
                                        "  - {arch: aarch64, page_size: 64K, va_bits: 48}\n"
                                        "  - {arch: x86_64, release: '6.1'}\n";
  const fs::path out = dir / "out";
  const fs::path log_out = dir / "stdout.txt", log_err = dir / "stderr.txt";
  const std::string cmd = std::string(ARCHMATRIX_BIN) + " exec --matrix " + (dir / "matrix.yaml").string() +
                          " --jobs 2 --out " + out.string() + " -- " + (dir / "prog").string() + " >" +
                          log_out.string() + " 2>" + log_err.string() + " </dev/null";
  const int raw = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(raw));
  const std::string o = slurp(log_out), e = slurp(log_err);
  const std::string c16 = "aarch64-16k-6.12", c64 = "aarch64-64k-va48";
  // The first failing cell in cell order decides: the 16K one exits 3.
  EXPECT_EQ(WEXITSTATUS(raw), 3) << o << e;
  EXPECT_NE(o.find("[" + c16 + "] page 16384\n"), std::string::npos) << o;
  EXPECT_NE(o.find("[" + c64 + "] page 65536\n"), std::string::npos) << o;
  EXPECT_NE(o.find("[" + c64 + "] no newline\n"), std::string::npos) << o;
  EXPECT_NE(e.find("[" + c16 + "] to stderr\n"), std::string::npos) << e;
  EXPECT_NE(e.find("skipped x86_64-6.1: "), std::string::npos) << e;
  // The table: each cell with its status and the guest's own page size.
  EXPECT_NE(e.find("page_size"), std::string::npos) << e;
  for (const auto& [id, cols] : {std::pair{c16, std::string("3")}, std::pair{c64, std::string("0")}}) {
    const auto row = e.find("\n" + id + " ");
    ASSERT_NE(row, std::string::npos) << id << "\n" << e;
    const std::string line = e.substr(row + 1, e.find('\n', row + 1) - row - 1);
    EXPECT_NE(line.find(" " + cols + " "), std::string::npos) << line;
    EXPECT_NE(line.find(id == c16 ? "16384" : "65536"), std::string::npos) << line;
  }
  // Each cell's output, unprefixed and byte-exact, beside the reports.
  EXPECT_EQ(slurp(out / "cells" / c64 / "stdout"), "page 65536\nno newline");
  EXPECT_EQ(slurp(out / "cells" / c16 / "stderr"), "to stderr\n");
  const auto r = read_report(out);
  ASSERT_EQ(r["cells"].size(), 2u) << r.dump(1);
  for (const auto& c : r["cells"]) {
    ASSERT_EQ(c["scenarios"].size(), 1u);
    EXPECT_EQ(c["scenarios"][0]["code"], c["id"] == c16 ? "FAIL" : "PASS") << c.dump(1);
    EXPECT_EQ(c["facts"]["page_size"], c["id"] == c16 ? "16384" : "65536");
  }
  ASSERT_EQ(r["skipped"].size(), 1u);
  EXPECT_EQ(r["skipped"][0]["id"], "x86_64-6.1");
  for (const char* f : {"junit.xml", "summary.md", "report.html"}) EXPECT_TRUE(fs::exists(out / f)) << f;
}

}  // namespace
}  // namespace archmatrix::testing
