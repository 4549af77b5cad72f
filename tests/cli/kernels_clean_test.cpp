// `archmatrix kernels clean` beside a running build (issue 9, item 8): it
// takes the locks builds and publishes take, and keeps (saying so) every
// entry whose lock another process holds. The "other process" is flock(1)
// holding a recipe's lock, as a kernel build holds it while make runs.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

using namespace std::chrono_literals;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

class KernelsCleanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch(::testing::UnitTest::GetInstance()->current_test_info()->name());
    cache_ = dir_ / "cache" / "archmatrix";
    // Recipe "busy" is building: its object tree, the source tree it reads
    // and the kernel it has just published (its record not yet written).
    write(cache_ / "kernels" / ".lock-built-busy", "");
    write(cache_ / "kbuild" / "busy-6.12.1-1" / "vmlinux.o", "object");
    write(cache_ / "sources" / ".lock-trixie-linux-source-6.12", "");
    write(cache_ / "sources" / "linux-source-6.12_6.12.1-1" / "linux" / "Makefile", "all:\n");
    write(cache_ / "kernels" / "justpublished" / "vmlinuz", "kernel");
    // Recipe "idle" is not: its object tree can go.
    write(cache_ / "kernels" / ".lock-built-idle", "");
    write(cache_ / "kbuild" / "idle-6.12.1-1" / "vmlinux.o", "object");
  }
  void TearDown() override {
    release();
  }
  // Ends flock(1) and its command, which shares the locked descriptor.
  void release() {
    if (holder_ <= 0) return;
    ::kill(-holder_, SIGKILL);
    wait_exit(holder_);
    holder_ = -1;
  }

  // flock(1) holding `lock` until killed.
  void hold(const fs::path& lock) {
    holder_ = ::fork();
    if (holder_ == 0) {
      ::setpgid(0, 0);
      const std::string ready = (dir_ / "held").string();
      ::execlp("flock", "flock", lock.c_str(), "sh", "-c", ("touch " + ready + "; exec sleep 120").c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 400 && !fs::exists(dir_ / "held"); ++i) std::this_thread::sleep_for(25ms);
    ASSERT_TRUE(fs::exists(dir_ / "held")) << "flock(1) did not take " << lock;
  }

  Outcome clean(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a{"kernels", "clean"};
    a.insert(a.end(), extra.begin(), extra.end());
    return run_archmatrix(a, dir_ / "log", {{"XDG_CACHE_HOME", (dir_ / "cache").string()}});
  }

  fs::path dir_, cache_;
  pid_t holder_ = -1;
};

TEST_F(KernelsCleanTest, EntriesOfARecipeBeingBuiltAreKeptAndSaidSo) {
  hold(cache_ / "kernels" / ".lock-built-busy");
  const auto o = clean();
  EXPECT_EQ(o.exit_code, 0) << o.log;
  EXPECT_TRUE(fs::exists(cache_ / "kbuild" / "busy-6.12.1-1" / "vmlinux.o")) << o.log;
  EXPECT_TRUE(fs::exists(cache_ / "sources" / "linux-source-6.12_6.12.1-1" / "linux" / "Makefile")) << o.log;
  EXPECT_TRUE(fs::exists(cache_ / "kernels" / "justpublished" / "vmlinuz")) << o.log;
  EXPECT_FALSE(fs::exists(cache_ / "kbuild" / "idle-6.12.1-1")) << o.log;
  EXPECT_NE(o.log.find("skipped " + (cache_ / "kbuild" / "busy-6.12.1-1").string()), std::string::npos) << o.log;
  EXPECT_NE(o.log.find(".lock-built-busy is held"), std::string::npos) << o.log;

  // --all keeps them too, and never removes a lock file.
  const auto all = clean({"--all"});
  EXPECT_EQ(all.exit_code, 0) << all.log;
  EXPECT_TRUE(fs::exists(cache_ / "kbuild" / "busy-6.12.1-1" / "vmlinux.o")) << all.log;
  EXPECT_TRUE(fs::exists(cache_ / "kernels" / "justpublished" / "vmlinuz")) << all.log;
  EXPECT_TRUE(fs::exists(cache_ / "kernels" / ".lock-built-busy"));
}

TEST_F(KernelsCleanTest, OnceTheBuildEndsEverythingGoes) {
  hold(cache_ / "kernels" / ".lock-built-busy");
  release();
  const auto o = clean();
  EXPECT_EQ(o.exit_code, 0) << o.log;
  EXPECT_FALSE(fs::exists(cache_ / "kbuild" / "busy-6.12.1-1")) << o.log;
  EXPECT_FALSE(fs::exists(cache_ / "sources" / "linux-source-6.12_6.12.1-1")) << o.log;
  EXPECT_FALSE(fs::exists(cache_ / "kernels" / "justpublished")) << o.log;
  EXPECT_EQ(o.log.find("skipped"), std::string::npos) << o.log;
}

TEST_F(KernelsCleanTest, SnapshotsGoUnlessOneIsBeingMade) {
  // One saved ready state, and one being made now (its lock held).
  write(cache_ / "snapshots" / "aaaa" / "state", "saved guest");
  write(cache_ / "snapshots" / "aaaa.lock", "");
  write(cache_ / "snapshots" / "bbbb.tmp" / "initrd.img", "half made");
  write(cache_ / "snapshots" / "bbbb.lock", "");
  hold(cache_ / "snapshots" / "bbbb.lock");
  const auto o = clean();
  EXPECT_EQ(o.exit_code, 0) << o.log;
  EXPECT_FALSE(fs::exists(cache_ / "snapshots" / "aaaa")) << o.log;
  EXPECT_TRUE(fs::exists(cache_ / "snapshots" / "bbbb.tmp" / "initrd.img")) << o.log;
  EXPECT_NE(o.log.find("bbbb.lock is held"), std::string::npos) << o.log;
  EXPECT_TRUE(fs::exists(cache_ / "snapshots" / "aaaa.lock"));
}

}  // namespace
}  // namespace archmatrix::testing
