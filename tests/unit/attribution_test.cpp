#include <gtest/gtest.h>

#include "report/attribution.h"

#include "expr/expr.h"
#include "report_samples.h"

namespace archmatrix::report {
namespace {

using verdict::Code;

// A run where every cell has one check, "s/c", with the given code.
struct Row {
  std::string id, arch;
  std::map<std::string, std::string> axes, facts;
  Code code;
};

RunSummary run_of(const std::vector<Row>& rows) {
  RunSummary s;
  for (const auto& r : rows) {
    auto c = testing::cell(r.id, r.arch, r.axes, r.facts);
    c.scenarios = {testing::scenario("s", {{"c", r.code, "", ""}})};
    s.cells.push_back(c);
  }
  return s;
}

std::string text_of(const RunSummary& s) {
  const auto a = attribute(s);
  EXPECT_EQ(a.size(), 1u);
  return a.empty() ? "" : a[0].text;
}

TEST(Attribution, ThresholdOverPageSizeShownInK) {
  const auto s = run_of({{"a4k", "aarch64", {{"page_size", "4096"}}, {}, Code::PASS},
                         {"a16k", "aarch64", {{"page_size", "16384"}}, {}, Code::XFAIL},
                         {"a64k", "aarch64", {{"page_size", "65536"}}, {}, Code::FAIL}});
  const auto a = attribute(s);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].text, "fails exactly when page_size >= 16K");
  EXPECT_EQ(a[0].kind, Attribution::Kind::predicate);
  ASSERT_EQ(a[0].atoms.size(), 1u);
  EXPECT_EQ(a[0].atoms[0].value, "16384");
  EXPECT_EQ(a[0].breaking, (std::vector<std::string>{"a16k", "a64k"}));
  EXPECT_EQ(a[0].holding, (std::vector<std::string>{"a4k"}));
}

TEST(Attribution, EqualityIsPreferredToAnEquivalentThreshold) {
  const auto s = run_of({{"a4k", "aarch64", {{"page_size", "4096"}}, {}, Code::PASS},
                         {"a16k", "aarch64", {{"page_size", "16384"}}, {}, Code::FAIL}});
  EXPECT_EQ(text_of(s), "fails exactly when page_size == 16K");
}

TEST(Attribution, ArchComesBeforeOtherAxes) {
  // arch == armhf and release == 5.10 both separate; arch is first in the order.
  const auto s = run_of({{"x", "x86_64", {{"release", "6.1"}}, {}, Code::PASS},
                         {"a", "armhf", {{"release", "5.10"}}, {}, Code::FAIL},
                         {"b", "aarch64", {{"release", "6.1"}}, {}, Code::PASS}});
  EXPECT_EQ(text_of(s), "fails exactly when arch == armhf");
}

TEST(Attribution, TwoAtomConjunction) {
  // The x86_64 cell sets no va_bits: its guest's fact (48) stands in, so
  // va_bits >= 48 alone is not enough and arch must join it.
  const auto s = run_of({{"a39", "aarch64", {{"va_bits", "39"}}, {}, Code::PASS},
                         {"a48", "aarch64", {{"va_bits", "48"}}, {}, Code::FAIL},
                         {"a52", "aarch64", {{"va_bits", "52"}}, {}, Code::XFAIL},
                         {"x", "x86_64", {}, {{"va_bits", "48"}}, Code::PASS}});
  const auto a = attribute(s);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].text, "fails exactly when arch == aarch64 && va_bits >= 48");
  EXPECT_EQ(a[0].atoms.size(), 2u);
}

TEST(Attribution, ReleasesCompareAsVersions) {
  // As strings "6.12" < "6.9"; as versions it is the newest.
  const auto s = run_of({{"r61", "x86_64", {{"release", "6.1"}}, {}, Code::PASS},
                         {"r66", "x86_64", {{"release", "6.6"}}, {}, Code::PASS},
                         {"r69", "x86_64", {{"release", "6.9"}}, {}, Code::FAIL},
                         {"r612", "x86_64", {{"release", "6.12"}}, {}, Code::FAIL}});
  EXPECT_EQ(text_of(s), "fails exactly when release >= 6.9");
}

