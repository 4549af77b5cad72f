#pragma once
// Frames of the data channel (docs/protocol.md, "Data channel"): an 8-byte
// little-endian header (u32 length, u8 type, u8 flags, u16 stream) and the
// payload, plus the KEY:LEN:VALUE fields of structured payloads. Pure: the
// decoder is fed whatever bytes arrived, in any cuts, and treats them as
// untrusted (a guest program may have taken over the agent).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace archmatrix::protocol {

inline constexpr std::size_t kFrameHeader = 8;
inline constexpr std::size_t kMaxPayload = 1024 * 1024;  ///< larger is a protocol error
inline constexpr std::size_t kChunk = 64 * 1024;         ///< what senders cut data into

enum class FrameType : std::uint8_t {
  put = 0x01, data = 0x02, close = 0x03, get = 0x04, mount = 0x05,
  run = 0x10, stdin_data = 0x11, kill = 0x12, winsize = 0x13,
  restore = 0x30, bye = 0x3f,
  stdout_data = 0x81, stderr_data = 0x82, exit = 0x83, ok = 0x84, error = 0x85,
};

struct Frame {
  FrameType type{};
  std::uint16_t stream = 0;
  std::string payload;
};

/// Header and payload as bytes on the wire. Throws std::length_error past kMaxPayload.
std::string encode_frame(FrameType type, std::uint16_t stream, std::string_view payload);

/// Reassembles frames from bytes fed in arbitrary pieces. After an error
/// (oversized length, non-zero flags, a type the host never receives), every
/// further call reports the same error: the stream cannot be resynchronised.
class FrameDecoder {
 public:
  /// `accepted`: the types this side may receive; anything else is an error.
  explicit FrameDecoder(std::vector<FrameType> accepted) : accepted_(std::move(accepted)) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  /// The next complete frame, or nullopt when more bytes are needed or on error.
  std::optional<Frame> next();
  /// Empty while the stream is good; else one line saying what was wrong.
  const std::string& error() const { return error_; }
  std::size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::vector<FrameType> accepted_;
  std::string buffer_;
  std::size_t start_ = 0;
  std::string error_;
};

/// The types a host accepts from a guest.
std::vector<FrameType> guest_to_host_types();

/// KEY:LEN:VALUE fields, in order; keys may repeat.
using FieldList = std::vector<std::pair<std::string, std::string>>;
std::string encode_field_list(const FieldList& fields);
/// nullopt when the text is not a sequence of well-formed fields.
std::optional<FieldList> decode_field_list(std::string_view text);
/// The first value of key, or nullopt.
std::optional<std::string> first_field(const FieldList& fields, std::string_view key);

}  // namespace archmatrix::protocol
