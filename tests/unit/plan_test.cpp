#include "plan/plan.h"

#include <gtest/gtest.h>

#include "test_project.h"

namespace archmatrix::plan {
namespace {

using testing::small_project;

std::vector<std::string> ids(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& c : p.cells) out.push_back(c.id);
  return out;
}

TEST(Plan, ExpandsAxesPicksKernelsAndSortsCells) {
  auto project = small_project();
  auto p = make_plan(project);
  EXPECT_EQ(ids(p), (std::vector<std::string>{"aarch64-16k", "aarch64-4k", "x86_64"}));
  EXPECT_EQ(p.cells[0].kernel->id, "arm16k");
  EXPECT_EQ(p.cells[1].kernel->id, "arm4k");
  // What the kernel provides becomes part of the cell's axes (and is checked against facts).
  EXPECT_EQ(p.cells[0].axes.at("va_bits"), "52");
  EXPECT_EQ(p.cells[0].axes.at("release"), "6.12");
  // x86_64 defaults to 4-level paging.
  EXPECT_EQ(p.cells[2].axes.at("paging"), "4level");
  EXPECT_EQ(p.cells[2].scenarios.size(), 2u);
}

TEST(Plan, ImpossibleCombinationIsSkippedWithTheKconfigReason) {
  auto project = small_project();
  project.matrix.entries[0].axes["va_bits"] = {"48", "47"};
  auto p = make_plan(project);
  // 4K/47 cannot exist; 16K/48 has no recipe here; 4K/48 runs.
  std::vector<std::string> skipped;
  for (const auto& s : p.skipped) skipped.push_back(s.id + ": " + s.reason);
  ASSERT_EQ(skipped.size(), 3u) << ::testing::PrintToString(skipped);
  EXPECT_EQ(skipped[0], "aarch64-4k-va47: aarch64 with 4K pages cannot have a 47-bit VA (arch/arm64/Kconfig allows 39, 48, 52)");
  EXPECT_EQ(skipped[1].rfind("aarch64-16k-va48: no kernel recipe in kernels/ provides aarch64", 0), 0u) << skipped[1];
}

TEST(Plan, EntryWithNoRunnableCellIsAnInputError) {
  auto project = small_project();
  project.matrix.entries[0].axes = {{"page_size", {"65536"}}, {"va_bits", {"39"}}};
  try {
    make_plan(project);
    FAIL() << "expected an error";
  } catch (const util::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot have a 39-bit VA"), std::string::npos) << e.what();
  }
}

TEST(Plan, AxisOnTheWrongArchIsNeverRemapped) {
  auto project = small_project();
  project.matrix.entries[1].axes["vmsplit"] = {"2G/2G"};
  EXPECT_THROW(make_plan(project), util::InputError);
}

TEST(Plan, AmbiguousKernelIsAnError) {
  auto project = small_project();
  project.kernels.push_back(testing::recipe("arm4k-trixie", util::Arch::aarch64,
                                            {{"release", {"6.12"}}, {"page_size", {"4096"}}}));
  EXPECT_THROW(make_plan(project), util::InputError);
  project.matrix.entries[0].axes["release"] = {"6.1"};
  project.matrix.entries[0].axes["page_size"] = {"4096"};
  EXPECT_EQ(make_plan(project).cells[0].kernel->id, "arm4k");
}

// Built kernels exist for what Debian does not ship; where a Debian kernel
// and a built one both fit a cell that does not name its source, the Debian
// one is used, and naming the source picks the other.
TEST(Plan, ADebianKernelIsPreferredUnlessTheCellNamesItsSource) {
  auto project = small_project();
  auto built = testing::recipe("built-4k", util::Arch::aarch64,
                               {{"release", {"6.12"}}, {"page_size", {"4096"}}, {"va_bits", {"48"}}});
  built.source = config::KernelSource::built;
  built.provides["source"] = {"built"};
  project.kernels.push_back(built);
  project.matrix.entries[0].axes["page_size"] = {"4096"};
  EXPECT_EQ(make_plan(project).cells[0].kernel->id, "arm4k");
  project.matrix.entries[0].axes["source"] = {"built"};
  auto plan = make_plan(project);
  EXPECT_EQ(plan.cells[0].kernel->id, "built-4k");
  EXPECT_EQ(plan.cells[0].axes.at("release"), "6.12");
}

TEST(Plan, TwoBuiltKernelsForOneCellAreStillAmbiguous) {
  auto project = small_project();
  for (const char* id : {"built-a", "built-b"}) {
    auto built = testing::recipe(id, util::Arch::aarch64, {{"release", {"6.12"}}, {"page_size", {"65536"}}});
    built.source = config::KernelSource::built;
    built.provides["source"] = {"built"};
    project.kernels.push_back(built);
  }
  project.matrix.entries[0].axes["page_size"] = {"65536"};
  try {
    make_plan(project);
    FAIL() << "no error";
  } catch (const util::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("matches several kernel recipes (built-a, built-b)"), std::string::npos)
        << e.what();
  }
}

