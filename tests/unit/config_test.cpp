#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/model.h"
#include "config/project.h"
#include "prepare/target_build.h"

namespace archmatrix::config {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const util::InputError& e) {
    EXPECT_EQ(e.exit_status(), util::kExitBadInput);
    return e.what();
  }
  return "(no error)";
}

Matrix matrix(const std::string& text) { return load_matrix(YamlReader::load_string(text, "m.yaml")); }

TEST(ConfigMatrix, SyntaxErrorNamesFileLineAndColumn) {
  const auto e = error_of([] { matrix("cells:\n  - arch: x86_64\n   bad: [\n"); });
  EXPECT_EQ(e.rfind("m.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(ConfigMatrix, UnknownKeyIsLocatedAndListsWhatIsExpected) {
  const auto e = error_of([] { matrix("cells:\n  - arch: x86_64\n    pagesize: 4K\n"); });
  EXPECT_EQ(e.rfind("m.yaml:3:5: unknown key 'pagesize' in a cell entry; expected one of: arch, page_size", 0), 0u)
      << e;
}

TEST(ConfigMatrix, UnknownAxisValueSaysWhatTheAxisAccepts) {
  const auto e = error_of([] { matrix("cells:\n  - arch: aarch64\n    page_size: [4K, 32K]\n"); });
  EXPECT_NE(e.find("m.yaml:3:16"), std::string::npos) << e;
  EXPECT_NE(e.find("'32K' is not a value of axis page_size; expected 4K, 16K or 64K"), std::string::npos) << e;
}

TEST(ConfigMatrix, UnknownArch) {
  const auto e = error_of([] { matrix("cells:\n  - arch: riscv64\n"); });
  EXPECT_NE(e.find("m.yaml:2:11: unknown arch 'riscv64'; expected aarch64, armhf or x86_64"), std::string::npos) << e;
}

TEST(ConfigMatrix, ParsesAxesDefaultsAndTimeouts) {
  auto m = matrix(
      "defaults: {memory: 512, cpus: 2}\n"
      "timeouts: {boot: 30, tcg_scale: 2.5}\n"
      "scenarios: [a, b]\n"
      "cells:\n"
      "  - arch: aarch64\n    page_size: [4K, 16k]\n    va_bits: 48\n    memory: 2048\n");
  EXPECT_EQ(m.memory_mib, 512);
  EXPECT_EQ(m.cpus, 2);
  EXPECT_EQ(m.timeouts.boot_s, 30);
  EXPECT_DOUBLE_EQ(m.timeouts.tcg_scale, 2.5);
  EXPECT_EQ(m.scenarios, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].axes.at("page_size"), (std::vector<std::string>{"4096", "16384"}));
  EXPECT_EQ(m.entries[0].axes.at("va_bits"), (std::vector<std::string>{"48"}));
  EXPECT_EQ(m.entries[0].memory_mib, 2048);
}

TEST(ConfigMatrix, ADuplicateAxisValueIsLocated) {
  // 4K and 4096 are one value: the second is the duplicate.
  const auto e = error_of([] { matrix("cells:\n  - arch: aarch64\n    page_size: [4K, 16K, 4096]\n"); });
  EXPECT_EQ(e.rfind("m.yaml:3:16: ", 0), 0u) << e;
  EXPECT_NE(e.find("'4096' repeats the value 4K of axis page_size"), std::string::npos) << e;
}

TEST(ConfigMatrix, ALongReleaseIsRejectedNotMatched) {
  std::string release = "6";
  while (release.size() < 100000) release += ".1";
  const auto e = error_of([&] { matrix("cells:\n  - arch: x86_64\n    release: \"" + release + "\"\n"); });
  EXPECT_EQ(e.rfind("m.yaml:3:14: '6.1.1.1", 0), 0u) << e.substr(0, 200);
  EXPECT_NE(e.find("(100001 characters) is not a value of axis release"), std::string::npos) << e.substr(0, 300);
  EXPECT_LT(e.size(), 300u);
}

TEST(ConfigMatrix, NumberOutOfRange) {
  const auto e = error_of([] { matrix("defaults: {memory: lots}\ncells:\n  - arch: x86_64\n"); });
  EXPECT_NE(e.find("expected a whole number from 128 to 16384 for 'memory', found 'lots'"), std::string::npos) << e;
}

class ScenarioFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("am-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "demo");
    std::ofstream(dir_ / "demo" / "main.c") << "int main(void){return 0;}\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  ScenarioSpec load(const std::string& text) {
    return load_scenario(YamlReader::load_string(text, "demo/scenario.yaml"), dir_ / "demo");
  }
  std::filesystem::path dir_;
};