// An attribution is a predicate: evaluated by the predicate language on each
// cell's values it must be true exactly where the check breaks. "7" and "7.0"
// are the same version there, so no release atom can tell them apart.
TEST(Attribution, MeansWhatThePredicateLanguageMeans) {
  const auto s = run_of({{"r612", "x86_64", {{"release", "6.12"}}, {}, Code::PASS},
                         {"r7", "x86_64", {{"release", "7"}}, {}, Code::FAIL},
                         {"r70", "x86_64", {{"release", "7.0"}}, {}, Code::PASS}});
  const auto a = attribute(s);
  ASSERT_EQ(a.size(), 1u);
  if (a[0].kind == Attribution::Kind::predicate) {
    std::string text;
    for (const auto& atom : a[0].atoms) text += (text.empty() ? "" : " && ") + atom.text();
    auto parsed = expr::parse(text);
    ASSERT_TRUE(std::holds_alternative<expr::Expr>(parsed)) << text;
    for (const auto& c : s.cells) {
      const auto env = [&](std::string_view n) -> std::optional<std::string> {
        if (n == "arch") return c.arch;
        auto it = c.axes.find(std::string(n));
        return it == c.axes.end() ? std::nullopt : std::optional<std::string>(it->second);
      };
      const bool breaks = std::find(a[0].breaking.begin(), a[0].breaking.end(), c.id) != a[0].breaking.end();
      EXPECT_EQ(expr::evaluate(std::get<expr::Expr>(parsed), env) == expr::Truth::true_, breaks)
          << a[0].text << " on " << c.id;
    }
  }
  EXPECT_EQ(a[0].text, "no explanation by the axes or the layout facts");
}

TEST(Attribution, NoExplanationWithinTwoAtoms) {
  // Every other release fails: no interval, no interval less one point, no
  // two excluded points.
  const auto s = run_of({{"a", "x86_64", {{"release", "5.4"}}, {}, Code::FAIL},
                         {"b", "x86_64", {{"release", "5.10"}}, {}, Code::PASS},
                         {"c", "x86_64", {{"release", "5.15"}}, {}, Code::FAIL},
                         {"d", "x86_64", {{"release", "6.1"}}, {}, Code::PASS},
                         {"e", "x86_64", {{"release", "6.6"}}, {}, Code::FAIL},
                         {"f", "x86_64", {{"release", "6.12"}}, {}, Code::PASS}});
  const auto a = attribute(s);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, Attribution::Kind::unexplained);
  EXPECT_EQ(a[0].text, "no explanation by the axes or the layout facts");
}

// The seed-003 shape, as the default matrix has it: LuaJIT's 47-bit
// lightuserdata breaks where unhinted mappings land above 2^47. No axis says
// that (4K 6.1 and 16K 6.12 hold; 4K 6.12 breaks, 64K/48 breaks, 39-bit
// holds), but the guests' va_bits_default fact does.
TEST(Attribution, ALayoutFactExplainsWhatNoAxisDoes) {
  const auto s = run_of({{"4k-6.1", "aarch64", {{"page_size", "4096"}, {"release", "6.1"}}, {{"va_bits_default", "47"}}, Code::PASS},
                         {"4k-6.12", "aarch64", {{"page_size", "4096"}, {"release", "6.12"}}, {{"va_bits_default", "48"}}, Code::FAIL},
                         {"16k-6.12", "aarch64", {{"page_size", "16384"}, {"release", "6.12"}}, {{"va_bits_default", "47"}}, Code::PASS},
                         {"64k-va48", "aarch64", {{"page_size", "65536"}, {"release", "6.12"}, {"va_bits", "48"}}, {{"va_bits_default", "48"}}, Code::FAIL},
                         {"4k-va39", "aarch64", {{"page_size", "4096"}, {"release", "6.12"}, {"va_bits", "39"}}, {{"va_bits_default", "39"}}, Code::PASS}});
  const auto a = attribute(s);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(a[0].kind, Attribution::Kind::predicate) << a[0].text;
  ASSERT_EQ(a[0].atoms.size(), 1u);
  EXPECT_TRUE(a[0].atoms[0].fact);
  EXPECT_EQ(a[0].atoms[0].text(), "va_bits_default == 48");  // == before >= (attribute())
  EXPECT_EQ(a[0].text,
            "fails exactly when va_bits_default == 48 (va_bits_default: a fact the guest reported, no axis of the "
            "matrix)");
}

