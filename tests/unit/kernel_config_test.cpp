// Built kernels: fragments, the merged KCONFIG_ALLCONFIG, the check of the
// resolved .config, cache keys, recipe loading, and the boot-header check.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/kernel_config.h"
#include "config/model.h"
#include "prepare/kernel_image.h"
#include "util/error.h"

namespace archmatrix {
namespace {

using config::ConfigLine;

TEST(KernelConfig, ParsesAssignmentsAndNotSetLinesWithTheirPlace) {
  const auto l = config::parse_config_fragment(
      "# a comment\n\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"-x\"\n  CONFIG_D=0x10\n", "f.config");
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0].symbol, "A");
  EXPECT_EQ(l[0].value, "y");
  EXPECT_EQ(l[0].line, 3);
  EXPECT_EQ(l[1].symbol, "B");
  EXPECT_EQ(l[1].value, "n");
  EXPECT_EQ(l[2].value, "\"-x\"");
  EXPECT_EQ(l[3].value, "0x10");
  EXPECT_EQ(l[3].line, 6);
}

TEST(KernelConfig, AMalformedLineIsBadInputNamingFileAndLine) {
  try {
    config::parse_config_fragment("CONFIG_A=y\nARM64_64K_PAGES=y\n", "kernels/fragments/aarch64/64k.config");
    FAIL() << "no error";
  } catch (const util::InputError& e) {
    EXPECT_EQ(e.exit_status(), util::kExitBadInput);
    EXPECT_EQ(std::string(e.what()).rfind("kernels/fragments/aarch64/64k.config:2: expected CONFIG_<NAME>=", 0), 0u)
        << e.what();
  }
}

TEST(KernelConfig, LaterFragmentsWinInTheMergedFile) {
  auto lines = config::parse_config_fragment("CONFIG_A=y\nCONFIG_B=y\n", "base");
  auto more = config::parse_config_fragment("# CONFIG_A is not set\nCONFIG_C=m\n", "axis");
  lines.insert(lines.end(), more.begin(), more.end());
  EXPECT_EQ(config::merge_config_fragments(lines), "# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_C=m\n");
}

TEST(KernelConfig, ASymbolKconfigDroppedIsReportedWithItsFragmentLine) {
  const auto lines = config::parse_config_fragment(
      "CONFIG_ARM64_64K_PAGES=y\nCONFIG_ARM64_VA_BITS_39=y\n# CONFIG_MODULES is not set\nCONFIG_HZ=250\n",
      "frag.config");
  const std::string dot =
      "CONFIG_ARM64_64K_PAGES=y\n# CONFIG_ARM64_VA_BITS_39 is not set\nCONFIG_ARM64_VA_BITS_42=y\nCONFIG_HZ=100\n";
  const auto bad = config::config_mismatches(lines, dot);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0], "frag.config:2: CONFIG_ARM64_VA_BITS_39=y requested, the resolved .config has it not set");
  EXPECT_EQ(bad[1], "frag.config:4: CONFIG_HZ=250 requested, the resolved .config has it =100");
  // An absent symbol honours "not set"; a requested y that is absent does not.
  EXPECT_TRUE(config::config_mismatches(config::parse_config_fragment("# CONFIG_X is not set\n", "f"), "").empty());
  EXPECT_EQ(config::config_mismatches(config::parse_config_fragment("CONFIG_X=y\n", "f"), "").size(), 1u);
}

TEST(KernelConfig, KeysChangeWithEveryInput) {
  const config::BuiltKernelInputs in{"aarch64", "linux-source-6.12", "6.12.107-1", "abc", "gcc 12\nld 2.40\n", "Image"};
  const std::string key = config::built_kernel_key(in, "CONFIG_A=y\n");
  EXPECT_EQ(key, config::built_kernel_key(in, "CONFIG_A=y\n"));
  EXPECT_NE(key, config::built_kernel_key(in, "CONFIG_A=n\n"));
  auto newer = in;
  newer.source_version = "6.12.108-1";
  EXPECT_NE(key, config::built_kernel_key(newer, "CONFIG_A=y\n"));
  auto other_gcc = in;
  other_gcc.toolchain = "gcc 13\nld 2.40\n";
  EXPECT_NE(key, config::built_kernel_key(other_gcc, "CONFIG_A=y\n"));
  EXPECT_NE(config::built_kernel_inputs_key(in, {"CONFIG_A=y\n"}), config::built_kernel_inputs_key(in, {"CONFIG_A=n\n"}));
  // Fragment boundaries count: two fragments are not their concatenation.
  EXPECT_NE(config::built_kernel_inputs_key(in, {"ab", "c"}), config::built_kernel_inputs_key(in, {"a", "bc"}));
}