TEST_F(ScenarioFiles, LoadsChecksAndExpectations) {
  auto s = load(
      "name: demo\nsummary: s\nbuild: {sources: [main.c]}\nrun: {timeout: 5}\n"
      "checks:\n  a:\n    summary: first\n  b:\n    xfail:\n      - when: \"page_size > 4K && arch == aarch64\"\n"
      "        reason: tmpfs blocks are pages\n        ref: seed 004\n");
  EXPECT_EQ(s.timeout_s, 5);
  EXPECT_EQ(s.link, Linkage::static_exe);
  ASSERT_EQ(s.checks.size(), 2u);
  EXPECT_EQ(s.checks[1].name, "b");
  ASSERT_EQ(s.checks[1].xfail.size(), 1u);
  EXPECT_EQ(s.checks[1].xfail[0].ref, "seed 004");
}

TEST_F(ScenarioFiles, BadPredicateIsLocatedInsideTheExpression) {
  const auto e = error_of([&] {
    load("name: demo\nsummary: s\nbuild: {sources: [main.c]}\nxfail:\n  - when: \"page_size >\"\n    reason: r\n");
  });
  // "page_size >" ends too soon: column 12 of the predicate, which starts at column 12 of line 5 (after the quote).
  EXPECT_EQ(e.rfind("demo/scenario.yaml:5:23: in predicate 'page_size >'", 0), 0u) << e;
  EXPECT_NE(e.find("in predicate 'page_size >'"), std::string::npos) << e;
}

TEST_F(ScenarioFiles, UnknownNameInPredicate) {
  const auto e = error_of([&] {
    load("name: demo\nsummary: s\nbuild: {sources: [main.c]}\nxfail:\n  - when: \"pagesize > 4K\"\n    reason: r\n");
  });
  EXPECT_NE(e.find("unknown name 'pagesize'"), std::string::npos) << e;
}

TEST_F(ScenarioFiles, MissingSourceAndWrongName) {
  EXPECT_NE(error_of([&] { load("name: demo\nsummary: s\nbuild: {sources: [nope.c]}\n"); })
                .find("source file 'nope.c' does not exist"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load("name: other\nsummary: s\nbuild: {sources: [main.c]}\n"); })
                .find("must equal its directory name 'demo'"),
            std::string::npos);
}

TEST_F(ScenarioFiles, SharedLibrariesAndLinkOptions) {
  std::ofstream(dir_ / "demo" / "lib.c") << "int f(void){return 1;}\n";
  auto s = load(
      "name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  link: dynamic\n  link_options: [-no-pie]\n"
      "  libraries:\n    - name: fixed\n      sources: [lib.c]\n"
      "      link_options: [\"-Wl,-Ttext-segment=0x47b30000\"]\n");
  EXPECT_EQ(s.link, Linkage::dynamic_exe);
  EXPECT_EQ(s.link_options, std::vector<std::string>{"-no-pie"});
  ASSERT_EQ(s.libraries.size(), 1u);
  EXPECT_EQ(s.libraries[0].name, "fixed");
  EXPECT_EQ(s.libraries[0].link_options, std::vector<std::string>{"-Wl,-Ttext-segment=0x47b30000"});

  // What the guest build is told: one library target per library, the
  // option with its comma kept whole.
  const std::string cmake = prepare::scenarios_cmake({&s});
  EXPECT_NE(cmake.find("archmatrix_scenario(NAME \"demo\""), std::string::npos) << cmake;
  EXPECT_NE(cmake.find("LINK dynamic LINK_OPTIONS \"-no-pie\")"), std::string::npos) << cmake;
  EXPECT_NE(cmake.find("archmatrix_scenario_library(SCENARIO \"demo\" NAME \"fixed\""), std::string::npos) << cmake;
  EXPECT_NE(cmake.find("LINK_OPTIONS \"-Wl,-Ttext-segment=0x47b30000\")"), std::string::npos) << cmake;
}

