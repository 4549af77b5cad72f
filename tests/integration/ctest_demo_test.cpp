// The point of `archmatrix exec` (issue 10): a user's own test suite, built
// with a cross toolchain, run by ctest in real guests through
// CMAKE_CROSSCOMPILING_EMULATOR. tests/fixtures/ctest-demo has a portable
// test and one that assumes 4096-byte pages: on a 4K cell both pass, on a
// 16K cell the second fails with its own message in ctest's output. qemu-user
// would pass both (it reports the host's page size). The 16K run uses
// `ctest -j2`: two execs at once share the kernel cache.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

struct Ctest {
  int status = -1;
  std::string log;
};

Ctest configure_build_and_ctest(const fs::path& dir, const std::string& cell, const std::string& jobs) {
  const std::string root = ARCHMATRIX_SOURCE_ROOT;
  const fs::path build = dir / ("build-" + cell);
  const std::string emulator = std::string(ARCHMATRIX_BIN) + ";exec;--matrix;" + root +
                               "/tests/integration/matrix.yaml;--cell;" + cell + ";--";
  const std::string cmd = "cmake -S " + root + "/tests/fixtures/ctest-demo -B " + build.string() +
                          " -G Ninja -DCMAKE_TOOLCHAIN_FILE=" + root + "/cmake/toolchains/aarch64-linux-gnu.cmake" +
                          " '-DCMAKE_CROSSCOMPILING_EMULATOR=" + emulator + "' >" + (dir / "configure.log").string() +
                          " 2>&1 && cmake --build " + build.string() + " >>" + (dir / "configure.log").string() +
                          " 2>&1 && cd " + build.string() + " && ctest --output-on-failure " + jobs + " >" +
                          (dir / ("ctest-" + cell + ".log")).string() + " 2>&1";
  Ctest r;
  const int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.log = slurp(dir / ("ctest-" + cell + ".log")) + slurp(dir / "configure.log");
  return r;
}

TEST(CtestDemo, BothTestsPassOnA4KCell) {
  const fs::path dir = scratch("ctest-demo-4k");
  const auto r = configure_build_and_ctest(dir, "aarch64-4k-6.12", "");
  EXPECT_EQ(r.status, 0) << r.log;
  EXPECT_NE(r.log.find("100% tests passed, 0 tests failed out of 2"), std::string::npos) << r.log;
}

TEST(CtestDemo, ThePageSizeTestFailsOnlyOnA16KCellWithItsOwnMessage) {
  const fs::path dir = scratch("ctest-demo-16k");
  const auto r = configure_build_and_ctest(dir, "aarch64-16k-6.12", "-j2");
  EXPECT_NE(r.status, 0) << r.log;
  EXPECT_NE(r.log.find("50% tests passed, 1 tests failed out of 2"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("(Failed)"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("assumes_4k_pages"), std::string::npos) << r.log;
  // The program's own words, from the guest's stderr through ctest.
  EXPECT_NE(r.log.find("guard page at +4096: Invalid argument (built for 4096-byte pages, the kernel uses 16384)"),
            std::string::npos)
      << r.log;
  const auto portable = r.log.find("Test #1: portable");
  ASSERT_NE(portable, std::string::npos) << r.log;
  EXPECT_NE(r.log.substr(portable, r.log.find('\n', portable) - portable).find("Passed"), std::string::npos) << r.log;
}

}  // namespace
}  // namespace archmatrix::testing
