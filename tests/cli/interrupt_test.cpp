// Ctrl-C, SIGTERM and SIGKILL of `archmatrix run` while it prepares (issue
// 9, item 5), and a host without a Debian mirror (item 6), through the real
// binary. Nothing is downloaded, built or booted: the cache is a scratch
// directory, and apt-get, apt-cache and cmake are stand-ins put first in
// PATH that leave their pids behind and sleep (or fail) on request.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "reliability_ledger.h"
#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

using namespace std::chrono_literals;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
}

std::vector<pid_t> pids_in(const fs::path& f) {
  std::vector<pid_t> out;
  std::ifstream in(f);
  for (pid_t p; in >> p;) out.push_back(p);
  return out;
}

bool wait_for_file(const fs::path& f, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (!pids_in(f).empty()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

bool dies_within(pid_t pid, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (alive(pid) && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(50ms);
  return !alive(pid);
}

std::string sha256_of(const fs::path& f) {
  std::string out;
  FILE* p = ::popen(("sha256sum '" + f.string() + "'").c_str(), "r");
  char buf[128];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  if (p) ::pclose(p);
  return out.substr(0, 64);
}

class RunInterruptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch(::testing::UnitTest::GetInstance()->current_test_info()->name());
    write(dir_ / "apt-etc" / "sources.list", "deb http://deb.example.invalid/debian bookworm main\n");
  }

  // A stand-in for `name` in dir_/bin: `body` is its shell script.
  void fake(const std::string& name, const std::string& body) {
    write(dir_ / "bin" / name, "#!/bin/sh\n" + body);
    fs::permissions(dir_ / "bin" / name, fs::perms::owner_all);
  }
  // Records its pid and its child's, then waits for the child.
  std::string sleeper(const std::string& tag) const {
    return "echo $$ >> " + (dir_ / (tag + ".pids")).string() + "\nsleep 300 &\necho $! >> " +
           (dir_ / (tag + ".pids")).string() + "\nwait\n";
  }

  // The Debian amd64 kernel as if downloaded earlier (the run checks its
  // sha256 and goes on to the guest binaries).
  void cache_debian_kernel() {
    const fs::path k = dir_ / "cache" / "archmatrix" / "kernels";
    write(k / "fakekey" / "vmlinuz", "not a kernel\n");
    const std::string sha = sha256_of(k / "fakekey" / "vmlinuz");
    write(k / "fakekey" / "meta.json", nlohmann::json{{"package", "linux-image-6.1.0-fake-amd64"}, {"version", "6.1.0-1"},
                                                      {"release", "6.1.0-fake-amd64"}, {"sha256", sha}}
                                           .dump());
    write(k / "resolved" / "bookworm-amd64-linux-image-amd64.json", R"({"cache_key": "fakekey"})");
  }

  Env env() const {
    return {{"PATH", (dir_ / "bin").string() + ":" + std::getenv("PATH")},
            {"XDG_CACHE_HOME", (dir_ / "cache").string()},
            {"ARCHMATRIX_APT_ETC", (dir_ / "apt-etc").string()}};
  }
  std::vector<std::string> args(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a{"run", "--cell", "x86_64-6.1", "--scenario", "sparse-tmpfs", "--jobs", "1",
                               "--qemu-dir", (dir_ / "no-qemu").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // Starts a run, waits until `pidfile` names the stand-in, sends `sig`.
  Outcome interrupt_when_started(const fs::path& pidfile, int sig) {
    const pid_t pid = spawn(args({"--out", (dir_ / "out").string()}), dir_ / "log", env());
    EXPECT_TRUE(wait_for_file(pidfile, 120s)) << slurp(dir_ / "log");
    std::this_thread::sleep_for(200ms);
    ::kill(pid, sig);
    Outcome o;
    o.exit_code = wait_exit(pid);
    o.log = slurp(dir_ / "log");
    return o;
  }

  void expect_resumable_report(const Outcome& o) {
    EXPECT_EQ(o.exit_code, 130) << o.log;
    ASSERT_TRUE(fs::exists(dir_ / "out" / "report.json")) << o.log;
    const auto r = read_report(dir_ / "out");
    EXPECT_TRUE(r.at("interrupted").get<bool>());
    ASSERT_EQ(r.at("cells").size(), 1u);
    for (const auto& c : r.at("cells")) {
      EXPECT_EQ(c.at("end"), "interrupted") << c.dump(2);
      for (const auto& s : c.at("scenarios"))
        for (const auto& res : s.at("results")) EXPECT_EQ(res.at("code"), "NOTRUN") << s.dump(2);
    }
  }

  void expect_all_dead(const fs::path& pidfile) {
    const auto pids = pids_in(pidfile);
    EXPECT_EQ(pids.size(), 2u);
    for (pid_t p : pids) EXPECT_TRUE(dies_within(p, 5s)) << "pid " << p << " of " << pidfile << " outlived the runner";
  }

  fs::path dir_;
};

TEST_F(RunInterruptTest, SigintWhileDownloadingKernelsLeavesAResumableReport) {
  fake("apt-get", sleeper("apt"));
  const auto o = interrupt_when_started(dir_ / "apt.pids", SIGINT);
  expect_resumable_report(o);
  expect_all_dead(dir_ / "apt.pids");
  record_fault("runner interrupted while downloading kernels (SIGINT, fake apt-get)",
               !::testing::Test::HasFailure(), 0);
}

TEST_F(RunInterruptTest, SigtermWhileBuildingGuestBinariesLeavesAReportThatResumeCompletes) {
  cache_debian_kernel();
  fake("cmake", sleeper("cmake"));
  const auto o = interrupt_when_started(dir_ / "cmake.pids", SIGTERM);
  expect_resumable_report(o);
  expect_all_dead(dir_ / "cmake.pids");

  // --resume runs the unfinished cell: this time the build fails at once, so
  // the report is complete, with the failure as the cell's ERROR.
  fake("cmake", "echo 'CMake Error: no cross compiler here' >&2\nexit 1\n");
  const auto r = run_archmatrix(args({"--resume", (dir_ / "out").string()}), dir_ / "log2", env());
  EXPECT_EQ(r.exit_code, 1) << r.log;
  const auto rep = read_report(dir_ / "out");
  EXPECT_FALSE(rep.at("interrupted").get<bool>());
  for (const auto& c : rep.at("cells")) {
    EXPECT_EQ(c.at("end"), "host_error") << c.dump(2);
    EXPECT_NE(c.at("end_detail").get<std::string>().find("no cross compiler here"), std::string::npos);
  }
  record_fault("runner interrupted while building guest binaries (SIGTERM, fake cmake)",
               !::testing::Test::HasFailure(), 0);
}

TEST_F(RunInterruptTest, SigkillOfTheRunnerTakesItsChildWithIt) {
  // The stand-in becomes the sleep itself: the runner's direct child, as make is.
  fake("apt-get", "echo $$ > " + (dir_ / "apt.pids").string() + "\nexec sleep 300\n");
  const auto o = interrupt_when_started(dir_ / "apt.pids", SIGKILL);
  EXPECT_EQ(o.exit_code, 128 + SIGKILL);
  const auto pids = pids_in(dir_ / "apt.pids");
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_TRUE(dies_within(pids[0], 5s)) << "the child outlived the SIGKILLed runner";
  record_fault("runner killed (SIGKILL) while a child runs", !::testing::Test::HasFailure(), 0);
}

TEST_F(RunInterruptTest, NoDebianMirrorIsAHostErrorExit3) {
  fs::remove(dir_ / "apt-etc" / "sources.list");
  write(dir_ / "apt-etc" / "sources.list.d" / "other.list", "deb http://example.invalid/ubuntu jammy main\n");
  fake("apt-get", "echo started >> " + (dir_ / "apt.pids").string() + "\nexit 100\n");
  const auto o = run_archmatrix(args({"--out", (dir_ / "out").string()}), dir_ / "log", env());
  EXPECT_EQ(o.exit_code, 3) << o.log;
  EXPECT_NE(o.log.find("no Debian mirror in " + (dir_ / "apt-etc").string()), std::string::npos) << o.log;
  EXPECT_FALSE(fs::exists(dir_ / "apt.pids")) << "apt-get was started without a mirror";
}

}  // namespace
}  // namespace archmatrix::testing
