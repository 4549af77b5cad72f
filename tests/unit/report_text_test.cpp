// The escaping every report format starts from (util/text_safe), and the
// writer of all four.

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include "report/console_report.h"
#include "report/html_report.h"
#include "report/json_read.h"
#include "report/junit_report.h"
#include "report/markdown_report.h"
#include "report/write_reports.h"
#include "report_samples.h"
#include "util/text_safe.h"

#include <unistd.h>

namespace archmatrix::report {
namespace {

TEST(ReportText, ValidUtf8AndXmlCharactersPassThrough) {
  EXPECT_EQ(util::document_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7\ttab\nline\r\n"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7\ttab\nline\r\n");
}

TEST(ReportText, InvalidUtf8BecomesReplacementCharacters) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(util::document_text("a\xff" "b"), "a" + fffd + "b");
  EXPECT_EQ(util::document_text("\xc0\xaf"), fffd + fffd);             // overlong '/'
  EXPECT_EQ(util::document_text("\xed\xa0\x80"), fffd + fffd + fffd);  // a UTF-16 surrogate
  EXPECT_EQ(util::document_text("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // beyond U+10FFFF
  EXPECT_EQ(util::document_text("end\xe2\x82"), "end" + fffd + fffd);  // truncated at the end
  EXPECT_EQ(util::document_text("\xe2\x82z"), fffd + fffd + "z");      // truncated by an ASCII byte
}

// Control bytes are shown, never dropped: an escape sequence reads as one,
// and whatever follows it (even when it never ends) stays.
TEST(ReportText, ControlsAndEscapesAreShownAsControlPictures) {
  EXPECT_EQ(util::document_text(std::string("a\0b\x01\x08\x0b\x0c\x7f" "c", 9)), "a␀b␁␈␋␌␡c");
  EXPECT_EQ(util::document_text("\x1b[1;31mred\x1b[0m"), "␛[1;31mred␛[0m");
  EXPECT_EQ(util::document_text("\x1b]0;title\x07text\x1b]2;t\x1b\\more"), "␛]0;title␇text␛]2;t␛\\more");
  EXPECT_EQ(util::document_text("\x1b]0;never ends\nnext\x1b[1;2\nline"), "␛]0;never ends\nnext␛[1;2\nline");
  EXPECT_EQ(util::document_text("\xc2\x9b" "31m"), "\xef\xbf\xbd" "31m");                // C1 CSI
  EXPECT_EQ(util::document_text("\xef\xbf\xbe\xef\xbf\xbf"), "\xef\xbf\xbd\xef\xbf\xbd");  // U+FFFE, U+FFFF
}

TEST(ReportText, XmlEscapesTextAndAttributes) {
  EXPECT_EQ(util::xml_escape("a<b>&\"c\"\n\t\r]]>\x1b", false), "a&lt;b&gt;&amp;\"c\"\n\t&#13;]]&gt;␛");
  EXPECT_EQ(util::xml_escape("a<b>&\"c\"\n\t\r", true), "a&lt;b&gt;&amp;&quot;c&quot;&#10;&#9;&#13;");
}

TEST(ReportText, TerminalTextIsPrintableAsciiWithEscapesInCaretNotation) {
  EXPECT_EQ(util::terminal_text("\x1b[2Jcaf\xc3\xa9\n\x7f\t\xff.\r"), "^[[2Jcaf? ^? ?.^M");
  EXPECT_EQ(util::terminal_text(std::string("\0\x1b]0;t\x07", 7)), "^@^[]0;t^G");
  EXPECT_EQ(util::terminal_text("one\ntwo", 200, "\n  "), "one\n  two");
  EXPECT_EQ(util::terminal_text("abcdef", 3), "abc...");
  EXPECT_EQ(util::terminal_text("\x1b\x1b\x1b", 3), "^[^[^[");  // the cut counts input characters
}

TEST(ReportText, TailKeepsTheEnd) {
  EXPECT_EQ(util::tail("short", 10), "short");
  EXPECT_EQ(util::tail("0123456789", 4), "...6789");
}

// A crashing scenario's last output, cut mid-escape: an OSC that never ends,
// CSIs whose parameters run into a newline. The old skipper swallowed the rest
// of the text (10 of these bytes survived).
const std::string kCutEscapes = std::string("BEGIN output of a crash\n") + "\x1b]0;title that never ends\n" +
                                "step two ok\n" + "\x1b[1;2\n" + "next line after a cut CSI\n" + "\x1b[7\n" +
                                "last words 0xdead\n" + "\x1b]8;;osc at the end END";

// Checks that every printable byte and every line break of kCutEscapes is in
// `out`, in order, between its first and last word: each run of printable
// bytes as it is (after `unescape` undid the format's escaping), each newline
// as the format's `line_break`.
void expect_all_text_survives(const std::string& format, const std::string& out, const std::string& line_break,
                              const std::function<std::string(std::string)>& escape) {
  SCOPED_TRACE(format);
  std::size_t at = out.find("BEGIN output");
  ASSERT_NE(at, std::string::npos) << out;
  std::string run;
  const auto expect_next = [&](const std::string& piece) {
    const auto p = out.find(piece, at);
    ASSERT_NE(p, std::string::npos) << "lost: '" << piece << "' after byte " << at << " of:\n" << out.substr(at, 400);
    // Nothing printable of the input may be skipped: the piece follows
    // closely (an escape shown visibly is a few bytes).
    EXPECT_LE(p - at, 12u) << "'" << piece << "' is far from byte " << at << ":\n" << out.substr(at, 400);
    at = p + piece.size();
  };
  for (char c : kCutEscapes) {
    if (c >= 0x20 && c < 0x7f) {
      run += c;
      continue;
    }
    if (!run.empty()) expect_next(escape(run));
    run.clear();
    if (c == '\n') expect_next(line_break);
    if (::testing::Test::HasFatalFailure()) return;
  }
  if (!run.empty()) expect_next(escape(run));
}

std::string as_is(std::string s) { return s; }

std::string md_brackets(std::string s) {
  std::string out;
  for (char c : s) out += (c == '[' || c == ']') ? std::string("\\") + c : std::string(1, c);
  return out;
}

RunSummary run_with_cut_escapes() {
  auto run = testing::golden_run();
  auto& sc = run.cells[0].scenarios[0];
  sc.stdout_text = kCutEscapes;
  sc.results[0].code = verdict::Code::CRASH;
  sc.results[0].message = "kernel crash";
  sc.results[0].detail = kCutEscapes;
  return run;
}

TEST(ReportText, UnterminatedEscapesLoseNoTextInJunit) {
  const auto xml = junit_xml(run_with_cut_escapes());
  expect_all_text_survives("junit <system-out>", xml.substr(xml.find("<system-out>BEGIN")), "\n", as_is);
  expect_all_text_survives("junit <error>", xml.substr(xml.find("type=\"CRASH\">")), "\n", as_is);
}

TEST(ReportText, UnterminatedEscapesLoseNoTextInHtml) {
  const auto html = html_report(run_with_cut_escapes());
  expect_all_text_survives("html <pre>", html.substr(html.find("<pre>BEGIN")), "\n", as_is);
}

TEST(ReportText, UnterminatedEscapesLoseNoTextInMarkdown) {
  expect_all_text_survives("markdown", markdown_summary(run_with_cut_escapes()), "<br>", md_brackets);
}

TEST(ReportText, UnterminatedEscapesLoseNoTextInTheConsoleTable) {
  const auto text = console_summary(run_with_cut_escapes());
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  expect_all_text_survives("console", text, "\n", as_is);
}

TEST(ReportText, MarkdownEscapesAndCuts) {
  EXPECT_EQ(util::markdown_escape("a|b `c` *d* _e_ <f> [g](h) ~i~ #j &k !l \\m"),
            "a\\|b \\`c\\` \\*d\\* \\_e\\_ \\<f\\> \\[g\\](h) \\~i\\~ \\#j \\&k \\!l \\\\m");
  EXPECT_EQ(util::markdown_escape("one\ntwo\r\nthree\rfour"), "one<br>two<br>three<br>four");
  EXPECT_EQ(util::markdown_escape("caf\xc3\xa9s", 4), "caf\xc3\xa9…");  // whole characters
  EXPECT_EQ(util::markdown_escape("abc", 3), "abc");
}

TEST(ReportText, HtmlEscapesEverythingActive) {
  EXPECT_EQ(util::html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(util::html_escape(std::string("\0\x1b[2Jok", 7)), "␀␛[2Jok");
}

TEST(ReportText, ConsoleLinksAreBuiltFromTheCellIdNotTheReport) {
  auto run = testing::golden_run();
  run.cells[0].console_log = "javascript:alert(1)";
  run.cells[0].id = "odd id/<x>";
  const auto html = html_report(run);
  EXPECT_EQ(html.find("javascript:"), std::string::npos);
  EXPECT_NE(html.find("href=\"cells/odd%20id%2F%3Cx%3E/console.log\""), std::string::npos);
}

// Attempts link their console log and trace only as paths inside the
// report's directory, whatever a doctored report.json says.
TEST(ReportText, AttemptLinksStayInsideTheReport) {
  auto run = testing::golden_run();
  const auto plain = html_report(run);
  EXPECT_NE(plain.find("href=\"cells/x86_64-6.1/attempt-3/strace.txt\">strace</a>"), std::string::npos);
  for (auto& c : run.cells)
    for (auto& sc : c.scenarios)
      for (auto& a : sc.attempts) {
        a.console_log = "javascript:alert(1)";
        a.trace = "../../etc/passwd";
      }
  const auto odd = html_report(run);
  EXPECT_EQ(odd.find("href=\"javascript:"), std::string::npos);
  EXPECT_NE(odd.find("href=\"javascript%3Aalert%281%29\""), std::string::npos);
  EXPECT_EQ(odd.find("etc/passwd"), std::string::npos);
  EXPECT_NE(odd.find("href=\"#\">strace</a>"), std::string::npos);
}

// The grid's header groups the check columns under their scenario.
TEST(ReportText, HtmlGridGroupsChecksUnderTheirScenario) {
  const auto html = html_report(testing::golden_run());
  EXPECT_NE(html.find("<th class=\"scn\" colspan=\"2\" scope=\"colgroup\" title=\"sparse-tmpfs\">sparse-tmpfs</th>"), std::string::npos);
  EXPECT_NE(html.find("<th class=\"scn\" colspan=\"1\" scope=\"colgroup\" title=\"large-mmap\">large-mmap</th>"), std::string::npos);
  EXPECT_NE(html.find("<div>2 hardcoded-4096</div>"), std::string::npos);  // numbered as the console's [2]
  EXPECT_NE(html.find("<div>1 (whole)</div>"), std::string::npos);
}

// A failed result shows the repro and bundle commands; a check name is the
// guest's word, so one a shell would read as more than a word is left out.
TEST(ReportText, ReproCommandsOnlyWithNamesAShellTakesAsWords) {
  auto run = testing::golden_run();
  const auto plain = html_report(run);
  EXPECT_NE(plain.find("<pre>archmatrix repro armhf-2g2g-6.1 sparse-tmpfs/hardcoded-4096\n"
                       "archmatrix bundle armhf-2g2g-6.1 sparse-tmpfs --out bundle-armhf-2g2g-6.1-sparse-tmpfs</pre>"),
            std::string::npos);
  for (auto& c : run.cells)
    for (auto& sc : c.scenarios)
      for (auto& r : sc.results)
        if (r.check == "hardcoded-4096") r.check = "x;rm -rf ~";
  const auto odd = html_report(run);
  EXPECT_NE(odd.find("x;rm -rf"), std::string::npos);  // the result is still there, named as the guest said
  for (std::size_t at = 0; (at = odd.find("<pre>archmatrix repro", at)) != std::string::npos; ++at)
    EXPECT_EQ(odd.substr(at, odd.find("</pre>", at) - at).find("rm -rf"), std::string::npos);
  EXPECT_EQ(odd.find("archmatrix repro armhf-2g2g-6.1 sparse-tmpfs/x"), std::string::npos);
  EXPECT_NE(odd.find("<pre>archmatrix repro armhf-2g2g-6.1 sparse-tmpfs\n"), std::string::npos);
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
