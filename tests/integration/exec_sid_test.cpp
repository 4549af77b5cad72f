// `archmatrix exec` on the sid 7.x Debian cells: since 7.x Debian ships a
// kernel's modules in linux-modules-<release>, not in the image's package,
// and exec's guest needs the virtio and 9p modules from there (fetched once,
// from the same suite's signed index, at the image's version).

#include <gtest/gtest.h>

#include <fstream>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kProgram = R"(#include <stdio.h>
#include <sys/utsname.h>
int main(void) {
  struct utsname u;
  uname(&u);
  printf("release %s\n", u.release);
  return 3;
}
)";

class ExecSid : public ::testing::TestWithParam<Target> {};

TEST_P(ExecSid, AProgramRunsInTheSevenXGuestWithItsSharedCwd) {
  const fs::path dir = scratch(std::string("exec-sid-") + GetParam().cell);
  ASSERT_TRUE(build_static_program(dir, kProgram, GetParam().cc));
  // The cwd is a 9p share: a cell whose 9p modules are missing cannot run
  // a program from it.
  const auto r = sh("cd '" + dir.string() + "' && " + std::string(ARCHMATRIX_BIN) + " exec --matrix " +
                    ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml --cell " + GetParam().cell +
                    " -- ./prog </dev/null");
  EXPECT_EQ(r.exit_code, 3) << r.log;
  EXPECT_NE(r.log.find("release 7."), std::string::npos) << r.log;
}

INSTANTIATE_TEST_SUITE_P(Cells, ExecSid,
                         ::testing::Values(Target{"x86_64-7", "gcc"}, Target{"aarch64-4k-7", "aarch64-linux-gnu-gcc"}), target_name);

}  // namespace
}  // namespace archmatrix::testing
