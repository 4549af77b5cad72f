#include "util/line_prefix.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using archmatrix::util::LinePrefixer;

namespace {

struct Capture {
  std::vector<std::string> writes;
  LinePrefixer::Writer writer() {
    return [this](std::string_view s) { writes.emplace_back(s); };
  }
};

}  // namespace

TEST(LinePrefixer, EachCompleteLineIsOneWriteWithThePrefix) {
  Capture c;
  LinePrefixer p("[a] ", c.writer());
  p.feed("one\ntwo\n");
  EXPECT_EQ(c.writes, (std::vector<std::string>{"[a] one\n", "[a] two\n"}));
}

TEST(LinePrefixer, APartialLineWaitsForItsEndAcrossChunks) {
  Capture c;
  LinePrefixer p("[a] ", c.writer());
  p.feed("hel");
  EXPECT_TRUE(c.writes.empty());
  p.feed("lo\nwor");
  p.feed("ld");
  EXPECT_EQ(c.writes, (std::vector<std::string>{"[a] hello\n"}));
  p.finish();
  EXPECT_EQ(c.writes.back(), "[a] world\n");
  p.finish();  // nothing left: no empty line
  EXPECT_EQ(c.writes.size(), 2u);
}

TEST(LinePrefixer, EmptyLinesAndBinaryBytesAreKept) {
  Capture c;
  LinePrefixer p("> ", c.writer());
  p.feed(std::string("\n\x00\xff\r\n", 5));
  EXPECT_EQ(c.writes, (std::vector<std::string>{"> \n", std::string("> \x00\xff\r\n", 6)}));
}

TEST(LinePrefixer, AnEndlessLineIsCutSoMemoryStaysBounded) {
  Capture c;
  LinePrefixer p("p:", c.writer(), 4);
  p.feed("abcdefghij\n");
  EXPECT_EQ(c.writes, (std::vector<std::string>{"p:abcd\n", "p:efgh\n", "p:ij\n"}));
  c.writes.clear();
  p.feed("wxyz");  // exactly max_line without a newline: out at once
  EXPECT_EQ(c.writes, (std::vector<std::string>{"p:wxyz\n"}));
  p.feed("\nnext\n");  // its own newline ends it; no empty line
  EXPECT_EQ(c.writes, (std::vector<std::string>{"p:wxyz\n", "p:next\n"}));
}