TEST(Attribution, AxesComeBeforeFactsAndOtherFactsAreNeverUsed) {
  // page_size separates, and so would va_bits_default: the axis wins.
  const auto axis = run_of({{"a", "aarch64", {{"page_size", "4096"}}, {{"va_bits_default", "47"}}, Code::PASS},
                            {"b", "aarch64", {{"page_size", "16384"}}, {{"va_bits_default", "48"}}, Code::FAIL}});
  EXPECT_EQ(text_of(axis), "fails exactly when page_size == 16K");
  // Only kernel_release and mem_total_kib differ: not layout facts, no
  // explanation (they differ on every cell and would explain anything).
  const auto other = run_of({{"a", "x86_64", {}, {{"kernel_release", "6.1.0-1"}, {"mem_total_kib", "100"}}, Code::PASS},
                             {"b", "x86_64", {}, {{"kernel_release", "6.1.0-2"}, {"mem_total_kib", "200"}}, Code::FAIL},
                             {"c", "x86_64", {}, {{"kernel_release", "6.1.0-3"}, {"mem_total_kib", "300"}}, Code::PASS}});
  EXPECT_EQ(text_of(other), "no explanation by the axes or the layout facts");
}

TEST(Attribution, EverywhereNowhereAndNoOutcome) {
  EXPECT_EQ(text_of(run_of({{"a", "x86_64", {}, {}, Code::FAIL}, {"b", "armhf", {}, {}, Code::XFAIL}})),
            "fails everywhere");
  EXPECT_EQ(text_of(run_of({{"a", "x86_64", {}, {}, Code::PASS}, {"b", "armhf", {}, {}, Code::XPASS}})),
            "fails nowhere");
  EXPECT_EQ(text_of(run_of({{"a", "x86_64", {}, {}, Code::CRASH}, {"b", "armhf", {}, {}, Code::UNSUPPORTED}})),
            "no PASS or FAIL outcome");
}

TEST(Attribution, OnlyPassAndFailOutcomesCount) {
  // The crashed and the unsupported cell say nothing about the assumption:
  // without them arch == armhf separates exactly.
  const auto s = run_of({{"x", "x86_64", {}, {}, Code::PASS},
                         {"a", "armhf", {}, {}, Code::FAIL},
                         {"b", "aarch64", {}, {}, Code::CRASH},
                         {"c", "armhf", {{"vmsplit", "2G/2G"}}, {}, Code::UNSUPPORTED}});
  const auto a = attribute(s);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].text, "fails exactly when arch == armhf");
  EXPECT_EQ(a[0].breaking.size() + a[0].holding.size(), 2u);
}

TEST(Attribution, IsDeterministicAndFollowsColumnOrder) {
  const auto run = testing::golden_run();
  const auto a = attribute(run);
  const auto b = attribute(run);
  ASSERT_EQ(a.size(), b.size());
  const auto cols = check_columns(run);
  ASSERT_EQ(a.size(), cols.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].column, cols[i]);
  }
  std::map<std::string, std::string> by_name;
  for (const auto& x : a) by_name[x.column.name()] = x.text;
  EXPECT_EQ(by_name["large-mmap"], "fails exactly when arch == armhf");
  EXPECT_EQ(by_name["sparse-tmpfs/hardcoded-4096"], "fails exactly when page_size >= 16K");
  EXPECT_EQ(by_name["sparse-tmpfs/st-blksize"], "fails nowhere");
  EXPECT_EQ(by_name["va-hint/no-hint-above-47"], "fails exactly when arch != armhf && page_size == 4K");
  EXPECT_EQ(by_name["stack-guard"], "fails nowhere");
}

TEST(Attribution, ConsoleTextListsOnlyChecksThatBreak) {
  const auto text = attribution_text(testing::golden_run());
  EXPECT_NE(text.find("  [1] large-mmap: fails exactly when arch == armhf (1 of 5 cells)\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("[2] sparse-tmpfs/hardcoded-4096: fails exactly when page_size >= 16K (2 of 6 cells)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("st-blksize"), std::string::npos);
  EXPECT_EQ(attribution_text(RunSummary{}), "");
}

}  // namespace
}  // namespace archmatrix::report
