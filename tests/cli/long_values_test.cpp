// Long config values through the real binary (issue 9, item 3). Each of
// these crashed the loader with SIGSEGV when it was checked with std::regex
// (libstdc++'s matcher recurses once per character); each must be bad input
// now: exit 2, one line naming the file and the line.

#include <gtest/gtest.h>

#include <string>

#include "cli_input.h"

namespace archmatrix::testing {
namespace {

constexpr std::size_t kLong = 100000;

// 6.1.1.1... : the shape of a release, but 100,000 characters of it.
std::string long_release() {
  std::string s = "6";
  while (s.size() < kLong) s += ".1";
  return s;
}

TEST(LongValues, AReleaseOfAHundredThousandCharacters) {
  const fs::path d = scratch("long-release");
  write_file(d / "matrix.yaml", "cells:\n  - arch: x86_64\n    release: \"" + long_release() + "\"\n");
  const auto o = list(d, {"--matrix", (d / "matrix.yaml").string()});
  expect_located(o, d / "matrix.yaml", "is not a value of axis release");
  EXPECT_NE(o.log.find("matrix.yaml:3:"), std::string::npos) << o.log.substr(0, 500);
}

// A scenario pack with one scenario whose build section is `build`.
Outcome list_scenario(const fs::path& d, const std::string& build) {
  write_file(d / "pack" / "demo" / "demo.c", "int main(void) { return 0; }\n");
  write_file(d / "pack" / "demo" / "scenario.yaml", "name: demo\nsummary: s\nbuild:\n" + build);
  write_file(d / "matrix.yaml", "cells:\n  - arch: x86_64\n    release: \"6.1\"\n");
  return list(d, {"--matrix", (d / "matrix.yaml").string(), "--scenarios", (d / "pack").string()});
}

TEST(LongValues, ALinkLibraryOfAHundredThousandCharacters) {
  const fs::path d = scratch("long-link-library");
  const auto o = list_scenario(
      d, "  sources: [demo.c]\n  link: dynamic\n  link_libraries: [m, " + std::string(kLong, 'a') + "+]\n");
  expect_located(o, d / "pack" / "demo" / "scenario.yaml", "expected a library name for -l<name>");
}

TEST(LongValues, ADebianPackageOfAHundredThousandCharacters) {
  const fs::path d = scratch("long-package");
  const auto o =
      list_scenario(d, "  sources: [demo.c]\n  link: dynamic\n  packages: [" + std::string(kLong, 'a') + "]\n");
  expect_located(o, d / "pack" / "demo" / "scenario.yaml", "expected a Debian package name");
}

TEST(LongValues, ACheckNameOfAHundredThousandCharacters) {
  const fs::path d = scratch("long-check");
  // An explicit key ("? "): YAML limits an implicit one to 1024 characters.
  const auto o = list_scenario(d, "  sources: [demo.c]\nchecks:\n  ? " + std::string(kLong, 'c') + "\n  : ~\n");
  expect_located(o, d / "pack" / "demo" / "scenario.yaml", "expected a check name");
}

// A built aarch64 recipe whose base.config carries `base_extra` on line 2.
Outcome list_built_kernel(const fs::path& d, const std::string& base_extra) {
  const fs::path root = project_root(d);
  write_file(root / "kernels" / "built-demo.yaml",
             "arch: aarch64\nsource: built\nbuilt:\n  suite: trixie\n  package: linux-source-6.12\n"
             "provides:\n  release: \"6.12\"\n  page_size: 4K\n  va_bits: 48\n");
  write_file(root / "kernels" / "fragments" / "aarch64" / "base.config", "CONFIG_64BIT=y\n" + base_extra + "\n");
  write_file(root / "kernels" / "fragments" / "aarch64" / "4k.config", "CONFIG_ARM64_4K_PAGES=y\n");
  write_file(root / "kernels" / "fragments" / "aarch64" / "va48.config", "CONFIG_ARM64_VA_BITS_48=y\n");
  write_file(d / "matrix.yaml", "cells:\n  - arch: aarch64\n");
  return list(d, {"--root", root.string(), "--matrix", (d / "matrix.yaml").string()});
}

TEST(LongValues, AConfigCmdlineOfAHundredThousandCharactersInAFragment) {
  const fs::path d = scratch("long-cmdline");
  const auto o = list_built_kernel(d, "CONFIG_CMDLINE=\"" + std::string(kLong, 'x') + "\"");
  expect_located(o, d / "project" / "kernels" / "fragments" / "aarch64" / "base.config", "longer than");
  EXPECT_NE(o.log.find("base.config:2:"), std::string::npos) << o.log.substr(0, 500);
}

TEST(LongValues, AnOrdinaryCmdlineInAFragmentStillLoads) {
  const fs::path d = scratch("short-cmdline");
  const auto o = list_built_kernel(d, "CONFIG_CMDLINE=\"console=ttyAMA0 quiet \\\"x\\\"\"");
  EXPECT_EQ(o.exit_code, 0) << o.log;
  EXPECT_NE(o.log.find("kernel=built-demo"), std::string::npos) << o.log;
}

}  // namespace
}  // namespace archmatrix::testing
