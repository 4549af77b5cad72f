// The supervisor against a fake qemu-system-* (tests/fake_qemu) that boots,
// hangs, panics, floods, dies or ignores signals on request: every fault ends
// in the right CellEnd, nothing is invented, and no process is left behind.

#include "exec/supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "reliability_ledger.h"
#include "util/interrupt.h"

namespace archmatrix::exec {
namespace {

namespace fs = std::filesystem;
using verdict::CellEnd;
using namespace std::chrono_literals;

const std::string kNonce = "0123456789abcdef";

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("am-sup-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "plan") << "nonce " << kNonce << "\nscenario alpha 1000 65534 /x\nscenario beta 1000 65534 /y\n";
  }
  void TearDown() override {
    const int left = processes_mentioning(dir_.string());
    EXPECT_EQ(left, 0) << "a fake QEMU outlived the test";
    // Which fault each case injects, for README.md's Reliability table.
    static const std::map<std::string, std::string> faults{
        {"GuestThatNeverBootsIsABootTimeoutAndIsKilled", "guest never boots"},
        {"QemuIgnoringSigtermIsStillKilled", "QEMU ignores SIGTERM"},
        {"SilenceAfterBootIsANoOutputTimeout", "guest boots, then prints nothing"},
        {"EndlessOutputHitsTheOverallBound", "guest prints forever"},
        {"PanicIsACrashWithItsTitleEvenWhenTheHeaderIsSplit", "kernel panic (fake, header split across reads)"},
        {"QemuThatExitsAtOnceIsAnErrorWithItsOwnMessage", "QEMU exits at once (bad argument)"},
        {"MissingQemuIsAStartFailure", "QEMU missing"},
        {"QemuKilledFromOutsideMidRunIsAnErrorSayingSo", "QEMU killed from outside mid-run"},
        {"ForgedAndCorruptFramesAreIgnoredAndRecorded", "forged and corrupted records"},
        {"FramesCutByKernelMessagesLoseNothing", "records cut by kernel messages"},
        {"SigintKillsRunningCellsAndStartsNoMore", "runner interrupted (SIGINT, fake QEMU)"},
        {"FloodKeepsTheConsoleHeadAndTailWithTheCutMarked", "guest floods the console, then panics"},
        {"FakePanicLineFromAScenarioIsNotACrash", "scenario prints a fake kernel panic to the console"},
        {"SecondResultOrResultOfAScenarioNotRunningIsRejected", "agent records replayed (second result, result of a scenario not running)"},
    };
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    if (auto it = faults.find(name); it != faults.end())
      archmatrix::testing::record_fault(it->second, !::testing::Test::HasFailure(), left);
    ::unsetenv("FAKE_QEMU_MODE");
    ::unsetenv("FAKE_QEMU_FLOOD_BYTES");
    util::reset_interrupt_for_tests();
    fs::remove_all(dir_);
  }

  CellJob job(const std::string& id) {
    CellJob j;
    j.id = id;
    j.argv = {FAKE_QEMU, "-initrd", (dir_ / "plan").string(), "-name", dir_.string()};
    j.nonce = kNonce;
    j.scenario_names = {"alpha", "beta"};
    j.console_log = dir_ / (id + ".log");
    j.boot_timeout = 2s;
    j.no_output_timeout = 2s;
    j.overall_timeout = 5s;
    j.crash_grace = 500ms;
    return j;
  }

  std::vector<verdict::CellRun> run(const std::string& mode, std::vector<CellJob> jobs, int parallel = 2) {
    ::setenv("FAKE_QEMU_MODE", mode.c_str(), 1);
    Supervisor s(parallel, nullptr);
    return s.run(jobs);
  }

  static int processes_mentioning(const std::string& marker) {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in(e.path() / "cmdline");
      std::string cmd((std::istreambuf_iterator<char>(in)), {});
      if (cmd.find(marker) != std::string::npos && cmd.find("fake") != std::string::npos) ++n;
    }
    return n;
  }

  fs::path dir_;
};

TEST_F(SupervisorTest, NormalBootReportsFactsAndEveryScenario) {
  auto runs = run("ok", {job("a")});
  ASSERT_EQ(runs.size(), 1u);
  const auto& r = runs[0];
  EXPECT_EQ(r.end, CellEnd::completed) << r.end_detail;
  ASSERT_TRUE(r.facts);
  EXPECT_EQ(r.facts->at("page_size"), "4096");
  ASSERT_EQ(r.scenarios.size(), 2u);
  for (const auto& s : r.scenarios) {
    EXPECT_TRUE(s.finished) << s.name;
    EXPECT_EQ(s.status, "exit");
    EXPECT_EQ(s.value, "0");
    EXPECT_EQ(s.stdout_text, "ok\n");
  }
  EXPECT_GE(r.boot_seconds, 0.0);
  EXPECT_EQ(r.qemu_exit_code, 0);
  EXPECT_TRUE(r.protocol_anomalies.empty());
  EXPECT_GT(fs::file_size(dir_ / "a.log"), 0u);
}

