// `archmatrix exec --gdb` on real guests, aarch64 (built 64K kernel) and
// armhf (Debian's): the program starts stopped under Debian's gdbserver of
// the target arch, on a virtio port the host sees as a socket; the printed
// gdb-multiarch command, given to a shell with batch commands, breaks at
// main, continues to the SIGSEGV and names the faulting function, with the
// program's shared libraries resolved through the printed sysroot.
// --gdb=run starts gdb-multiarch itself, which here reads its commands
// from stdin. --kernel-gdb stops a built kernel before its first
// instruction under QEMU's gdbstub; the printed command, with the kernel's
// vmlinux, breaks in start_kernel, and after gdb detaches the guest boots
// and the program's status comes back.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kProgram = R"(#include <stdio.h>
__attribute__((noinline)) int archmatrix_crash_here(int *volatile p) { return *p; }
int main(void) {
  printf("about to crash\n");
  fflush(stdout);
  return archmatrix_crash_here((int *)16);
}
)";

// The line after `intro` ("debug it with:") in `log`, once it is there.
std::string printed_command(const fs::path& log, std::chrono::seconds limit,
                            const std::string& intro = "debug it with:") {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    const std::string text = slurp(log);
    const auto at = text.find(intro + "\n  ");
    if (at != std::string::npos) {
      const auto from = at + intro.size() + 3, to = text.find('\n', from);
      if (to != std::string::npos) return text.substr(from, to - from);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return "";
}

const char* const kBatch = " -batch -ex 'break main' -ex continue -ex continue -ex bt";

class ExecGdb : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override {
    dir_ = scratch(std::string("exec-gdb-") + GetParam().cell);
    std::ofstream(dir_ / "prog.c") << kProgram;
    const std::string cmd = std::string(GetParam().cc) + " -g -O1 -o " + (dir_ / "prog").string() + " " +
                            (dir_ / "prog.c").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  std::vector<std::string> exec_args(const std::string& gdb) const {
    return {"exec", "--matrix", ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml", "--cell", GetParam().cell,
            gdb,    "--",       (dir_ / "prog").string()};
  }
  fs::path dir_;
};

TEST_P(ExecGdb, ThePrintedCommandDebugsTheProgramInTheGuest) {
  const fs::path log = dir_ / "exec.log";
  const pid_t pid = spawn(exec_args("--gdb"), log);
  const std::string cmd = printed_command(log, std::chrono::seconds(300));
  ASSERT_NE(cmd.find("gdb-multiarch -iex 'set sysroot "), std::string::npos) << slurp(log);
  // The program has not started: nothing of it has run before gdb is there.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(slurp(log).find("about to crash"), std::string::npos) << slurp(log);
  const auto gdb = sh("cd / && timeout 300 " + cmd + kBatch);
  EXPECT_NE(gdb.log.find("Breakpoint 1, main ()"), std::string::npos) << gdb.log;
  EXPECT_NE(gdb.log.find("SIGSEGV"), std::string::npos) << gdb.log;
  EXPECT_NE(gdb.log.find("#0  "), std::string::npos) << gdb.log;
  EXPECT_NE(gdb.log.find("in archmatrix_crash_here (p="), std::string::npos) << gdb.log;
  EXPECT_NE(gdb.log.find("in main () at "), std::string::npos) << gdb.log;
  // Shared libraries came from the sysroot: no "warning: Unable to find dynamic linker".
  EXPECT_EQ(gdb.log.find("Unable to find dynamic linker"), std::string::npos) << gdb.log;
  // The status is gdbserver's, which ends when gdb does: 0.
  EXPECT_EQ(wait_exit(pid), 0) << slurp(log);
  EXPECT_NE(slurp(log).find("about to crash"), std::string::npos) << slurp(log);
}

TEST_P(ExecGdb, GdbRunStartsGdbMultiarchOnOurTerminal) {
  // gdb reads its commands from its stdin when that is not a terminal.
  const std::string cmds = (dir_ / "cmds").string();
  std::ofstream(cmds) << "break main\ncontinue\ncontinue\nbt\nkill\nquit\n";
  std::string line = "cd '" + dir_.string() + "' && timeout 300 " + std::string(ARCHMATRIX_BIN);
  for (const auto& a : exec_args("--gdb=run")) line += " '" + a + "'";
  const auto r = sh(line + " < '" + cmds + "'");
  EXPECT_NE(r.log.find("starting gdb-multiarch"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("Breakpoint 1, main ()"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("in archmatrix_crash_here (p="), std::string::npos) << r.log;
  EXPECT_EQ(r.exit_code, 0) << r.log;  // gdbserver's, after gdb's `kill`
}

TEST(ExecKernelGdb, TheBuiltKernelStopsForGdbAndBootsOnWhenItDetaches) {
  const fs::path dir = scratch("exec-kernel-gdb");
  ASSERT_TRUE(build_static_program(dir, "int main(void) { return 3; }\n"));
  const fs::path log = dir / "exec.log";
  const pid_t pid = spawn({"exec", "--matrix", ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml", "--cell",
                           "aarch64-64k-va48", "--kernel-gdb", "--", (dir / "prog").string()},
                          log);
  const std::string cmd = printed_command(log, std::chrono::seconds(300), "debug the kernel with:");
  ASSERT_NE(cmd.find("/vmlinux"), std::string::npos) << slurp(log);
  const auto sock = cmd.find("target remote ");
  ASSERT_NE(sock, std::string::npos) << cmd;
  const fs::path socket = cmd.substr(sock + 14, cmd.find('\'', sock) - sock - 14);
  for (int i = 0; i < 100 && !fs::exists(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto gdb = sh("timeout 300 " + cmd + " -batch -ex 'hbreak start_kernel' -ex continue -ex bt -ex delete -ex detach");
  EXPECT_NE(gdb.log.find("in start_kernel ()"), std::string::npos) << gdb.log;
  EXPECT_NE(gdb.log.find("#0  "), std::string::npos) << gdb.log;
  EXPECT_EQ(wait_exit(pid), 3) << slurp(log);
}

TEST(ExecKernelGdb, ADebianKernelIsRefusedBeforeAnythingBoots) {
  const fs::path dir = scratch("exec-kernel-gdb-debian");
  ASSERT_TRUE(build_static_program(dir, "int main(void) { return 0; }\n"));
  const auto r = run_archmatrix({"exec", "--matrix", ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml", "--cell",
                                 "aarch64-16k-6.12", "--kernel-gdb", "--", (dir / "prog").string()},
                                dir / "exec.log");
  EXPECT_EQ(r.exit_code, 2) << r.log;
  EXPECT_NE(r.log.find("--kernel-gdb: aarch64-16k-6.12 runs Debian's kernel"), std::string::npos) << r.log;
}

INSTANTIATE_TEST_SUITE_P(Cells, ExecGdb,
                         ::testing::Values(Target{"aarch64-64k-va48", "aarch64-linux-gnu-gcc"},
                                           Target{"armhf-3g1g-6.1", "arm-linux-gnueabihf-gcc"}), target_name);

}  // namespace
}  // namespace archmatrix::testing
