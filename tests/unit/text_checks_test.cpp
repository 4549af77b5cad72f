// config/text_checks replaced std::regex on every input path (issue 9). On
// short strings the regexes are safe, so they are the oracle here: random
// short strings over each check's alphabet must get the same answer from
// the hand-written check as from the regex it replaced. Long strings, which
// crashed the regexes, get a bounded answer.

#include "config/text_checks.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <regex>
#include <string>

namespace archmatrix::config::text {
namespace {

void agrees_with(const char* pattern, const std::function<bool(std::string_view)>& check, const std::string& alphabet,
                 std::size_t max_len = 12) {
  const std::regex re(pattern);
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string s(std::uniform_int_distribution<std::size_t>(0, max_len)(rng), ' ');
    for (auto& c : s) c = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
    ASSERT_EQ(check(s), std::regex_match(s, re)) << pattern << " on '" << s << "'";
  }
}

TEST(TextChecks, NamesAgreeWithTheRegexesTheyReplaced) {
  agrees_with("[a-z0-9][a-z0-9+.-]+", is_debian_package, "az09+.-_A/ ");
  agrees_with("[a-z0-9][a-z0-9._-]*", is_scenario_name, "az09+.-_A/ ");
  agrees_with("[A-Za-z0-9_.-]+", is_check_name, "azAZ09+.-_/ ");
  agrees_with("[A-Za-z0-9_]+", is_library_name, "azAZ09+.-_/ ");
  agrees_with("[A-Za-z0-9_][A-Za-z0-9_.+-]*", is_link_library, "azAZ09+.-_/ ");
  agrees_with(R"(\d+(\.\d+)*)", is_dotted_number, "0123456789..a-");
}

TEST(TextChecks, LinuxSourceReleaseAgreesWithTheRegexItReplaced) {
  const std::regex re(R"(linux-source-([0-9]+)\.([0-9]+))");
  std::mt19937 rng(3);
  const std::string alphabet = "0123456789.-x";
  for (int i = 0; i < 20000; ++i) {
    std::string s = "linux-source-";
    for (auto n = std::uniform_int_distribution<int>(0, 8)(rng); n > 0; --n)
      s += alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
    std::smatch m;
    const bool ok = std::regex_match(s, m, re);
    const auto got = linux_source_release(s);
    ASSERT_EQ(got.has_value(), ok) << s;
    if (ok) {
      EXPECT_EQ(*got, m[1].str() + "." + m[2].str()) << s;
    }
  }
}

TEST(TextChecks, ConfigLinesAgreeWithTheRegexesTheyReplaced) {
  const auto set_or_unset = [](std::string_view s) { return parse_config_assignment(s).has_value(); };
  agrees_with(R"(CONFIG_([A-Za-z0-9_]+)=(y|m|n|-?[0-9]+|0x[0-9A-Fa-f]+|"([^"\\]|\\.)*")|# CONFIG_([A-Za-z0-9_]+) is not set)",
              set_or_unset, "CONFIG_=ymnx0aF\"\\- #", 16);
  // Whole lines of the right shape, mutated in one place.
  std::mt19937 rng(7);
  const std::regex set(R"(CONFIG_([A-Za-z0-9_]+)=(y|m|n|-?[0-9]+|0x[0-9A-Fa-f]+|"([^"\\]|\\.)*"))");
  const std::regex unset(R"(# CONFIG_([A-Za-z0-9_]+) is not set)");
  const std::string junk = "yx0\"\\- #_=Ag";
  for (const std::string base : {"CONFIG_A_1=y", "CONFIG_B=-12", "CONFIG_C=0x1f", "CONFIG_D=\"a \\\" b\"",
                                 "# CONFIG_E is not set"}) {
    for (int i = 0; i < 3000; ++i) {
      std::string s = base;
      s[std::uniform_int_distribution<std::size_t>(0, s.size() - 1)(rng)] =
          junk[std::uniform_int_distribution<std::size_t>(0, junk.size() - 1)(rng)];
      std::smatch m;
      const auto got = parse_config_assignment(s);
      if (std::regex_match(s, m, set)) {
        ASSERT_TRUE(got) << s;
        EXPECT_EQ(got->symbol, m[1].str()) << s;
        EXPECT_EQ(got->value, m[2].str()) << s;
      } else if (std::regex_match(s, m, unset)) {
        ASSERT_TRUE(got) << s;
        EXPECT_EQ(got->symbol, m[1].str()) << s;
        EXPECT_EQ(got->value, "n") << s;
      } else {
        EXPECT_FALSE(got) << s;
      }
    }
  }
}

TEST(TextChecks, LongValuesAreRejectedWithoutRecursion) {
  const std::string long_name(1 << 20, 'a');
  EXPECT_FALSE(is_debian_package(long_name));
  EXPECT_FALSE(is_link_library(long_name));
  EXPECT_FALSE(is_dotted_number(std::string(1 << 20, '1')));
  EXPECT_FALSE(parse_config_assignment("CONFIG_CMDLINE=\"" + std::string(1 << 20, 'x') + "\""));
  EXPECT_TRUE(parse_config_assignment("CONFIG_CMDLINE=\"" + std::string(4000, 'x') + "\""));
}

TEST(TextChecks, ShownValuesAreShortAndPrintable) {
  EXPECT_EQ(shown("abc"), "'abc'");
  EXPECT_EQ(shown(std::string("a\nb\xff", 4)), "'a?b?'");
  EXPECT_EQ(shown(std::string(100, 'x')), "'" + std::string(60, 'x') + "'... (100 characters)");
}

TEST(TextChecks, Fractions) {
  EXPECT_EQ(fraction("3/10"), (std::pair{3, 10}));
  EXPECT_EQ(fraction("9999/9999"), (std::pair{9999, 9999}));
  for (const char* bad : {"", "/", "1/", "/2", "12345/1", "1/2/3", "a/b", "-1/2", " 1/2", "1/2 "})
    EXPECT_FALSE(fraction(bad)) << bad;
}

}  // namespace
}  // namespace archmatrix::config::text
