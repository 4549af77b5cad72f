#include "protocol/console_parser.h"

#include <boost/crc.hpp>

#include <charconv>

namespace archmatrix::protocol {

namespace {

constexpr std::string_view kStart = "<<AM1|";
constexpr std::string_view kEnd = ">>";
constexpr std::size_t kMaxFrame = 512;       // a frame line is ~150 bytes; more is not ours
constexpr std::size_t kMaxParts = 1u << 16;  // 6 MiB of base64: above any message the agent sends
constexpr std::size_t kMaxAnomalies = 100;
constexpr int kCutFrameLines = 4;  // how many lines a cut frame waits for its end

bool parse_uint(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

bool is_hex8(std::string_view s) {
  if (s.size() != 8) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::vector<std::string> LineSplitter::feed(std::string_view bytes) {
  std::vector<std::string> lines;
  for (char c : bytes) {
    if (c == '\n') {
      lines.push_back(std::move(partial_));
      partial_.clear();
    } else if (c != '\r' && c != '\0') {
      partial_ += c;
      if (partial_.size() >= max_line_) {
        lines.push_back(std::move(partial_));
        partial_.clear();
      }
    }
  }
  return lines;
}

std::optional<std::string> LineSplitter::finish() {
  if (partial_.empty()) return std::nullopt;
  std::string rest = std::move(partial_);
  partial_.clear();
  return rest;
}

std::uint32_t crc32(std::string_view data) {
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

std::optional<std::string> base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + static_cast<std::size_t>(j)];
      if (c == '=' && last && j >= 2) {
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad) return std::nullopt;  // data after padding
      v[j] = val(c);
      if (v[j] < 0) return std::nullopt;
    }
    const unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                       (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::optional<Fields> decode_fields(std::string_view body) {
  Fields out;
  std::size_t i = 0;
  while (i < body.size()) {
    const std::size_t c1 = body.find(':', i);
    if (c1 == std::string_view::npos || c1 == i) return std::nullopt;
    const std::string_view key = body.substr(i, c1 - i);
    for (char c : key)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return std::nullopt;
    const std::size_t c2 = body.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return std::nullopt;
    std::uint64_t len = 0;
    if (!parse_uint(body.substr(c1 + 1, c2 - c1 - 1), len)) return std::nullopt;
    if (len > body.size() - (c2 + 1)) return std::nullopt;
    out[std::string(key)] = std::string(body.substr(c2 + 1, len));
    i = c2 + 1 + len;
  }
  return out;
}

ConsoleParser::ConsoleParser(std::string nonce) : nonce_(std::move(nonce)) {}

void ConsoleParser::anomaly(std::string what) {
  if (anomalies_.size() < kMaxAnomalies) anomalies_.push_back(std::move(what));
  else ++dropped_anomalies_;
}

// frame_text is "AM1|...|crc" (between "<<" and ">>").
std::optional<ConsoleParser::Frame> ConsoleParser::verify(std::string_view text, bool quiet) {
  const auto f = split(text, '|');
  if (f.size() != 7 || f[0] != "AM1") {
    if (!quiet) anomaly("malformed frame: wrong number of fields");
    return std::nullopt;
  }
  if (!is_hex8(f[6])) {
    if (!quiet) anomaly("malformed frame: bad CRC field");
    return std::nullopt;
  }
  const std::string_view covered = text.substr(0, text.size() - 8);
  char want[9];
  std::snprintf(want, sizeof want, "%08x", crc32(covered));
  if (f[6] != want) {
    if (!quiet) anomaly("frame with a bad CRC (cut or corrupted on the console)");
    return std::nullopt;
  }
  if (f[1] != nonce_) {
    if (!quiet) anomaly("frame with a foreign nonce (not from this run's agent): ignored");
    return std::nullopt;
  }
  Frame fr{};
  std::uint64_t part = 0, nparts = 0;
  const auto slash = f[3].find('/');
  if (!parse_uint(f[2], fr.seq) || slash == std::string_view::npos ||
      !parse_uint(f[3].substr(0, slash), part) || !parse_uint(f[3].substr(slash + 1), nparts) ||
      part < 1 || part > nparts || nparts > kMaxParts) {
    anomaly("frame with bad sequence or part numbers");
    return std::nullopt;
  }
  fr.part = static_cast<unsigned>(part);
  fr.nparts = static_cast<unsigned>(nparts);
  fr.kind = std::string(f[4]);
  fr.payload = std::string(f[5]);
  return fr;
}

void ConsoleParser::accept(const Frame& f) {
  if (done_.count(f.seq)) return;  // the second copy of a finished message
  Pending& p = pending_[f.seq];
  if (p.nparts == 0) {
    p.kind = f.kind;
    p.nparts = f.nparts;
  } else if (p.kind != f.kind || p.nparts != f.nparts) {
    anomaly("message " + std::to_string(f.seq) + ": parts disagree on kind or count");
    return;
  }
  auto [it, inserted] = p.parts.emplace(f.part, f.payload);
  if (!inserted) {
    if (it->second != f.payload)
      anomaly("message " + std::to_string(f.seq) + ": two verified copies of part " +
              std::to_string(f.part) + " differ");
    return;
  }
  if (p.parts.size() < p.nparts) return;
  std::string b64;
  for (auto& [n, s] : p.parts) b64 += s;
  Message m;
  m.seq = f.seq;
  m.kind = p.kind;
  auto body = base64_decode(b64);
  auto fields = body ? decode_fields(*body) : std::nullopt;
  pending_.erase(f.seq);
  done_[f.seq] = true;
  if (!fields) {
    anomaly("message " + std::to_string(m.seq) + " (" + m.kind + "): undecodable payload");
    return;
  }
  m.fields = std::move(*fields);
  ready_.push_back(std::move(m));
}

void ConsoleParser::feed_line(std::string_view line) {
  std::size_t pos = 0;
  // A frame cut by a kernel message: its end arrives on a later line. Try every
  // cut point in the stored start; only a text whose CRC verifies is accepted.
  if (!cut_frame_.empty()) {
    const auto end = line.find(kEnd);
    const auto next_start = line.find(kStart);
    if (end != std::string_view::npos && (next_start == std::string_view::npos || end < next_start)) {
      const std::string_view tail = line.substr(0, end);
      for (std::size_t cut = cut_frame_.size(); cut > 0; --cut) {
        std::string candidate = cut_frame_.substr(0, cut);
        candidate += tail;
        if (candidate.size() > kMaxFrame) continue;
        if (auto f = verify(candidate, true)) {
          accept(*f);
          break;
        }
      }
      cut_frame_.clear();
      pos = end + kEnd.size();
    } else if (++cut_frame_age_ > kCutFrameLines) {
      cut_frame_.clear();
    }
  }
  while (true) {
    const auto start = line.find(kStart, pos);
    if (start == std::string_view::npos) return;
    const auto body = start + 2;  // skip "<<"
    const auto end = line.find(kEnd, body);
    const auto next_start = line.find(kStart, start + 1);
    if (end == std::string_view::npos || (next_start != std::string_view::npos && next_start < end)) {
      if (next_start == std::string_view::npos) {
        cut_frame_ = std::string(line.substr(body, std::min(line.size() - body, kMaxFrame)));
        cut_frame_age_ = 0;
        return;
      }
      pos = next_start;
      continue;
    }
    if (end - body <= kMaxFrame) {
      if (auto f = verify(line.substr(body, end - body), false)) accept(*f);
    } else {
      anomaly("oversized frame ignored");
    }
    pos = end + kEnd.size();
  }
}

std::vector<Message> ConsoleParser::take_messages() {
  std::vector<Message> out;
  out.swap(ready_);
  return out;
}

std::vector<std::uint64_t> ConsoleParser::incomplete() const {
  std::vector<std::uint64_t> out;
  for (const auto& [seq, p] : pending_) out.push_back(seq);
  return out;
}

}  // namespace archmatrix::protocol