TEST(Plan, FiltersByCellGlobAndScenario) {
  auto project = small_project();
  auto p = make_plan(project, Filters{{"aarch64-*"}, {"sparse"}});
  EXPECT_EQ(ids(p), (std::vector<std::string>{"aarch64-16k", "aarch64-4k"}));
  ASSERT_EQ(p.cells[0].scenarios.size(), 1u);
  EXPECT_EQ(p.cells[0].scenarios[0].spec->name, "sparse");
  EXPECT_THROW(make_plan(project, Filters{{"riscv*"}, {}}), util::InputError);
  EXPECT_THROW(make_plan(project, Filters{{}, {"nope"}}), util::InputError);
}

TEST(Plan, UnsupportedIsDecidedFromAxesBeforeBooting) {
  auto project = small_project();
  project.scenarios[0].unsupported.push_back(testing::expect_when("arch == x86_64", "needs TBI"));
  auto p = make_plan(project);
  EXPECT_FALSE(p.cells[0].scenarios[0].unsupported);
  EXPECT_TRUE(p.cells[2].scenarios[0].unsupported);
  EXPECT_EQ(p.cells[2].scenarios[0].unsupported_reason, "needs TBI");
}

// One rule for a release axis value against a recipe's provides.release and
// against the guest's kernel_release: they used to differ on "6.1+rc".
TEST(Plan, ReleaseMatchingIsOneRule) {
  EXPECT_TRUE(release_matches("6", "6.1"));
  EXPECT_TRUE(release_matches("6", "6.12"));
  EXPECT_TRUE(release_matches("6.1", "6.1"));
  EXPECT_TRUE(release_matches("6.1", "6.1.0-28-arm64"));
  EXPECT_TRUE(release_matches("6.12", "6.12.48+deb13-arm64"));
  EXPECT_TRUE(release_matches("7.0", "7.0-rc3"));
  EXPECT_TRUE(release_matches("6.1", "6.1+rc"));
  EXPECT_FALSE(release_matches("6.1", "6.12"));
  EXPECT_FALSE(release_matches("6.1", "6.12.48+deb13-arm64"));
  EXPECT_FALSE(release_matches("6.12", "6.1"));
  EXPECT_FALSE(release_matches("", "6.1"));
  // A recipe providing 7.0-rc3 serves a cell asking for 7.0.
  auto project = small_project();
  project.kernels[2].provides["release"] = {"7.0-rc3"};
  project.matrix.entries[1].axes["release"] = {"7.0"};
  auto p = make_plan(project);
  EXPECT_EQ(p.cells.back().kernel->id, "amd64");
}

TEST(Plan, DuplicateCellIdsAreRejected) {
  auto project = small_project();
  project.matrix.entries.push_back(project.matrix.entries[1]);
  EXPECT_THROW(make_plan(project), util::InputError);
}

TEST(Plan, TheNumberOfCellsIsCappedBeforeAnyIsMade) {
  // 5000 releases: 5000 candidate cells, counted, not built.
  auto project = small_project();
  auto& releases = project.matrix.entries[0].axes["release"];
  for (int i = 0; i < 5000; ++i) releases.push_back(std::to_string(i + 1));
  try {
    make_plan(project);
    FAIL() << "expected an error";
  } catch (const util::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the matrix expands to 10001 cells; at most 4096"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace archmatrix::plan