class BuiltRecipe : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("am-built-recipe-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_ / "aarch64");
    write("aarch64/base.config", "CONFIG_BLK_DEV_INITRD=y\n");
    write("aarch64/64k.config", "CONFIG_ARM64_64K_PAGES=y\n");
    write("aarch64/va48.config", "CONFIG_ARM64_VA_BITS_48=y\n");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(root_ / rel) << text; }
  config::KernelRecipe load(const std::string& provides) {
    return config::load_kernel_recipe(
        config::YamlReader::load_string("arch: aarch64\nsource: built\nbuilt: {suite: trixie, package: linux-source-6.12}\n"
                                        "provides:\n" + provides,
                                        "k.yaml"),
        "k", root_);
  }
  std::string error_of(const std::string& provides) {
    try {
      load(provides);
    } catch (const util::InputError& e) {
      return e.what();
    }
    return "(no error)";
  }
  std::filesystem::path root_;
};

TEST_F(BuiltRecipe, FragmentsAreBaseThenOnePerAxisValue) {
  const auto k = load("  release: '6.12'\n  page_size: 64K\n  va_bits: 48\n");
  EXPECT_EQ(k.source, config::KernelSource::built);
  ASSERT_EQ(k.fragments.size(), 3u);
  EXPECT_EQ(k.fragments[0], root_ / "aarch64/base.config");
  EXPECT_EQ(k.fragments[1], root_ / "aarch64/64k.config");
  EXPECT_EQ(k.fragments[2], root_ / "aarch64/va48.config");
}

TEST_F(BuiltRecipe, AMissingAxisFragmentIsLocatedBadInput) {
  const auto e = error_of("  release: '6.12'\n  page_size: 64K\n  va_bits: 42\n");
  EXPECT_EQ(e.rfind("k.yaml:7:12: no config fragment", 0), 0u) << e;
  EXPECT_NE(e.find("aarch64/va42.config (the fragment for va_bits 42)"), std::string::npos) << e;
}

TEST_F(BuiltRecipe, AnAxisLeftToKconfigDefaultsIsRefused) {
  const auto e = error_of("  release: '6.12'\n  page_size: 64K\n");
  EXPECT_NE(e.find("must say its va_bits"), std::string::npos) << e;
}

TEST_F(BuiltRecipe, AnImpossibleCombinationIsRefused) {
  write("aarch64/va39.config", "CONFIG_ARM64_VA_BITS_39=y\n");
  const auto e = error_of("  release: '6.12'\n  page_size: 64K\n  va_bits: 39\n");
  EXPECT_NE(e.find("this kernel cannot exist"), std::string::npos) << e;
}

TEST_F(BuiltRecipe, TheReleaseMustBeTheSourcePackages) {
  const auto e = error_of("  release: '6.1'\n  page_size: 64K\n  va_bits: 48\n");
  EXPECT_NE(e.find("release 6.1 does not match the source package linux-source-6.12"), std::string::npos) << e;
}

TEST_F(BuiltRecipe, AMalformedFragmentIsBadInputAtLoadTime) {
  write("aarch64/va48.config", "CONFIG_ARM64_VA_BITS_48=yes please\n");
  const auto e = error_of("  release: '6.12'\n  page_size: 64K\n  va_bits: 48\n");
  EXPECT_NE(e.find("va48.config:1: expected CONFIG_"), std::string::npos) << e;
}

std::string image_head(std::size_t at, std::string_view magic) {
  std::string h(4096, '\0');
  h.replace(at, magic.size(), magic);
  return h;
}

TEST(KernelImage, BootHeadersMustMatchTheArch) {
  const std::string arm64 = image_head(0x38, std::string_view("ARM\x64", 4));
  const std::string zimage = image_head(0x24, std::string_view("\x18\x28\x6f\x01", 4));
  const std::string bzimage = image_head(0x202, "HdrS");
  EXPECT_FALSE(prepare::kernel_image_problem(arm64, util::Arch::aarch64));
  EXPECT_FALSE(prepare::kernel_image_problem(zimage, util::Arch::armhf));
  EXPECT_FALSE(prepare::kernel_image_problem(bzimage, util::Arch::x86_64));
  EXPECT_EQ(prepare::kernel_image_problem(bzimage, util::Arch::aarch64).value_or(""),
            "expected an arm64 Image for a aarch64 guest, found an x86 bzImage");
  EXPECT_EQ(prepare::kernel_image_problem(arm64, util::Arch::armhf).value_or(""),
            "expected a 32-bit ARM zImage for a armhf guest, found an arm64 Image");
  EXPECT_TRUE(prepare::kernel_image_problem(std::string("\x7f" "ELF", 4), util::Arch::aarch64));
  EXPECT_TRUE(prepare::kernel_image_problem("", util::Arch::x86_64));
}

}  // namespace
}  // namespace archmatrix
