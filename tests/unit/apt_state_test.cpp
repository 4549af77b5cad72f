// The private apt state (prepare/apt_state.h) against fake apt tools
// (fake_apt.h): nothing is downloaded.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "fake_apt.h"
#include "prepare/apt_state.h"

namespace archmatrix::prepare {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWaiver = "Acquire::Check-Valid-Until=false";

// The arguments of every `apt-get update` in the log.
std::vector<std::string> updates(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("apt-get ", 0) == 0 && line.find(" update") != std::string::npos) out.push_back(line);
  return out;
}

// A mirror's Release file past its Valid-Until date is used anyway (said),
// but only for that update: the next update (the next run) checks the
// window again, so a mirror that was stale once is not trusted stale forever.
TEST(AptState, ExpiredReleaseWaiverIsDecidedAgainAtEachUpdate) {
  testing::FakeApt apt("waiver");
  if (!apt.ready()) GTEST_SKIP() << "this host's apt names no Debian mirror";
  const fs::path cache = apt.dir() / "cache";
  apt.package("libc6", "Package: libc6\nVersion: 2.36-9\nSHA256: aa\n");
  std::string said;
  const auto progress = [&](std::string_view s) { said += std::string(s) + "\n"; };

  std::ofstream(apt.dir() / "expired") << "";
  AptState(cache, "bookworm", "arm64", progress).update("libc6");
  auto u = updates(apt.log());
  ASSERT_EQ(u.size(), 2u) << apt.log();
  EXPECT_EQ(u[0].find(kWaiver), std::string::npos) << u[0];
  EXPECT_NE(u[1].find(kWaiver), std::string::npos) << u[1];
  EXPECT_NE(said.find("outside its Valid-Until window"), std::string::npos) << said;

  // The mirror is fresh again: the next update checks the window.
  fs::remove(apt.dir() / "expired");
  fs::remove(apt.dir() / "updated");
  fs::remove(apt.dir() / "log");
  said.clear();
  const AptState next(cache, "bookworm", "arm64", progress);
  next.update("libc6");
  u = updates(apt.log());
  ASSERT_EQ(u.size(), 1u) << apt.log();
  EXPECT_EQ(u[0].find(kWaiver), std::string::npos) << u[0];
  for (const auto& arg : next.argv("apt-get", {"download", "x"})) EXPECT_NE(arg, kWaiver);
  EXPECT_EQ(said.find("Valid-Until"), std::string::npos) << said;

  // Stale again: waived again, and said again.
  std::ofstream(apt.dir() / "expired") << "";
  fs::remove(apt.dir() / "updated");
  fs::remove(apt.dir() / "log");
  AptState(cache, "bookworm", "arm64", progress).update("libc6");
  u = updates(apt.log());
  ASSERT_EQ(u.size(), 2u) << apt.log();
  EXPECT_EQ(u[0].find(kWaiver), std::string::npos) << u[0];
  EXPECT_NE(said.find("outside its Valid-Until window"), std::string::npos) << said;
}

}  // namespace
}  // namespace archmatrix::prepare
