// `archmatrix exec` choosing its cells, before anything is downloaded or
// booted: a --cell glob that matches nothing and a matrix with no cell of
// the program's architecture are one-line errors with exec's statuses (125:
// archmatrix could not do it; 126: the program cannot run there).

#include <gtest/gtest.h>

#include <cstdlib>

#include "cli_input.h"

namespace archmatrix::testing {
namespace {

class ExecCellChoice : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch("exec-cells-cli");
    write_file(dir_ / "prog.c", "int main(void) { return 0; }\n");
    ASSERT_EQ(std::system(("aarch64-linux-gnu-gcc -static -o " + (dir_ / "prog").string() + " " +
                           (dir_ / "prog.c").string())
                              .c_str()),
              0);
    // A QEMU directory with nothing in it: any boot would fail loudly.
    fs::create_directories(dir_ / "no-qemu");
  }

  Outcome exec(const std::vector<std::string>& args) {
    std::vector<std::string> all{"exec", "--qemu-dir", (dir_ / "no-qemu").string()};
    all.insert(all.end(), args.begin(), args.end());
    return run_archmatrix(all, dir_ / "log");
  }

  fs::path dir_;
};

TEST_F(ExecCellChoice, AGlobThatMatchesNoCellIs125AndNamesIt) {
  const auto o = exec({"--cell", "aarch64-64k-va48", "--cell", "no-such-cell*", "--", (dir_ / "prog").string()});
  EXPECT_EQ(o.exit_code, 125) << o.log;
  EXPECT_EQ(line_count(o.log), 1u) << o.log;
  EXPECT_NE(o.log.find("--cell no-such-cell*: no cell of"), std::string::npos) << o.log;
}

TEST_F(ExecCellChoice, NoCellOfTheProgramsArchIs126AndNamesBothMachines) {
  write_file(dir_ / "matrix.yaml", "cells:\n  - arch: x86_64\n    release: '6.1'\n");
  const auto o = exec({"--matrix", (dir_ / "matrix.yaml").string(), "--", (dir_ / "prog").string()});
  EXPECT_EQ(o.exit_code, 126) << o.log;
  // The skipped cell, then the reason: the ELF is AArch64, the cell x86-64.
  EXPECT_NE(o.log.find("skipped x86_64-6.1: the program is not for x86_64"), std::string::npos) << o.log;
  EXPECT_NE(o.log.find("AArch64"), std::string::npos) << o.log;
  EXPECT_NE(o.log.find("x86"), std::string::npos) << o.log;
  EXPECT_EQ(o.log.find("kernel"), std::string::npos) << "nothing prepared: " << o.log;
}

}  // namespace
}  // namespace archmatrix::testing
