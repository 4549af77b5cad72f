// `archmatrix exec` and core files, on real guests: a program that
// dereferences a bad pointer dies of SIGSEGV (status 139) and its core file
// comes back to the host beside a sysroot holding the program, its loader and
// libc (it is dynamic), so the host's gdb-multiarch names the faulting
// function in a backtrace; the report names
// the core. A core dumped by a child while the program itself exits 0 comes
// back too (a test runner's crashing test). --no-cores leaves them in the
// guest. --strace traces the program with Debian's strace of the target. On aarch64 (built 64K kernel) and armhf (Debian 6.1, 3G/1G).

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kProgram = R"(
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
__attribute__((noinline)) int archmatrix_crash_here(int *volatile p) { return *p; }
int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "child")) {  /* a child crashes, we exit 0 */
    pid_t pid = fork();
    if (pid == 0) return archmatrix_crash_here((int *)16);
    int st;
    waitpid(pid, &st, 0);
    printf("child %s\n", WIFSIGNALED(st) ? "signaled" : "exited");
    return 0;
  }
  /* A call the strace test looks for. */
  if (mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) return 2;
  printf("about to crash\n");
  fflush(stdout);
  return archmatrix_crash_here((int *)16);
}
)";

// Runs a shell command; its stdout and stderr.
std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::vector<fs::path> cores_in(const fs::path& dir) {
  std::vector<fs::path> c;
  if (!fs::is_directory(dir)) return c;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("core.", 0) == 0) c.push_back(e.path());
  return c;
}

class ExecCores : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override {
    dir_ = scratch(std::string("exec-cores-") + GetParam().cell);
    std::ofstream(dir_ / "prog.c") << kProgram;
    const std::string cmd = std::string(GetParam().cc) + " -g -O0 -o " + (dir_ / "prog").string() + " " +
                            (dir_ / "prog.c").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  Outcome exec(const std::string& name, std::vector<std::string> extra, const std::vector<std::string>& args) {
    std::vector<std::string> a{"exec", "--matrix", ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml", "--cell",
                               GetParam().cell};
    a.insert(a.end(), extra.begin(), extra.end());
    a.push_back("--");
    a.push_back((dir_ / "prog").string());
    a.insert(a.end(), args.begin(), args.end());
    return run_archmatrix(a, dir_ / (name + ".log"));
  }

  fs::path dir_;
};

TEST_P(ExecCores, ASegfaultBringsBackACoreThatGdbReadsOnTheHost) {
  const fs::path out = dir_ / "out";
  const auto r = exec("crash", {"--out", out.string()}, {});
  ASSERT_EQ(r.exit_code, 139) << r.log;  // 128 + SIGSEGV, as a shell says
  EXPECT_NE(r.log.find("about to crash"), std::string::npos) << r.log;
  const fs::path cores = out / "cells" / GetParam().cell / "cores";
  const auto found = cores_in(cores);
  ASSERT_EQ(found.size(), 1u) << r.log;
  EXPECT_GT(fs::file_size(found[0]), 4096u);
  // The program at its guest path in the sysroot, byte for byte, and the
  // libraries it ran with.
  const fs::path sysroot = cores / "sysroot";
  const fs::path program = sysroot / "archmatrix/exec/prog";
  ASSERT_TRUE(fs::exists(program)) << r.log;
  EXPECT_EQ(slurp(program), slurp(dir_ / "prog"));
  EXPECT_TRUE(fs::is_directory(sysroot / "lib")) << "no loader or libc beside the core";
  // The printed command is the one that works.
  EXPECT_NE(r.log.find("gdb-multiarch -batch"), std::string::npos) << r.log;
  const std::string bt = capture("gdb-multiarch -batch -iex 'set sysroot " + sysroot.string() + "' -ex bt " +
                                 program.string() + " " + found[0].string());
  EXPECT_NE(bt.find("archmatrix_crash_here"), std::string::npos) << bt;
  EXPECT_NE(bt.find("main"), std::string::npos) << bt;
  EXPECT_NE(bt.find("SIGSEGV"), std::string::npos) << bt;
  // The report names it.
  const auto report = read_report(out);
  const std::string message = report["cells"][0]["scenarios"][0]["results"][0]["message"];
  EXPECT_NE(message.find("core dumped: " + found[0].string()), std::string::npos) << message;
}

TEST_P(ExecCores, AChildsCoreComesBackThoughTheProgramExitsZero) {
  const fs::path where = dir_ / "cores";
  const auto r = exec("child", {"--cores", where.string()}, {"child"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_NE(r.log.find("child signaled"), std::string::npos) << r.log;
  EXPECT_EQ(cores_in(where / GetParam().cell).size(), 1u) << r.log;
}

TEST_P(ExecCores, NoCoresLeavesThemInTheGuest) {
  const fs::path where = dir_ / "none";
  const auto r = exec("nocores", {"--no-cores", "--cores", where.string()}, {});
  ASSERT_EQ(r.exit_code, 139) << r.log;
  EXPECT_FALSE(fs::exists(where)) << r.log;
  EXPECT_EQ(r.log.find("core dumped"), std::string::npos) << r.log;
}

// --strace: the trace holds the program's own calls (its 1 MiB anonymous
// mmap), and the status and the core file stay the program's, not strace's.
TEST_P(ExecCores, StraceTracesTheProgramAndKeepsItsStatusAndCore) {
  const fs::path out = dir_ / "traced";
  const auto r = exec("strace", {"--strace", "--out", out.string()}, {});
  ASSERT_EQ(r.exit_code, 139) << r.log;
  const fs::path cell = out / "cells" / GetParam().cell;
  const std::string trace = slurp(cell / "strace.txt");
  EXPECT_NE(trace.find("mmap"), std::string::npos) << trace;
  EXPECT_NE(trace.find("1048576"), std::string::npos) << trace;
  EXPECT_NE(trace.find("SIGSEGV"), std::string::npos) << trace;
  EXPECT_EQ(cores_in(cell / "cores").size(), 1u) << r.log;
  EXPECT_EQ(slurp(cell / "stdout"), "about to crash\n");
}

INSTANTIATE_TEST_SUITE_P(Cells, ExecCores,
                         ::testing::Values(Target{"aarch64-64k-va48", "aarch64-linux-gnu-gcc"},
                                           Target{"armhf-3g1g-6.1", "arm-linux-gnueabihf-gcc"}), target_name);

}  // namespace
}  // namespace archmatrix::testing