TEST_F(SupervisorTest, GuestThatNeverBootsIsABootTimeoutAndIsKilled) {
  auto j = job("a");
  j.boot_timeout = 300ms;
  auto r = run("hang", {j})[0];
  EXPECT_EQ(r.end, CellEnd::boot_timeout);
  EXPECT_LT(r.wall_seconds, 3.0);
  EXPECT_EQ(r.qemu_exit_code, -1);
}

TEST_F(SupervisorTest, QemuIgnoringSigtermIsStillKilled) {
  auto j = job("a");
  j.boot_timeout = 300ms;
  auto r = run("ignore-term", {j})[0];
  EXPECT_EQ(r.end, CellEnd::boot_timeout);
  EXPECT_LT(r.wall_seconds, 3.0);
}

TEST_F(SupervisorTest, SilenceAfterBootIsANoOutputTimeout) {
  auto j = job("a");
  j.no_output_timeout = 400ms;
  auto r = run("silent", {j})[0];
  EXPECT_EQ(r.end, CellEnd::no_output_timeout);
  EXPECT_TRUE(r.facts);
}

TEST_F(SupervisorTest, EndlessOutputHitsTheOverallBound) {
  auto j = job("a");
  j.overall_timeout = 800ms;
  auto r = run("flood", {j})[0];
  EXPECT_EQ(r.end, CellEnd::overall_timeout);
  EXPECT_LT(r.wall_seconds, 4.0);
}

TEST_F(SupervisorTest, PanicIsACrashWithItsTitleEvenWhenTheHeaderIsSplit) {
  auto r = run("panic", {job("a")})[0];
  EXPECT_EQ(r.end, CellEnd::crashed);
  EXPECT_EQ(r.crash_title, "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000");
  EXPECT_NE(r.crash_text.find("Kernel panic - not syncing"), std::string::npos);
  EXPECT_TRUE(r.scenarios[0].begun);
  EXPECT_FALSE(r.scenarios[0].finished);
}

TEST_F(SupervisorTest, QemuThatExitsAtOnceIsAnErrorWithItsOwnMessage) {
  auto r = run("die", {job("a")})[0];
  EXPECT_EQ(r.end, CellEnd::qemu_exited);
  EXPECT_NE(r.end_detail.find("unable to find CPU model 'bogus'"), std::string::npos) << r.end_detail;
  EXPECT_EQ(r.qemu_exit_code, 1);
}