TEST_F(ScenarioFiles, SharedLibrariesNeedADynamicProgramAndAGoodName) {
  std::ofstream(dir_ / "demo" / "lib.c") << "int f(void){return 1;}\n";
  auto e = error_of([&] {
    load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  libraries:\n    - name: x\n      sources: [lib.c]\n");
  });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:6:", 0), 0u) << e;
  EXPECT_NE(e.find("shared libraries need link: dynamic"), std::string::npos) << e;
  e = error_of([&] {
    load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  link: dynamic\n  libraries:\n"
         "    - name: lib-x\n      sources: [lib.c]\n");
  });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:7:", 0), 0u) << e;
  EXPECT_NE(e.find("library name"), std::string::npos) << e;
  e = error_of([&] {
    load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  link: dynamic\n  libraries:\n"
         "    - name: x\n      sources: [gone.c]\n");
  });
  EXPECT_NE(e.find("source file 'gone.c' does not exist"), std::string::npos) << e;
}

TEST_F(ScenarioFiles, DebianPackagesAndLinkLibraries) {
  auto s = load(
      "name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  link: dynamic\n"
      "  packages: [libmimalloc-dev, libmimalloc2.0]\n  link_libraries: [mimalloc]\n");
  EXPECT_EQ(s.packages, (std::vector<std::string>{"libmimalloc-dev", "libmimalloc2.0"}));
  EXPECT_EQ(s.link_libraries, std::vector<std::string>{"mimalloc"});

  // The guest build is told the packages' root and the libraries to link.
  const std::string cmake = prepare::scenarios_cmake({&s}, {{"demo", "/cache/roots/k"}});
  EXPECT_NE(cmake.find("LINK dynamic PACKAGE_ROOTS \"/cache/roots/k\" LINK_LIBRARIES \"mimalloc\")"),
            std::string::npos)
      << cmake;
  // Without packages, no PACKAGE_ROOTS: link_libraries alone (-lm) is fine.
  s = load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  link_libraries: m\n");
  EXPECT_EQ(s.link_libraries, std::vector<std::string>{"m"});
  EXPECT_EQ(prepare::scenarios_cmake({&s}).find("PACKAGE_ROOTS"), std::string::npos);
}

TEST_F(ScenarioFiles, DebianPackagesNeedADynamicProgramAndGoodNames) {
  auto e = error_of([&] {
    load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  packages: [libzstd1]\n");
  });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:5:", 0), 0u) << e;
  EXPECT_NE(e.find("Debian packages need link: dynamic"), std::string::npos) << e;
  e = error_of([&] {
    load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  link: dynamic\n  packages: [Bad_Name]\n");
  });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:6:", 0), 0u) << e;
  EXPECT_NE(e.find("expected a Debian package name"), std::string::npos) << e;
  e = error_of([&] {
    load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  link: dynamic\n  packages: []\n");
  });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:6:", 0), 0u) << e;
  e = error_of([&] {
    load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  link_libraries: [-lm]\n");
  });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:5:", 0), 0u) << e;
  EXPECT_NE(e.find("expected a library name for -l<name>"), std::string::npos) << e;
}

