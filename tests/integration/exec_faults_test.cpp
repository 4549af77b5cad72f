// `archmatrix exec` when the program misbehaves, on the built 64K cell (it
// boots in about a second): children left running are killed and the status
// is the program's; 100 MB of output all arrives while exec's memory stays
// bounded; Ctrl-C kills QEMU and exits 130.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "reliability_ledger.h"
#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kCell = "aarch64-64k-va48";

constexpr const char* kProgram = R"(
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "fork")) {
    /* A child that would hold stdout open and run for ten minutes. */
    if (fork() == 0) { setsid(); for (;;) { puts("child"); fflush(stdout); sleep(1); } }
    return 5;
  }
  if (argc > 1 && !strcmp(argv[1], "flood")) {
    static char block[1 << 16];
    for (size_t i = 0; i < sizeof block; i++) block[i] = (char)('a' + i % 26);
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++)
      for (size_t off = 0; off < sizeof block;) { ssize_t w = write(1, block + off, sizeof block - off); if (w <= 0) return 9; off += (size_t)w; }
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "cat")) {
    static char b[1 << 15];
    for (ssize_t n; (n = read(0, b, sizeof b)) > 0;)
      for (ssize_t o = 0; o < n;) { ssize_t w = write(1, b + o, (size_t)(n - o)); if (w <= 0) return 9; o += w; }
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "wait")) { puts("waiting"); fflush(stdout); pause(); }
  return 0;
}
)";