TEST_F(SupervisorTest, QemuKilledFromOutsideMidRunIsAnErrorSayingSo) {
  auto j = job("a");
  j.boot_timeout = 30s;
  j.overall_timeout = 30s;
  std::thread killer([this] {
    // Wait for the fake to start, then kill it as an OOM killer or a user would.
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(50ms);
      for (const auto& e : fs::directory_iterator("/proc")) {
        const std::string name = e.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(e.path() / "cmdline");
        std::string cmd((std::istreambuf_iterator<char>(in)), {});
        if (cmd.find(dir_.string()) != std::string::npos && cmd.find("fake") != std::string::npos) {
          ::kill(std::stoi(name), SIGKILL);
          return;
        }
      }
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run("hang", {j})[0];
  killer.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  EXPECT_EQ(r.end, CellEnd::qemu_exited) << r.end_detail;
  EXPECT_NE(r.end_detail.find("QEMU was killed by signal 9"), std::string::npos) << r.end_detail;
  EXPECT_EQ(r.qemu_exit_code, 128 + 9);
}

TEST_F(SupervisorTest, MissingQemuIsAStartFailure) {
  auto j = job("a");
  j.argv[0] = (dir_ / "no-such-qemu").string();
  auto r = run("ok", {j})[0];
  EXPECT_EQ(r.end, CellEnd::start_failed);
  EXPECT_NE(r.end_detail.find("no-such-qemu"), std::string::npos);
}

TEST_F(SupervisorTest, ForgedAndCorruptFramesAreIgnoredAndRecorded) {
  auto r = run("forge", {job("a")})[0];
  EXPECT_EQ(r.end, CellEnd::completed);
  EXPECT_EQ(r.scenarios[0].value, "0");
  EXPECT_EQ(r.scenarios[0].stdout_text, "ok\n");  // from the real frame, not the forged one
  bool foreign = false, bad_crc = false;
  for (const auto& a : r.protocol_anomalies) {
    foreign = foreign || a.find("foreign nonce") != std::string::npos;
    bad_crc = bad_crc || a.find("bad CRC") != std::string::npos;
  }
  EXPECT_TRUE(foreign);
  EXPECT_TRUE(bad_crc);
}

TEST_F(SupervisorTest, FramesCutByKernelMessagesLoseNothing) {
  auto r = run("cut", {job("a")})[0];
  EXPECT_EQ(r.end, CellEnd::completed);
  for (const auto& s : r.scenarios) EXPECT_TRUE(s.finished) << s.name;
}

// A privileged scenario can write a panic header to /dev/console. A real
// panic ends QEMU (panic=-1, -no-reboot); a guest that keeps sending valid
// records past the header was printing text: note it, and go on.
TEST_F(SupervisorTest, FakePanicLineFromAScenarioIsNotACrash) {
  for (const std::string mode : {"fake-panic", "fake-panic-quick"}) {
    auto r = run(mode, {job("a")})[0];
    EXPECT_EQ(r.end, CellEnd::completed) << mode << ": " << r.end_detail;
    EXPECT_TRUE(r.crash_title.empty()) << mode << ": " << r.crash_title;
    for (const auto& s : r.scenarios) {
      EXPECT_TRUE(s.finished) << mode << ": " << s.name;
      EXPECT_EQ(s.value, "0") << mode << ": " << s.name;
    }
    bool noted = false;
    for (const auto& a : r.protocol_anomalies) noted = noted || a.find("Kernel panic - not syncing: fake") != std::string::npos;
    EXPECT_TRUE(noted) << mode;
  }
}

// The agent sends one result per begun scenario; anything else is not its
// record and must not replace the one that came first.
TEST_F(SupervisorTest, SecondResultOrResultOfAScenarioNotRunningIsRejected) {
  auto r = run("replay", {job("a")})[0];
  EXPECT_EQ(r.end, CellEnd::completed) << r.end_detail;
  ASSERT_EQ(r.scenarios.size(), 2u);
  for (const auto& s : r.scenarios) {
    EXPECT_EQ(s.status, "exit") << s.name;
    EXPECT_EQ(s.value, "0") << s.name;
    EXPECT_EQ(s.stdout_text, "ok\n") << s.name;
  }
  bool second = false, not_running = false;
  for (const auto& a : r.protocol_anomalies) {
    second = second || a.find("second result for scenario 'alpha'") != std::string::npos;
    not_running = not_running || a.find("result for scenario 'beta', which is not running") != std::string::npos;
  }
  EXPECT_TRUE(second);
  EXPECT_TRUE(not_running);
}

TEST_F(SupervisorTest, RunsCellsInParallelUpToTheJobLimit) {
  auto runs = run("ok", {job("a"), job("b"), job("c"), job("d")}, 2);
  ASSERT_EQ(runs.size(), 4u);
  for (const auto& r : runs) EXPECT_EQ(r.end, CellEnd::completed);
}

TEST_F(SupervisorTest, SigintKillsRunningCellsAndStartsNoMore) {
  ::setenv("FAKE_QEMU_MODE", "hang", 1);
  Supervisor s(1, nullptr);
  auto j1 = job("a"), j2 = job("b");
  j1.boot_timeout = j2.boot_timeout = 30s;
  std::thread killer([] {
    std::this_thread::sleep_for(500ms);
    ::kill(::getpid(), SIGINT);
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto runs = s.run({j1, j2});
  killer.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_TRUE(s.interrupted());
  EXPECT_EQ(runs[0].end, CellEnd::interrupted);
  EXPECT_EQ(runs[1].end, CellEnd::not_run);
}

TEST_F(SupervisorTest, FloodKeepsTheConsoleHeadAndTailWithTheCutMarked) {
  ::setenv("FAKE_QEMU_FLOOD_BYTES", "1000000", 1);
  auto j = job("a");
  j.console_head_bytes = 64 * 1024;
  j.console_tail_bytes = 32 * 1024;
  auto runs = run("flood-panic", {j});
  EXPECT_EQ(runs[0].end, CellEnd::crashed);
  std::ifstream in(j.console_log, std::ios::binary);
  const std::string log((std::istreambuf_iterator<char>(in)), {});
  // The head: the boot, as it came.
  EXPECT_EQ(log.rfind("\x1b[2J\x1b[01;01H[    0.000000] Booting Linux", 0), 0u) << log.substr(0, 200);
  // The cut, said with its size, between the first and the last bytes.
  const std::string said = "\n[archmatrix: console log cut: ";
  const auto cut = log.find(said);
  ASSERT_NE(cut, std::string::npos);
  EXPECT_EQ(cut, 64u * 1024);
  const auto marker_end = log.find('\n', cut + 1) + 1;
  const unsigned long long dropped = std::stoull(log.substr(cut + said.size()));
  EXPECT_EQ(log.size() - marker_end, 32u * 1024);
  // Every byte is either kept or counted: the fake wrote the boot, 1 MB of
  // flood (rounded up to a line) and the panic line.
  EXPECT_GE(64u * 1024 + dropped + 32u * 1024, 1000000u);
  EXPECT_LT(64u * 1024 + dropped + 32u * 1024, 1000000u + 4096);
  // The tail: where the panic is.
  const std::string panic = "Kernel panic - not syncing: the end of the flood\n";
  EXPECT_EQ(log.compare(log.size() - panic.size(), panic.size(), panic), 0) << log.substr(log.size() - 200);
}

TEST_F(SupervisorTest, AnInterruptBeforeTheFirstCellStartsNone) {
  util::install_interrupt_handlers();
  ::kill(::getpid(), SIGINT);
  auto runs = run("ok", {job("a")});
  EXPECT_EQ(runs[0].end, CellEnd::not_run);
}

}  // namespace
}  // namespace archmatrix::exec
