// A deterministic fuzz target for everything that reads the guest's console:
// LineSplitter, ConsoleParser (frames, CRC, nonce, cut-frame repair, message
// assembly) and CrashDetector. The inputs are the real console logs of
// tests/fixtures/console, cut into random chunks, with bytes flipped, and
// interleaved with forged frames. Fixed seeds, so a failure repeats; a few
// seconds, labelled unit, so ci/sanitizers.sh runs it under ASan+UBSan.
//
// Invariants: nothing crashes or throws (none of these functions documents
// an exception: the console is untrusted input), memory stays bounded, and
// a message is produced only from frames that carry this run's nonce and a
// valid CRC, never from a forged or damaged one.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "frame_encoder.h"
#include "protocol/console_parser.h"
#include "protocol/crash_detector.h"

namespace archmatrix::protocol {
namespace {

namespace fs = std::filesystem;
using Rng = std::mt19937_64;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Fixture {
  std::string nonce;
  std::string bytes;
};

std::vector<Fixture> fixtures() {
  std::vector<Fixture> out;
  std::vector<fs::path> logs;
  for (const auto& e : fs::directory_iterator(fs::path(ARCHMATRIX_FIXTURES) / "console"))
    if (e.path().extension() == ".log") logs.push_back(e.path());
  std::sort(logs.begin(), logs.end());
  for (const auto& log : logs) {
    auto meta = log;
    meta.replace_extension(".meta");
    std::istringstream in(slurp(meta));
    Fixture f;
    for (std::string line; std::getline(in, line);)
      if (line.rfind("nonce ", 0) == 0) f.nonce = line.substr(6);
    f.bytes = slurp(log);
    out.push_back(std::move(f));
  }
  return out;
}

std::size_t pick(Rng& rng, std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); }

// What the console reader of the supervisor does with a byte stream, in the
// chunks a pipe might deliver.
struct Parsed {
  std::vector<Message> messages;
  std::size_t anomalies = 0;
  bool crashed = false;
  std::string crash_title;
};

Parsed parse(const std::string& nonce, const std::string& bytes, Rng* chunking) {
  LineSplitter split;
  ConsoleParser parser(nonce);
  CrashDetector crash;
  Parsed p;
  const auto line = [&](const std::string& l) {
    EXPECT_LE(l.size(), 16u * 1024u);
    parser.feed_line(l);
    crash.feed_line(l);
    for (auto& m : parser.take_messages()) p.messages.push_back(std::move(m));
  };
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t n = chunking ? 1 + pick(*chunking, 4096) : bytes.size();
    for (const auto& l : split.feed(std::string_view(bytes).substr(i, n))) line(l);
    i += n;
  }
  if (auto rest = split.finish()) line(*rest);
  p.anomalies = parser.anomalies().size();
  p.crashed = crash.crashed();
  p.crash_title = crash.title();
  EXPECT_LE(crash.text().size(), 64u * 1024u);
  return p;
}

bool same(const Message& a, const Message& b) { return a.seq == b.seq && a.kind == b.kind && a.fields == b.fields; }

// Every produced message is one the agent really sent: the same seq, kind
// and fields as in the undamaged log.
void expect_subset_of(const std::vector<Message>& got, const std::vector<Message>& reference, const std::string& what) {
  std::map<std::uint64_t, const Message*> by_seq;
  for (const auto& m : reference) by_seq[m.seq] = &m;
  for (const auto& m : got) {
    auto it = by_seq.find(m.seq);
    ASSERT_NE(it, by_seq.end()) << what << ": invented message " << m.seq << " (" << m.kind << ")";
    EXPECT_TRUE(same(m, *it->second)) << what << ": message " << m.seq << " altered";
  }
}

TEST(FuzzProtocol, RandomChunkingOfRealLogsChangesNothing) {
  Rng rng(0x5eed0001);
  for (const auto& f : fixtures()) {
    const Parsed whole = parse(f.nonce, f.bytes, nullptr);
    ASSERT_FALSE(whole.messages.empty());
    for (int round = 0; round < 6; ++round) {
      const Parsed chunked = parse(f.nonce, f.bytes, &rng);
      ASSERT_EQ(chunked.messages.size(), whole.messages.size()) << "round " << round;
      for (std::size_t i = 0; i < whole.messages.size(); ++i)
        EXPECT_TRUE(same(chunked.messages[i], whole.messages[i])) << "round " << round << " message " << i;
      EXPECT_EQ(chunked.crashed, whole.crashed);
    }
  }
}

