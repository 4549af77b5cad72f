// The escaping every report format starts from, and the writer of all four.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/html_report.h"
#include "report/json_read.h"
#include "report/junit_report.h"
#include "report/markdown_report.h"
#include "report/write_reports.h"
#include "report_samples.h"

#include <unistd.h>

namespace archmatrix::report {
namespace {

TEST(ReportText, ValidUtf8AndXmlCharactersPassThrough) {
  EXPECT_EQ(xml_safe_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7\ttab\nline\r\n"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7\ttab\nline\r\n");
}

TEST(ReportText, InvalidUtf8BecomesReplacementCharacters) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(xml_safe_text("a\xff" "b"), "a" + fffd + "b");
  EXPECT_EQ(xml_safe_text("\xc0\xaf"), fffd + fffd);             // overlong '/'
  EXPECT_EQ(xml_safe_text("\xed\xa0\x80"), fffd + fffd + fffd);  // a UTF-16 surrogate
  EXPECT_EQ(xml_safe_text("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // beyond U+10FFFF
  EXPECT_EQ(xml_safe_text("end\xe2\x82"), "end" + fffd + fffd);  // truncated at the end
  EXPECT_EQ(xml_safe_text("\xe2\x82z"), fffd + fffd + "z");      // truncated by an ASCII byte
}

TEST(ReportText, ControlsAndTerminalEscapesAreRemoved) {
  EXPECT_EQ(xml_safe_text(std::string("a\0b\x01\x08\x0b\x0c\x7f" "c", 9)), "abc");
  EXPECT_EQ(xml_safe_text("\x1b[1;31mred\x1b[0m"), "red");
  EXPECT_EQ(xml_safe_text("\x1b]0;title\x07text\x1b]2;t\x1b\\more"), "textmore");
  EXPECT_EQ(xml_safe_text("\x1b" "cX\x1b"), "X");
  EXPECT_EQ(xml_safe_text("\xc2\x9b" "31m"), "31m");       // C1 CSI dropped
  EXPECT_EQ(xml_safe_text("\xef\xbf\xbe\xef\xbf\xbf"), "");  // U+FFFE, U+FFFF
}

TEST(ReportText, MarkdownEscapesAndCuts) {
  EXPECT_EQ(markdown_escape("a|b `c` *d* _e_ <f> [g](h) ~i~ #j &k !l \\m"),
            "a\\|b \\`c\\` \\*d\\* \\_e\\_ \\<f\\> \\[g\\](h) \\~i\\~ \\#j \\&k \\!l \\\\m");
  EXPECT_EQ(markdown_escape("one\ntwo\r\nthree\rfour"), "one<br>two<br>three<br>four");
  EXPECT_EQ(markdown_escape("caf\xc3\xa9s", 4), "caf\xc3\xa9…");  // whole characters
  EXPECT_EQ(markdown_escape("abc", 3), "abc");
}

TEST(ReportText, HtmlEscapesEverythingActive) {
  EXPECT_EQ(html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(html_escape(std::string("\0\x1b[2Jok", 7)), "ok");
}

TEST(ReportText, ConsoleLinksAreBuiltFromTheCellIdNotTheReport) {
  auto run = testing::golden_run();
  run.cells[0].console_log = "javascript:alert(1)";
  run.cells[0].id = "odd id/<x>";
  const auto html = html_report(run);
  EXPECT_EQ(html.find("javascript:"), std::string::npos);
  EXPECT_NE(html.find("href=\"cells/odd%20id%2F%3Cx%3E/console.log\""), std::string::npos);
}

TEST(WriteReports, WritesAllFourFormatsReadableBack) {
  const auto dir = std::filesystem::temp_directory_path() / ("am-write-reports-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto run = testing::golden_run();
  write_all_reports(run, dir / "out");
  for (const char* name : {"report.json", "junit.xml", "summary.md", "report.html"})
    EXPECT_TRUE(std::filesystem::is_regular_file(dir / "out" / name)) << name;
  std::ifstream in(dir / "out" / "junit.xml", std::ios::binary);
  std::ostringstream junit;
  junit << in.rdbuf();
  EXPECT_EQ(junit.str(), junit_xml(run));
  EXPECT_EQ(read_report(dir / "out" / "report.json").cells.size(), run.cells.size());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace archmatrix::report
