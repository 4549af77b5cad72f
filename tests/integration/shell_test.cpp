// `archmatrix shell CELL` driven through a pseudo-terminal, as a person at a
// terminal would (Debian arm64 16K kernel, restored guest): the shell reads
// commands and answers from the guest (tmpfs's block size is the 16K page
// size), learns the terminal's size and its changes, passes `exit N`
// through as the status, Ctrl-] leaves at once, SIGTERM ends it, and every
// way out leaves the terminal's modes as they were before. `repro --shell`
// opens the same shell in the guest a scenario just ran in, after its
// output, with what it left in /tmp, and the repro's verdict after it.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kCell = "aarch64-16k-6.12";

bool same_modes(const termios& a, const termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_lflag == b.c_lflag && a.c_cflag == b.c_cflag;
}

class Terminal {
 public:
  explicit Terminal(std::vector<std::string> args = {"shell", kCell}, unsigned short rows = 33,
                    unsigned short cols = 101) {
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = cols;
    if (::openpty(&master_, &slave_, nullptr, nullptr, &ws) != 0) throw std::runtime_error("openpty");
    ::tcgetattr(slave_, &before_);
    const std::string matrix = ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid();
      ::ioctl(slave_, TIOCSCTTY, 0);
      ::dup2(slave_, 0), ::dup2(slave_, 1), ::dup2(slave_, 2);
      ::close(master_);
      args.insert(args.begin() + 1, {"--matrix", matrix});
      std::vector<char*> argv{const_cast<char*>(ARCHMATRIX_BIN)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(ARCHMATRIX_BIN, argv.data());
      ::_exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && !reaped_) ::kill(pid_, SIGKILL), ::waitpid(pid_, nullptr, 0);
    ::close(master_), ::close(slave_);
  }
  void type(const std::string& s) { ASSERT_EQ(::write(master_, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  // Everything read until `want` appears (true), or the time is up (false).
  bool read_until(const std::string& want, int seconds = 300) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (seen_.find(want, from_) != std::string::npos) {
        from_ = seen_.find(want, from_) + want.size();
        return true;
      }
      pollfd p{master_, POLLIN, 0};
      if (::poll(&p, 1, 200) > 0) {
        char buf[4096];
        const ssize_t n = ::read(master_, buf, sizeof buf);
        if (n <= 0) return false;
        seen_.append(buf, static_cast<std::size_t>(n));
      }
    }
    return false;
  }
  void resize(unsigned short rows, unsigned short cols) {
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = cols;
    ::ioctl(master_, TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to archmatrix
  }
  int wait() {
    // Keep draining, so a full pty buffer never blocks the end.
    for (int i = 0; i < 600; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      read_until("\x01never\x01", 1);
    }
    return -1;
  }
  bool modes_restored() const {
    termios now{};
    ::tcgetattr(slave_, &now);
    return same_modes(before_, now);
  }
  pid_t pid() const { return pid_; }
  const std::string& seen() const { return seen_; }

 private:
  int master_ = -1, slave_ = -1;
  pid_t pid_ = -1;
  bool reaped_ = false;
  termios before_{};
  std::string seen_;
  std::size_t from_ = 0;
};

TEST(Shell, AnswersFromTheGuestAndPassesExitThrough) {
  Terminal t;
  ASSERT_TRUE(t.read_until(std::string(kCell) + ":/")) << t.seen();  // the prompt: cell:cwd
  t.type("stat -f -c 'BLOCK=%S' /tmp; echo \"SIZE=$(stty size)\"\r");
  ASSERT_TRUE(t.read_until("BLOCK=16384", 60)) << t.seen();
  ASSERT_TRUE(t.read_until("SIZE=33 101", 60)) << t.seen();
  t.resize(40, 120);
  ::usleep(600 * 1000);  // archmatrix passes it on within 200 ms
  t.type("echo \"NOW=$(stty size)\"\r");
  ASSERT_TRUE(t.read_until("NOW=40 120", 60)) << t.seen();
  t.type("exit 3\r");
  EXPECT_EQ(t.wait(), 3) << t.seen();
  EXPECT_TRUE(t.modes_restored());
}

TEST(Shell, CtrlRightBracketLeavesAtOnce) {
  Terminal t;
  ASSERT_TRUE(t.read_until(std::string(kCell) + ":/")) << t.seen();  // the prompt: cell:cwd
  t.type("sleep 1000\r");
  ::usleep(300 * 1000);
  t.type("\x1d");
  EXPECT_EQ(t.wait(), 0) << t.seen();
  EXPECT_NE(t.seen().find("left with Ctrl-]"), std::string::npos) << t.seen();
  EXPECT_TRUE(t.modes_restored());
}

TEST(Shell, SigtermRestoresTheTerminal) {
  Terminal t;
  ASSERT_TRUE(t.read_until(std::string(kCell) + ":/")) << t.seen();  // the prompt: cell:cwd
  ::kill(t.pid(), SIGTERM);
  EXPECT_EQ(t.wait(), 130) << t.seen();
  EXPECT_TRUE(t.modes_restored());
}

TEST(Shell, ReproShellOpensInTheGuestTheScenarioRanIn) {
  // A scenario that leaves a file in its cwd (/tmp) and fails.
  const fs::path pack = scratch("repro-shell") / "pack";
  fs::create_directories(pack / "leaves-a-file");
  std::ofstream(pack / "leaves-a-file" / "scenario.yaml") << "name: leaves-a-file\n"
                                                            "summary: writes /tmp/left-behind and exits 1\n"
                                                            "build:\n  sources: [leave.c]\n  link: static\n"
                                                            "run:\n  timeout: 30\n";
  std::ofstream(pack / "leaves-a-file" / "leave.c") << R"(#include <stdio.h>
int main(void) {
  FILE *f = fopen("left-behind", "w");
  if (!f) return 2;
  fprintf(f, "LEFT=by-the-scenario\n");
  fclose(f);
  printf("wrote it\n");
  return 1;
}
)";
  Terminal t({"repro", "--scenarios", pack.string(), kCell, "leaves-a-file", "--shell"});
  ASSERT_TRUE(t.read_until("wrote it")) << t.seen();
  ASSERT_TRUE(t.read_until("a shell in the same guest", 60)) << t.seen();
  ASSERT_TRUE(t.read_until(std::string(kCell) + ":/", 60)) << t.seen();
  t.type("cat left-behind; stat -f -c 'BLOCK=%S' .\r");
  ASSERT_TRUE(t.read_until("LEFT=by-the-scenario", 60)) << t.seen();
  ASSERT_TRUE(t.read_until("BLOCK=16384", 60)) << t.seen();
  t.type("exit 0\r");
  // The verdict is the scenario's, not the shell's.
  EXPECT_EQ(t.wait(), 1) << t.seen();
  EXPECT_NE(t.seen().find("FAIL        leaves-a-file"), std::string::npos) << t.seen();
  EXPECT_TRUE(t.modes_restored());
}

}  // namespace
}  // namespace archmatrix::testing