TEST(FuzzProtocol, FlippedBytesNeverInventOrAlterAMessage) {
  Rng rng(0x5eed0002);
  for (const auto& f : fixtures()) {
    const Parsed reference = parse(f.nonce, f.bytes, nullptr);
    for (int round = 0; round < 8; ++round) {
      std::string damaged = f.bytes;
      const std::size_t flips = 1 + pick(rng, 400);
      for (std::size_t i = 0; i < flips; ++i) {
        const std::size_t at = pick(rng, damaged.size());
        switch (pick(rng, 4)) {
          case 0: damaged[at] = static_cast<char>(damaged[at] ^ (1 << pick(rng, 8))); break;
          case 1: damaged[at] = "|<>\n\r\0/:="[pick(rng, 10)]; break;
          case 2: damaged.erase(at, 1 + pick(rng, 64)); break;
          default: damaged.insert(at, damaged.substr(pick(rng, damaged.size()), pick(rng, 200))); break;
        }
      }
      const Parsed p = parse(f.nonce, damaged, &rng);
      expect_subset_of(p.messages, reference.messages, "round " + std::to_string(round));
      EXPECT_LE(p.anomalies, 100u);
    }
  }
}

// Frames a hostile guest (or a scenario that reached the console) can make:
// another nonce with a valid CRC, this nonce with a wrong CRC, structurally
// odd frames, nested and unterminated starts, random base64.
std::string forged_line(Rng& rng, const std::string& nonce, std::uint64_t seq) {
  const std::string other = "00000000deadbeef";
  switch (pick(rng, 8)) {
    case 0: {  // a well-formed frame of another run
      auto lines = testing::frame_lines(other, static_cast<unsigned>(seq), "result",
                                        {{"name", "x"}, {"status", "exit"}, {"value", "0"}});
      return lines.front();
    }
    case 1: {  // this run's nonce, a CRC that does not match
      auto l = testing::frame_lines(nonce, static_cast<unsigned>(seq), "result", {{"name", "x"}}).front();
      const auto bar = l.rfind('|');
      l[bar + 1] = l[bar + 1] == '0' ? '1' : '0';
      return l;
    }
    case 2: return "<<AM1|" + nonce + "|" + std::to_string(seq) + "|1/1|result|";  // cut, never ended
    case 3: return "<<AM1|<<AM1|" + nonce + "|>>|>>";
    case 4: return "<<AM1|" + nonce + "|99999999999999999999|0/0|x||zzzzzzzz>>";
    case 5: return std::string(pick(rng, 3000), '<') + "AM1|" + std::string(pick(rng, 600), 'A') + ">>";
    case 6: {
      std::string junk;
      for (std::size_t i = 0, n = pick(rng, 300); i < n; ++i) junk += static_cast<char>(rng());
      return junk;
    }
    default: return "[    1.0] Kernel panic - not syncing: <<AM1|" + nonce + "|1|1/1|hello||00000000>>";
  }
}

TEST(FuzzProtocol, ForgedFramesNeverMakeAMessage) {
  Rng rng(0x5eed0003);
  const std::string nonce = "0123456789abcdef";
  for (int round = 0; round < 40; ++round) {
    // A genuine stream of a few messages, each frame line twice as the agent sends.
    std::vector<Message> genuine;
    std::string bytes;
    for (unsigned seq = 0; seq < 6; ++seq) {
      const std::vector<std::pair<std::string, std::string>> fields{
          {"name", "s" + std::to_string(seq)}, {"stdout", std::string(pick(rng, 400), 'o')}};
      for (const auto& l : testing::frame_lines(nonce, seq, "result", fields, 1 + pick(rng, 96))) {
        for (int copy = 0; copy < 2; ++copy) {
          for (std::size_t k = pick(rng, 3); k > 0; --k) bytes += forged_line(rng, nonce, seq) + "\n";
          bytes += l + "\n";
        }
      }
      Message m;
      m.seq = seq;
      m.kind = "result";
      for (const auto& [k, v] : fields) m.fields[k] = v;
      genuine.push_back(std::move(m));
    }
    const Parsed p = parse(nonce, bytes, &rng);
    expect_subset_of(p.messages, genuine, "round " + std::to_string(round));
    EXPECT_LE(p.anomalies, 100u);
  }
}

