// Guest binaries are built scenario by scenario: one that does not compile
// (or whose own CMake step fails) is that scenario's failure, with the
// compiler's error lines, and the agent and every other scenario still build.
// Uses the real x86_64 cross toolchain and images/target; nothing boots.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "prepare/target_build.h"
#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::prepare {
namespace {

namespace fs = std::filesystem;

TEST(BuildErrorLines, KeepsTheCompilersErrorLinesNotTheConfigureChatter) {
  const std::string log =
      "-- Configuring done\n-- Generating done\n-- Build files have been written to: /x\n"
      "[ 50%] Building C object CMakeFiles/scenario_b.dir/b.c.o\n"
      "/p/b.c: In function 'main':\n"
      "/p/b.c:3:12: error: expected ';' before '}' token\n"
      "    3 |   return 0 }\n"
      "make[2]: *** [CMakeFiles/scenario_b.dir/build.make:76: b.c.o] Error 1\n";
  EXPECT_EQ(build_error_lines(log), "/p/b.c:3:12: error: expected ';' before '}' token");
  EXPECT_EQ(build_error_lines("CMake Error at /p/build.cmake:1 (message):\n  no way\n\n\n-- Configuring incomplete\n"),
            "CMake Error at /p/build.cmake:1 (message):\n  no way");
  EXPECT_EQ(build_error_lines("/usr/bin/ld: m.o: in function `main':\nm.c:(.text+0x5): undefined reference to `f'\n"),
            "m.c:(.text+0x5): undefined reference to `f'");
  // Nothing recognisable: the end of the log, not nothing.
  EXPECT_EQ(build_error_lines("a\nb\nc\n", 2), "b\nc");
}

bool have(const char* program) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"})
    if (::access((std::string(dir) + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

class TargetBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have("x86_64-linux-gnu-gcc") || !have("cmake")) GTEST_SKIP() << "no x86_64-linux-gnu-gcc or cmake";
    dir_ = fs::temp_directory_path() / ("archmatrix-target-build-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "cache");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  config::ScenarioSpec scenario(const std::string& name, const std::string& source) {
    config::ScenarioSpec s;
    s.name = name;
    s.dir = dir_ / "pack" / name;
    s.file = s.dir / "scenario.yaml";
    s.sources = {name + ".c"};
    fs::create_directories(s.dir);
    std::ofstream(s.dir / (name + ".c")) << source;
    return s;
  }
  fs::path dir_;
};

TEST_F(TargetBuild, AScenarioThatDoesNotBuildIsItsOwnFailureOnly) {
  auto fine = scenario("fine", "int main(void) { return 0; }\n");
  auto broken = scenario("broken", "int main(void) { return 0; }\n");
  auto bad_cmake = scenario("bad-cmake", "int main(void) { return 0; }\n");
  bad_cmake.build_cmake = "build.cmake";
  std::ofstream(bad_cmake.dir / "build.cmake") << "message(FATAL_ERROR \"bad-cmake refuses to configure\")\n";
  TargetBuilder builder(ARCHMATRIX_SOURCE_ROOT, dir_ / "cache", [](std::string_view) {});

  // First "broken" builds; then it stops compiling, and its old binary must
  // not be taken for a new one.
  auto first = builder.build(util::Arch::x86_64, {&broken, &fine});
  ASSERT_EQ(first.failed.size(), 0u) << first.failed.begin()->second.message;
  ASSERT_TRUE(first.scenarios.count("broken"));
  std::ofstream(broken.dir / "broken.c") << "int main(void) {\n  int x = 1\n  return x;\n}\n";

  const auto bins = builder.build(util::Arch::x86_64, {&bad_cmake, &broken, &fine});
  EXPECT_TRUE(fs::exists(bins.agent));
  ASSERT_TRUE(bins.scenarios.count("fine"));
  EXPECT_TRUE(fs::exists(bins.scenarios.at("fine")));
  EXPECT_EQ(bins.scenarios.count("broken"), 0u);
  EXPECT_EQ(bins.scenarios.count("bad-cmake"), 0u);

  ASSERT_TRUE(bins.failed.count("broken"));
  const std::string& m = bins.failed.at("broken").message;
  EXPECT_NE(m.find("scenario broken did not build for x86_64"), std::string::npos) << m;
  EXPECT_NE(m.find("broken.c:3:"), std::string::npos) << m;  // gcc: "expected ',' or ';' before 'return'"
  EXPECT_NE(m.find("error:"), std::string::npos) << m;
  EXPECT_EQ(m.find("Configuring done"), std::string::npos) << m;
  EXPECT_FALSE(bins.failed.at("broken").log.empty());

  ASSERT_TRUE(bins.failed.count("bad-cmake"));
  const std::string& c = bins.failed.at("bad-cmake").message;
  EXPECT_NE(c.find("bad-cmake refuses to configure"), std::string::npos) << c;
  EXPECT_NE(c.find("build.cmake:1"), std::string::npos) << c;
}

}  // namespace
}  // namespace archmatrix::prepare
