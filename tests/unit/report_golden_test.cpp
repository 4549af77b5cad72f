// Golden-file tests of every report format, from golden_run(). With
// ARCHMATRIX_UPDATE_GOLDENS=1 each test rewrites its golden file and passes;
// otherwise the output must match it byte for byte.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/html_report.h"
#include "report/json_report.h"
#include "report/junit_report.h"
#include "report/markdown_report.h"
#include "report_samples.h"

namespace archmatrix::report {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldens = fs::path(ARCHMATRIX_FIXTURES) / "golden";

bool updating() {
  const char* v = std::getenv("ARCHMATRIX_UPDATE_GOLDENS");
  return v && std::string(v) == "1";
}

void expect_golden(const std::string& name, const std::string& actual) {
  const fs::path path = kGoldens / name;
  if (updating()) {
    fs::create_directories(kGoldens);
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path << " is missing: run with ARCHMATRIX_UPDATE_GOLDENS=1 to create it";
  std::ostringstream expected;
  expected << in.rdbuf();
  // EXPECT_EQ on two 40 KB strings prints both; say where they part instead.
  if (expected.str() == actual) return;
  std::size_t at = 0;
  while (at < actual.size() && at < expected.str().size() && actual[at] == expected.str()[at]) ++at;
  ADD_FAILURE() << name << " differs from " << path << " at byte " << at << ":\n  golden: "
                << expected.str().substr(at, 120) << "\n  actual: " << actual.substr(at, 120)
                << "\n(ARCHMATRIX_UPDATE_GOLDENS=1 rewrites the goldens)";
}

// No byte a strict XML or HTML parser rejects: C0 controls but \t \n \r,
// ESC in particular, and NUL.
bool has_forbidden_control(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return true;
  return false;
}

TEST(ReportGolden, Json) { expect_golden("report.json", to_json_text(testing::golden_run())); }

TEST(ReportGolden, Junit) {
  const auto xml = junit_xml(testing::golden_run());
  expect_golden("junit.xml", xml);
  EXPECT_FALSE(has_forbidden_control(xml));
  EXPECT_EQ(xml.find("]]>"), std::string::npos);
  EXPECT_EQ(xml.find("<script>"), std::string::npos);
  EXPECT_NE(xml.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(xml.find(R"(<testsuites name="archmatrix" tests="35" failures="4" errors="7" skipped="5")"),
            std::string::npos);
  EXPECT_NE(xml.find(R"(<testsuite name="armhf-6.1" tests="5" failures="1" errors="0" skipped="1")"),
            std::string::npos);
  EXPECT_NE(xml.find(R"(<skipped message="XFAIL: expected failure where page_size &gt; 4K)"), std::string::npos);
  EXPECT_NE(xml.find(R"(<property name="fact.page_size" value="16384"/>)"), std::string::npos);
}

TEST(ReportGolden, Markdown) {
  const auto md = markdown_summary(testing::golden_run());
  expect_golden("summary.md", md);
  EXPECT_FALSE(has_forbidden_control(md));
  EXPECT_NE(md.find("fails exactly when `page_size >= 16K`"), std::string::npos);
  EXPECT_NE(md.find("fails exactly when `arch == armhf`"), std::string::npos);
  EXPECT_NE(md.find("| armhf-6.1 | 4.2 s | **FAIL** |"), std::string::npos) << md;
}

TEST(ReportGolden, Html) {
  const auto html = html_report(testing::golden_run());
  expect_golden("report.html", html);
  EXPECT_FALSE(has_forbidden_control(html));
  // The page's own <script> is the only one.
  std::size_t scripts = 0;
  for (auto p = html.find("<script"); p != std::string::npos; p = html.find("<script", p + 1)) ++scripts;
  EXPECT_EQ(scripts, 1u);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  std::size_t cells = 0;
  for (auto p = html.find("data-code=\""); p != std::string::npos; p = html.find("data-code=\"", p + 1)) ++cells;
  EXPECT_EQ(cells, 35u);
  EXPECT_NE(html.find(R"(<a href="cells/armhf-6.1/console.log">console log</a>)"), std::string::npos);
  // Self-contained: nothing is loaded from anywhere.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
}

}  // namespace
}  // namespace archmatrix::report
