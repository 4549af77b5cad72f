#pragma once
// Reads the guest agent's framed messages (docs/protocol.md) out of a serial
// console stream that the kernel, firmware and scenarios also write to. All
// input is untrusted: lines are bounded, every frame is checked against the
// run's nonce and its CRC, and a frame cut by a kernel message is repaired
// only when the repaired text verifies.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace archmatrix::protocol {

/// Splits a byte stream into lines across arbitrary chunk boundaries. Drops
/// '\r' and NUL; a line longer than max_line is cut there (the rest of it
/// becomes further lines), so memory stays bounded whatever the guest prints.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = 16 * 1024) : max_line_(max_line) {}
  /// Appends bytes and returns the lines they completed.
  std::vector<std::string> feed(std::string_view bytes);
  /// The unterminated rest, if any (end of stream).
  std::optional<std::string> finish();

 private:
  std::size_t max_line_;
  std::string partial_;
};

using Fields = std::map<std::string, std::string>;

struct Message {
  std::uint64_t seq = 0;
  std::string kind;
  Fields fields;
};

/// Decodes a message body: KEY:LEN:VALUE fields. nullopt if malformed.
std::optional<Fields> decode_fields(std::string_view body);
/// Strict RFC 4648 base64 (with padding). nullopt on any invalid input.
std::optional<std::string> base64_decode(std::string_view in);
/// CRC-32 (IEEE, as zlib's crc32) of data.
std::uint32_t crc32(std::string_view data);

class ConsoleParser {
 public:
  explicit ConsoleParser(std::string nonce);

  /// Scans one console line (without its newline) for frames.
  void feed_line(std::string_view line);
  /// Messages completed so far and not yet taken, in completion order.
  std::vector<Message> take_messages();
  /// What looked like our frames but was rejected: bad CRC, wrong nonce,
  /// conflicting copies, undecodable payloads. Bounded in number.
  const std::vector<std::string>& anomalies() const { return anomalies_; }
  /// Messages that were started (some part seen) but never completed.
  std::vector<std::uint64_t> incomplete() const;

 private:
  struct Frame {
    std::uint64_t seq;
    unsigned part, nparts;
    std::string kind, payload;
  };
  struct Pending {
    std::string kind;
    unsigned nparts = 0;
    std::map<unsigned, std::string> parts;
  };

  std::optional<Frame> verify(std::string_view frame_text, bool quiet);
  void accept(const Frame& f);
  void anomaly(std::string what);

  std::string nonce_;
  std::map<std::uint64_t, Pending> pending_;
  std::map<std::uint64_t, bool> done_;
  std::vector<Message> ready_;
  std::vector<std::string> anomalies_;
  std::size_t dropped_anomalies_ = 0;
  /// A frame start without its end, waiting for the line that ends it.
  std::string cut_frame_;
  int cut_frame_age_ = 0;
};

}  // namespace archmatrix::protocol