class ExecFaults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch("exec-faults"));
    built_ = build_static_program(*dir_, kProgram);
  }
  static void TearDownTestSuite() { delete dir_; }

  // Starts exec with stdout to a file, stderr to another, TMPDIR private.
  // archmatrix exec of the program's "wait" mode, once the program runs (its
  // first line arrived in <name>.out): the pid, or -1 when it never got there.
  static pid_t start_waiting(const std::string& name) {
    const fs::path out = *dir_ / (name + ".out");
    const pid_t pid = start({(*dir_ / "prog").string(), "wait"}, out, *dir_ / (name + ".err"));
    for (int i = 0; i < 1200 && slurp(out).find("waiting") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return slurp(out).find("waiting") == std::string::npos ? -1 : pid;
  }

  static pid_t start(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("TMPDIR", dir_->c_str(), 1);
      FILE* o = std::fopen(out.c_str(), "w");
      FILE* e = std::fopen(err.c_str(), "w");
      ::dup2(fileno(o), 1);
      ::dup2(fileno(e), 2);
      std::vector<std::string> a{ARCHMATRIX_BIN, "exec", "--matrix",
                                 std::string(ARCHMATRIX_SOURCE_ROOT) + "/tests/integration/matrix.yaml", "--cell",
                                 kCell, "--"};
      a.insert(a.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& s : a) argv.push_back(s.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }

  static fs::path* dir_;
  static bool built_;
};
fs::path* ExecFaults::dir_ = nullptr;
bool ExecFaults::built_ = false;

TEST_F(ExecFaults, ChildrenLeftRunningAreKilledAndTheStatusIsTheProgramsOwn) {
  ASSERT_TRUE(built_);
  // Were the child kept alive (or waited for), --timeout would end it: 124.
  const pid_t pid = start({"--timeout", "120", "--", (*dir_ / "prog").string(), "fork"}, *dir_ / "f.out",
                          *dir_ / "f.err");
  EXPECT_EQ(wait_exit(pid), 5) << slurp(*dir_ / "f.err");
  const int left = qemu_processes_mentioning(dir_->string());
  EXPECT_EQ(left, 0);
  record_fault("exec: the program leaves children running", !HasFailure(), left);
}

TEST_F(ExecFaults, AHundredMegabytesOfOutputAllArriveInBoundedMemory) {
  ASSERT_TRUE(built_);
  const long blocks = 1600;  // of 64 KiB: 100 MiB
  const pid_t pid = start({(*dir_ / "prog").string(), "flood", std::to_string(blocks)}, *dir_ / "flood.out",
                          *dir_ / "flood.err");
  // exec's own peak RSS (VmHWM; wait4's would include QEMU, a child), read
  // while it runs: the high-water mark only grows, so the last read is
  // within a few milliseconds of the end.
  long hwm_kib = 0;
  int status = 0;
  for (;;) {
    const std::string st = slurp(fs::path("/proc") / std::to_string(pid) / "status");
    if (auto at = st.find("VmHWM:"); at != std::string::npos) hwm_kib = std::atol(st.c_str() + at + 6);
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(*dir_ / "flood.err");
  EXPECT_EQ(fs::file_size(*dir_ / "flood.out"), static_cast<std::uintmax_t>(blocks) * 65536);
  // Every byte in order: the pattern repeats per block.
  std::ifstream in(*dir_ / "flood.out", std::ios::binary);
  std::string block(65536, '\0');
  bool same = true;
  for (long i = 0; i < blocks && same; ++i) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    for (std::size_t k = 0; k < block.size() && same; k += 4099) same = block[k] == static_cast<char>('a' + k % 26);
  }
  EXPECT_TRUE(same);
  // Output is written as it comes, never collected: exec's peak RSS stays
  // far below the 100 MiB it passed through.
  EXPECT_GT(hwm_kib, 0);
  EXPECT_LT(hwm_kib, 64 * 1024) << "peak RSS " << hwm_kib << " KiB for 100 MiB of output";
  const int left = qemu_processes_mentioning(dir_->string());
  EXPECT_EQ(left, 0);
  record_fault("exec: the program prints 100 MB to stdout", !HasFailure(), left);
}

TEST_F(ExecFaults, StdinFromAFileOrAPipeReachesTheProgramByteExact) {
  ASSERT_TRUE(built_);
  std::string data;
  for (int i = 0; i < 3 * 1024 * 1024 + 17; ++i) data += static_cast<char>((i * 131) ^ (i >> 9));
  std::ofstream(*dir_ / "in.bin", std::ios::binary) << data;
  const std::string exec = std::string(ARCHMATRIX_BIN) + " exec --matrix " + ARCHMATRIX_SOURCE_ROOT +
                           "/tests/integration/matrix.yaml --cell " + kCell + " -- " + (*dir_ / "prog").string() +
                           " cat";
  // A file, then a pipe (whose writer ends before the guest has read all).
  ASSERT_EQ(std::system((exec + " <" + (*dir_ / "in.bin").string() + " >" + (*dir_ / "file.out").string()).c_str()),
            0);
  EXPECT_TRUE(slurp(*dir_ / "file.out") == data) << fs::file_size(*dir_ / "file.out") << " bytes";
  ASSERT_EQ(std::system(("cat " + (*dir_ / "in.bin").string() + " | " + exec + " >" + (*dir_ / "pipe.out").string())
                            .c_str()),
            0);
  EXPECT_TRUE(slurp(*dir_ / "pipe.out") == data) << fs::file_size(*dir_ / "pipe.out") << " bytes";
}

TEST_F(ExecFaults, CtrlCKillsQemuAndExits130) {
  ASSERT_TRUE(built_);
  const pid_t pid = start_waiting("int");
  ASSERT_NE(pid, -1) << slurp(*dir_ / "int.err");
  EXPECT_GT(qemu_processes_mentioning(dir_->string()), 0);
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130) << slurp(*dir_ / "int.err");
  const int left = qemu_processes_mentioning(dir_->string());
  EXPECT_EQ(left, 0);
  record_fault("exec: Ctrl-C while the program runs", !HasFailure(), left);
}

// A SIGKILL of archmatrix (the OOM killer, a CI runner's timeout, a test
// harness cleaning up) cannot be caught: the guest's QEMU must die with it
// all the same.
TEST_F(ExecFaults, SigkillOfArchmatrixTakesItsQemuAlong) {
  ASSERT_TRUE(built_);
  const pid_t pid = start_waiting("kill");
  ASSERT_NE(pid, -1) << slurp(*dir_ / "kill.err");
  EXPECT_GT(qemu_processes_mentioning(dir_->string()), 0);
  ::kill(pid, SIGKILL);
  wait_exit(pid);
  int left = 0;
  for (int i = 0; i < 50 && (left = qemu_processes_mentioning(dir_->string())) > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(left, 0);
  record_fault("exec: SIGKILL of archmatrix while the program runs", !HasFailure(), left);
}

}  // namespace
}  // namespace archmatrix::testing
