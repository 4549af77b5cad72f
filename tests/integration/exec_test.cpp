// `archmatrix exec` on a real Debian x86_64 cell (docs/protocol.md, "Data
// channel"): a static program's exit status, signal and timeout come back
// by the docker run / timeout(1) conventions, and its stdout and stderr
// arrive byte-exact and separately, binary bytes and megabytes included.
// A program of another architecture is refused (126) before anything boots.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kCell = "x86_64-6.1";

// What the guest program does, by its first argument.
constexpr const char* kProgram = R"(
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void put(int fd, const unsigned char *p, size_t n) {
  while (n) { ssize_t w = write(fd, p, n); if (w <= 0) _exit(90); p += w; n -= (size_t)w; }
}
int main(int argc, char **argv) {
  if (argc < 2) return 0;
  if (!strcmp(argv[1], "exit")) return atoi(argv[2]);
  if (!strcmp(argv[1], "signal")) { raise(atoi(argv[2])); return 1; }
  if (!strcmp(argv[1], "sleep")) { sleep(atoi(argv[2])); return 0; }
  if (!strcmp(argv[1], "bytes")) {  /* stdout: i*7, stderr: 255-i; `n` blocks of 4096 */
    static unsigned char o[4096], e[4096];
    for (long b = 0, k = 0; b < atol(argv[2]); b++) {
      for (int i = 0; i < 4096; i++, k++) o[i] = (unsigned char)(k * 7), e[i] = (unsigned char)(255 - k);
      put(1, o, sizeof o);
      if (b % 16 == 0) put(2, e, sizeof e);
    }
    return 7;
  }
  return 0;
}
)";

std::string expected_stdout(long blocks) {
  std::string s;
  for (long k = 0; k < blocks * 4096; ++k) s += static_cast<char>(static_cast<unsigned char>(k * 7));
  return s;
}

std::string expected_stderr(long blocks) {
  std::string s;
  for (long b = 0, k = 0; b < blocks; ++b, k += 4096)
    if (b % 16 == 0)
      for (long i = 0; i < 4096; ++i) s += static_cast<char>(static_cast<unsigned char>(255 - (k + i)));
  return s;
}

struct Exec {
  int status = -1;
  std::string out, err;
};

class ExecCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch("exec"));
    util_write(*dir_ / "prog.c", kProgram);
    built_ = std::system(("cc -static -O2 -o " + (*dir_ / "prog").string() + " " + (*dir_ / "prog.c").string()).c_str()) == 0;
    arm_built_ = std::system(("aarch64-linux-gnu-gcc -static -O2 -o " + (*dir_ / "prog-arm64").string() + " " +
                              (*dir_ / "prog.c").string() + " 2>/dev/null")
                                 .c_str()) == 0;
  }
  static void TearDownTestSuite() { delete dir_; }

  static void util_write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
  }

  // Runs archmatrix with stdout and stderr kept apart, as a caller sees them.
  static Exec exec(std::vector<std::string> args) {
    args.insert(args.begin(), {ARCHMATRIX_BIN, "exec"});
    const fs::path out = *dir_ / "stdout", err = *dir_ / "stderr";
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int n = ::open("/dev/null", O_RDONLY);
      ::dup2(n, 0), ::dup2(o, 1), ::dup2(e, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    Exec r;
    r.status = wait_exit(pid);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  static fs::path* dir_;
  static bool built_, arm_built_;
};
fs::path* ExecCommand::dir_ = nullptr;
bool ExecCommand::built_ = false;
bool ExecCommand::arm_built_ = false;

TEST_F(ExecCommand, StdoutAndStderrArriveByteExactAndApartWithTheExitStatus) {
  ASSERT_TRUE(built_) << "cc -static failed";
  const long blocks = 1024;  // 4 MiB on stdout, 256 KiB on stderr, every byte value
  const Exec r = exec({"--cell", kCell, "--", (*dir_ / "prog").string(), "bytes", std::to_string(blocks)});
  EXPECT_EQ(r.status, 7) << r.err.substr(0, 2000);
  EXPECT_TRUE(r.out == expected_stdout(blocks)) << "stdout: " << r.out.size() << " bytes";
  EXPECT_TRUE(r.err == expected_stderr(blocks)) << "stderr: " << r.err.size() << " bytes: " << r.err.substr(0, 300);
  EXPECT_EQ(qemu_processes_mentioning("archmatrix-exec-"), 0);
}

TEST_F(ExecCommand, ExitStatusIsPassedThrough) {
  ASSERT_TRUE(built_);
  const Exec r = exec({"--cell", kCell, "--", (*dir_ / "prog").string(), "exit", "3"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

TEST_F(ExecCommand, ASignalIs128PlusItsNumber) {
  ASSERT_TRUE(built_);
  const Exec r = exec({"--cell", kCell, "--", (*dir_ / "prog").string(), "signal", "11"});
  EXPECT_EQ(r.status, 128 + 11) << r.err;
}

TEST_F(ExecCommand, TimeoutIs124) {
  ASSERT_TRUE(built_);
  const Exec r = exec({"--cell", kCell, "--timeout", "2", "--", (*dir_ / "prog").string(), "sleep", "600"});
  EXPECT_EQ(r.status, 124) << r.err;
}

TEST_F(ExecCommand, AProgramOfAnotherArchitectureIs126AndBootsNothing) {
  if (!arm_built_) GTEST_SKIP() << "no aarch64-linux-gnu-gcc";
  const Exec r = exec({"--cell", kCell, "--", (*dir_ / "prog-arm64").string()});
  EXPECT_EQ(r.status, 126);
  EXPECT_NE(r.err.find("is ELF64 AArch64, expected ELF64 x86-64 for x86_64"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace archmatrix::testing