TEST_F(ScenarioFiles, SourcePackagesComeWithTheScenariosOwnBuildStep) {
  std::ofstream(dir_ / "demo" / "build.cmake") << "# builds jemalloc\n";
  auto s = load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  source_packages: [jemalloc]\n"
                "  cmake: build.cmake\n");
  EXPECT_EQ(s.source_packages, std::vector<std::string>{"jemalloc"});
  EXPECT_EQ(s.build_cmake, "build.cmake");

  auto e = error_of([&] { load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  source_packages: [jemalloc]\n"); });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:5:", 0), 0u) << e;
  EXPECT_NE(e.find("add 'cmake: <file>'"), std::string::npos) << e;
  // The guest build is told the step and where each source tree is.
  const std::string cmake = prepare::scenarios_cmake({&s}, {}, {{"demo", {{"jemalloc", "/cache/sources/je"}}}});
  EXPECT_NE(cmake.find(" BUILD_CMAKE \"build.cmake\" SOURCE_PACKAGES \"jemalloc=/cache/sources/je\")"),
            std::string::npos)
      << cmake;

  e = error_of([&] { load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  cmake: nope.cmake\n"); });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:5:", 0), 0u) << e;
  EXPECT_NE(e.find("build step 'nope.cmake' does not exist"), std::string::npos) << e;
  e = error_of([&] { load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  cmake: ../../etc/x.cmake\n"); });
  EXPECT_NE(e.find("expected a file inside the scenario's directory"), std::string::npos) << e;
  e = error_of([&] {
    load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  source_packages: [Jemalloc]\n  cmake: build.cmake\n");
  });
  EXPECT_NE(e.find("expected a Debian source package name"), std::string::npos) << e;
}

TEST(ConfigKernel, RecipeProvidesCanonicalAxes) {
  auto k = load_kernel_recipe(
      YamlReader::load_string("arch: aarch64\nsource: debian\ndebian: {suite: trixie, package: linux-image-arm64-16k}\n"
                              "provides: {release: '6.12', page_size: 16K, va_bits: 52, va_bits_default: 47}\n",
                              "k.yaml"),
      "k", "/nonexistent");
  EXPECT_EQ(k.provides.at("page_size"), std::vector<std::string>{"16384"});
  EXPECT_EQ(k.provides.at("source"), std::vector<std::string>{"debian"});
  EXPECT_EQ(k.va_bits_default, "47");
}

TEST(ConfigKernel, UnknownSuite) {
  const auto e = error_of([] {
    load_kernel_recipe(YamlReader::load_string("arch: x86_64\nsource: debian\ndebian: {suite: buster, package: p}\n"
                                               "provides: {release: '4.19'}\n",
                                               "k.yaml"),
                       "k", "/nonexistent");
  });
  EXPECT_NE(e.find("expected suite bookworm, trixie or sid, found 'buster'"), std::string::npos) << e;
}

TEST(ConfigKernel, ADebianPackageMustBeAPackageName) {
  // The name becomes a cache path and an apt-get argument: never a path or an option.
  for (const std::string bad : {"../../x", "-oDir::Cache=/tmp/evil", "linux image", "Linux-Image", "a", "x/y"}) {
    const auto e = error_of([&] {
      load_kernel_recipe(YamlReader::load_string("arch: x86_64\nsource: debian\ndebian:\n  suite: bookworm\n"
                                                 "  package: \"" + bad + "\"\nprovides: {release: '6.1'}\n",
                                                 "k.yaml"),
                         "k", "/nonexistent");
    });
    EXPECT_EQ(e.rfind("k.yaml:5:12: expected a Debian package name", 0), 0u) << e;
  }
  EXPECT_EQ(load_kernel_recipe(YamlReader::load_string("arch: x86_64\nsource: debian\ndebian:\n  suite: bookworm\n"
                                                       "  package: linux-image-6.1.0-28+deb12-amd64\n"
                                                       "provides: {release: '6.1'}\n",
                                                       "k.yaml"),
                               "k", "/nonexistent")
                .package,
            "linux-image-6.1.0-28+deb12-amd64");
}

TEST_F(ScenarioFiles, AMissingSourcesKeyIsBadInputAtTheBuildSection) {
  // yaml-cpp threw InvalidNode here, which main reported as an internal error.
  auto e = error_of([&] { load("name: demo\nsummary: s\nbuild:\n  link: static\n"); });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:4:3: missing required key 'sources'", 0), 0u) << e;
  e = error_of([&] {
    load("name: demo\nsummary: s\nbuild:\n  sources: [main.c]\n  link: dynamic\n  libraries:\n    - name: x\n");
  });
  EXPECT_EQ(e.rfind("demo/scenario.yaml:7:7: missing required key 'sources'", 0), 0u) << e;
}

TEST(ConfigProject, TheRepositorysOwnFilesLoad) {
  const std::filesystem::path root = ARCHMATRIX_SOURCE_ROOT;
  auto p = load_project(root / "matrix.yaml", {root / "scenarios"}, root / "kernels");
  EXPECT_FALSE(p.scenarios.empty());
  EXPECT_FALSE(p.kernels.empty());
}

}  // namespace
}  // namespace archmatrix::config
