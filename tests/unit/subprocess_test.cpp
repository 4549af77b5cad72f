// util::run_command's process hygiene (issue 9, items 5 and 12): a child
// that cannot start leaks no descriptor, every child runs in its own
// process group, and an interrupt kills that whole group at once.

#include "util/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "util/error.h"
#include "util/interrupt.h"

namespace archmatrix::util {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
}

pid_t read_pid(const fs::path& f) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(f);
    pid_t p = 0;
    if (in >> p && p > 0) return p;
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

class SubprocessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("am-subproc-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    reset_interrupt_for_tests();
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(SubprocessTest, AChildThatCannotStartLeaksNoDescriptor) {
  CommandOptions to_file;
  to_file.cwd = dir_ / "no-such-directory";  // the child's chdir fails: the process constructor throws
  to_file.output_file = dir_ / "out.log";
  CommandOptions to_pipe;
  to_pipe.cwd = to_file.cwd;
  const auto before = open_fds();
  for (const auto* o : {&to_file, &to_pipe}) {
    EXPECT_THROW(run_command({"true"}, *o), Error);
    EXPECT_EQ(open_fds(), before) << (o == &to_file ? "with an output file" : "with a pipe");
  }
}

TEST_F(SubprocessTest, EveryChildLeadsItsOwnProcessGroup) {
  // Field 5 of /proc/PID/stat is the process group.
  const auto r = run_command({"sh", "-c", "echo $$; cut -d' ' -f5 /proc/$$/stat"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream in(r.output);
  pid_t pid = 0, pgid = 0;
  in >> pid >> pgid;
  EXPECT_EQ(pid, pgid) << r.output;
  EXPECT_NE(pgid, ::getpgrp());
}

TEST_F(SubprocessTest, AnInterruptKillsTheWholeGroupAndStartsNothingMore) {
  install_interrupt_handlers();
  const fs::path child = dir_ / "child.pid", grandchild = dir_ / "grandchild.pid";
  std::thread interrupter([&] {
    read_pid(grandchild);
    ::kill(::getpid(), SIGINT);
  });
  const auto t0 = std::chrono::steady_clock::now();
  try {
    run_command({"sh", "-c", "sleep 300 & echo $! > " + grandchild.string() + "; echo $$ > " + child.string() +
                                 "; wait"});
    ADD_FAILURE() << "an interrupted command returned normally";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_status(), kExitInterrupted) << e.what();
  }
  interrupter.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  EXPECT_TRUE(interrupted());
  const pid_t c = read_pid(child), g = read_pid(grandchild);
  ASSERT_GT(g, 0);
  for (int i = 0; i < 100 && alive(g); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(c > 0 && alive(c));
  EXPECT_FALSE(alive(g)) << "the child's own child (make's compilers) outlived the interrupt";
  EXPECT_THROW(run_command({"true"}), Error) << "a command started after the interrupt";
}

// Boost reaps QEMU before it tells the supervisor (its async_wait reaps, then
// posts the handler), so a timeout firing in between must not signal a pid
// or group id that may now be someone else's.
TEST_F(SubprocessTest, KillTreeSendsNothingOnceTheChildIsReaped) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::pause();
    ::_exit(0);
  }
  ChildRef ref(pid);
  EXPECT_TRUE(ref.kill_tree());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(ref.kill_tree()) << "signals sent to a reaped child's ids";
}

}  // namespace
}  // namespace archmatrix::util
