#include "protocol/crash_detector.h"

#include <gtest/gtest.h>

#include "protocol/console_parser.h"

namespace archmatrix::protocol {
namespace {

TEST(CrashDetector, RecognisesArm64OopsAndKeepsItsText) {
  CrashDetector d;
  d.feed_line("[    3.100000] random: crng init done");
  EXPECT_FALSE(d.crashed());
  d.feed_line("[    5.123456] Internal error: Oops: 0000000096000004 [#1] SMP");
  d.feed_line("[    5.123500] Modules linked in:");
  d.feed_line("[    5.124000] Kernel panic - not syncing: Oops: Fatal exception");
  EXPECT_TRUE(d.crashed());
  EXPECT_TRUE(d.panicked());
  EXPECT_EQ(d.title(), "Internal error: Oops: 0000000096000004 [#1] SMP");
  EXPECT_NE(d.text().find("Modules linked in"), std::string::npos);
}

TEST(CrashDetector, RecognisesX86NullDereference) {
  EXPECT_EQ(crash_title("[    1.0] BUG: kernel NULL pointer dereference, address: 0000000000000000"),
            "BUG: kernel NULL pointer dereference, address: 0000000000000000");
  EXPECT_TRUE(crash_title("normal boot line").empty());
  EXPECT_TRUE(crash_title("WARNING: CPU: 0 PID: 1 at kernel/foo.c:1").empty());
}

TEST(CrashDetector, HeaderSplitAcrossReadsStillMatches) {
  LineSplitter s;
  CrashDetector d;
  for (const auto& chunk : {"[ 7.0] Kernel pa", "nic - not syn", "cing: sysrq triggered crash\n"})
    for (const auto& l : s.feed(chunk)) d.feed_line(l);
  EXPECT_TRUE(d.panicked());
  EXPECT_EQ(d.title(), "Kernel panic - not syncing: sysrq triggered crash");
}

}  // namespace
}  // namespace archmatrix::protocol