// Random frames with this run's nonce and a correct CRC but anything inside
// (odd part numbers, bad base64, bad field encodings): a message can only
// come from a seq some valid frame carried, and only once.
TEST(FuzzProtocol, VerifiedFramesWithOddContentsAreHandled) {
  Rng rng(0x5eed0004);
  const std::string nonce = "0123456789abcdef";
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=|:<>";
  for (int round = 0; round < 200; ++round) {
    ConsoleParser parser(nonce);
    std::set<std::uint64_t> sent;
    for (int i = 0; i < 50; ++i) {
      const std::uint64_t seq = pick(rng, 8);
      const std::uint64_t nparts = pick(rng, 4);
      const std::uint64_t part = pick(rng, 5);
      std::string payload;
      for (std::size_t k = 0, n = pick(rng, 40); k < n; ++k) payload += alphabet[pick(rng, 68)];
      std::string covered = "AM1|" + nonce + "|" + std::to_string(seq) + "|" + std::to_string(part) + "/" +
                            std::to_string(nparts) + "|" + (pick(rng, 2) ? "result" : "") + "|" + payload + "|";
      char crc[9];
      std::snprintf(crc, sizeof crc, "%08x", crc32(covered));
      parser.feed_line("<<" + covered + crc + ">>");
      sent.insert(seq);
    }
    std::set<std::uint64_t> produced;
    for (const auto& m : parser.take_messages()) {
      EXPECT_TRUE(sent.count(m.seq)) << m.seq;
      EXPECT_TRUE(produced.insert(m.seq).second) << "message " << m.seq << " produced twice";
    }
    EXPECT_LE(parser.anomalies().size(), 100u);
  }
}

TEST(FuzzProtocol, DecodersTakeAnyBytes) {
  Rng rng(0x5eed0005);
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    for (std::size_t k = 0, n = pick(rng, 64); k < n; ++k)
      s += pick(rng, 2) ? "ab:0123456789=+/Z"[pick(rng, 17)] : static_cast<char>(rng());
    (void)base64_decode(s);
    if (auto f = decode_fields(s)) {
      for (const auto& [k, v] : *f) EXPECT_LE(k.size() + v.size(), s.size());
    }
  }
}

TEST(FuzzProtocol, CrashDetectorTakesAnyLines) {
  Rng rng(0x5eed0006);
  const std::vector<std::string> headers{"Kernel panic - not syncing: x", "Internal error: Oops: 96000005",
                                         "BUG: kernel NULL pointer dereference", "Oops: 0000 [#1]",
                                         "Unable to handle kernel paging request"};
  for (int round = 0; round < 300; ++round) {
    CrashDetector crash;
    for (int i = 0, n = static_cast<int>(pick(rng, 400)); i < n; ++i) {
      std::string line;
      if (pick(rng, 3) == 0) line += "[" + std::string(pick(rng, 30), ' ') + std::to_string(rng() % 100000) + "]";
      if (pick(rng, 4) == 0) line += headers[pick(rng, headers.size())];
      for (std::size_t k = 0, len = pick(rng, 80); k < len; ++k) line += static_cast<char>(rng());
      if (pick(rng, 8) == 0) line += std::string(pick(rng, 16 * 1024), static_cast<char>(rng()));
      crash.feed_line(line);
      EXPECT_LE(crash_title(line).size(), 200u);
    }
    EXPECT_LE(crash.title().size(), 200u);
    EXPECT_LE(crash.text().size(), 64u * 1024u);
    if (pick(rng, 2)) {
      crash.reset();
      EXPECT_FALSE(crash.crashed());
    }
  }
}

}  // namespace
}  // namespace archmatrix::protocol
