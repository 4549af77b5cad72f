#include "protocol/console_parser.h"

#include <gtest/gtest.h>

#include "frame_encoder.h"

namespace archmatrix::protocol {
namespace {

using testing::frame_lines;
const std::string kNonce = "0123456789abcdef";

std::vector<Message> parse_all(const std::vector<std::string>& lines, ConsoleParser& p) {
  for (const auto& l : lines) p.feed_line(l);
  return p.take_messages();
}

TEST(Crc32, MatchesZlibCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xcbf43926u);  // the standard CRC-32 check value
}

TEST(Base64, DecodesAndRejectsMalformed) {
  EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64_decode("aGVsbG8h"), "hello!");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_FALSE(base64_decode("aGVsbG8"));     // not a multiple of 4
  EXPECT_FALSE(base64_decode("aGV*bG8h"));    // bad character
  EXPECT_FALSE(base64_decode("aG=sbG8h"));    // padding in the middle
  EXPECT_FALSE(base64_decode("aGVs\nbG8h"));  // no line breaks
}

TEST(DecodeFields, LengthPrefixedBinarySafe) {
  auto f = decode_fields(std::string("a:3:x:yb:0:c:2:\0\n", 17));
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)["a"], "x:y");
  EXPECT_EQ((*f)["b"], "");
  EXPECT_EQ((*f)["c"], std::string("\0\n", 2));
  EXPECT_FALSE(decode_fields("a:5:abc"));  // length past the end
  EXPECT_FALSE(decode_fields("A:1:x"));    // keys are lower case
  EXPECT_FALSE(decode_fields("a1:x"));     // missing length
}

TEST(ConsoleParser, ReassemblesMultiPartMessageAndIgnoresDuplicates) {
  const std::string big(1000, 'z');
  auto lines = frame_lines(kNonce, 7, "result", {{"name", "s"}, {"stdout", big}});
  ASSERT_GT(lines.size(), 10u);
  std::vector<std::string> doubled;
  for (const auto& l : lines) {
    doubled.push_back(l);
    doubled.push_back(l);
  }
  ConsoleParser p(kNonce);
  auto msgs = parse_all(doubled, p);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].seq, 7u);
  EXPECT_EQ(msgs[0].kind, "result");
  EXPECT_EQ(msgs[0].fields["stdout"], big);
  EXPECT_TRUE(p.anomalies().empty());
}

TEST(ConsoleParser, FindsFrameAfterFirmwareEscapesOnTheSameLine) {
  auto lines = frame_lines(kNonce, 0, "hello", {{"agent", "1"}});
  ConsoleParser p(kNonce);
  p.feed_line("\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01H" + lines[0]);
  EXPECT_EQ(p.take_messages().size(), 1u);
}

TEST(ConsoleParser, RejectsForgedFrameWithWrongNonce) {
  auto forged = frame_lines("ffffffffffffffff", 3, "result", {{"name", "s"}, {"status", "exit"}});
  ConsoleParser p(kNonce);
  EXPECT_TRUE(parse_all(forged, p).empty());
  ASSERT_EQ(p.anomalies().size(), 1u);
  EXPECT_NE(p.anomalies()[0].find("foreign nonce"), std::string::npos);
}

TEST(ConsoleParser, RejectsCorruptedFrame) {
  auto lines = frame_lines(kNonce, 1, "facts", {{"page_size", "4096"}});
  std::string bad = lines[0];
  bad[bad.size() / 2] ^= 1;
  ConsoleParser p(kNonce);
  EXPECT_TRUE(parse_all({bad}, p).empty());
  EXPECT_EQ(p.anomalies().size(), 1u);
  // ... and the second copy still delivers the message.
  EXPECT_EQ(parse_all({lines[0]}, p).size(), 1u);
}

TEST(ConsoleParser, RepairsFrameCutByKernelMessage) {
  auto lines = frame_lines(kNonce, 2, "facts", {{"page_size", "16384"}});
  const std::string& l = lines[0];
  const std::size_t cut = l.size() / 2;
  ConsoleParser p(kNonce);
  p.feed_line(l.substr(0, cut) + "[   12.345678] random: crng init done");
  p.feed_line(l.substr(cut));
  auto msgs = p.take_messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].fields["page_size"], "16384");
}

TEST(ConsoleParser, CutFrameWithoutItsEndIsNotInvented) {
  auto lines = frame_lines(kNonce, 2, "facts", {{"page_size", "16384"}});
  ConsoleParser p(kNonce);
  p.feed_line(lines[0].substr(0, 40));
  for (int i = 0; i < 10; ++i) p.feed_line("unrelated line >> with an end marker");
  EXPECT_TRUE(p.take_messages().empty());
}

TEST(ConsoleParser, ScenarioTextThatLooksLikeAFrameDoesNotCount) {
  ConsoleParser p(kNonce);
  p.feed_line("<<AM1|" + kNonce + "|9|1/1|result|bmFtZToxOnM=|00000000>>");
  EXPECT_TRUE(p.take_messages().empty());
  EXPECT_FALSE(p.anomalies().empty());
}

TEST(ConsoleParser, MissingPartIsReportedIncomplete) {
  auto lines = frame_lines(kNonce, 4, "result", {{"stdout", std::string(300, 'a')}});
  ASSERT_GE(lines.size(), 3u);
  ConsoleParser p(kNonce);
  p.feed_line(lines[0]);
  p.feed_line(lines[2]);
  EXPECT_TRUE(p.take_messages().empty());
  EXPECT_EQ(p.incomplete(), std::vector<std::uint64_t>{4});
}

TEST(ConsoleParser, TwoVerifiedCopiesThatDifferAreAnAnomaly) {
  auto a = frame_lines(kNonce, 5, "begin", {{"name", "a"}});
  auto b = frame_lines(kNonce, 5, "begin", {{"name", "b"}});
  ConsoleParser p(kNonce);
  p.feed_line(a[0]);
  EXPECT_EQ(p.take_messages().size(), 1u);
  p.feed_line(b[0]);  // same seq, already complete: ignored
  EXPECT_TRUE(p.take_messages().empty());
}

TEST(LineSplitter, JoinsChunksAndBoundsLineLength) {
  LineSplitter s(8);
  auto l1 = s.feed("ab");
  EXPECT_TRUE(l1.empty());
  auto l2 = s.feed("c\r\ndef\n");
  ASSERT_EQ(l2.size(), 2u);
  EXPECT_EQ(l2[0], "abc");
  EXPECT_EQ(l2[1], "def");
  auto l3 = s.feed(std::string(20, 'x'));
  EXPECT_EQ(l3.size(), 2u);  // cut every 8 bytes: memory stays bounded
  EXPECT_EQ(s.finish(), std::string(4, 'x'));
}

}  // namespace
}  // namespace archmatrix::protocol
