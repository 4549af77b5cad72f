#include "protocol/channel_frame.h"

#include <algorithm>
#include <stdexcept>

namespace archmatrix::protocol {

std::string encode_frame(FrameType type, std::uint16_t stream, std::string_view payload) {
  if (payload.size() > kMaxPayload) throw std::length_error("channel frame payload larger than 1 MiB");
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out.reserve(kFrameHeader + payload.size());
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  out += static_cast<char>((n >> 16) & 0xff);
  out += static_cast<char>((n >> 24) & 0xff);
  out += static_cast<char>(type);
  out += '\0';
  out += static_cast<char>(stream & 0xff);
  out += static_cast<char>(stream >> 8);
  out.append(payload);
  return out;
}

std::optional<Frame> FrameDecoder::next() {
  if (!error_.empty() || buffered() < kFrameHeader) return std::nullopt;
  const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data() + start_);
  const std::uint32_t len = h[0] | h[1] << 8 | h[2] << 16 | static_cast<std::uint32_t>(h[3]) << 24;
  const auto type = static_cast<FrameType>(h[4]);
  if (len > kMaxPayload) {
    error_ = "channel: frame of " + std::to_string(len) + " bytes (at most " + std::to_string(kMaxPayload) + ")";
    return std::nullopt;
  }
  if (h[5] != 0) {
    error_ = "channel: frame with flags " + std::to_string(h[5]) + " (must be 0)";
    return std::nullopt;
  }
  if (std::find(accepted_.begin(), accepted_.end(), type) == accepted_.end()) {
    error_ = "channel: unexpected frame type " + std::to_string(h[4]);
    return std::nullopt;
  }
  if (buffered() < kFrameHeader + len) return std::nullopt;
  Frame f{type, static_cast<std::uint16_t>(h[6] | h[7] << 8), buffer_.substr(start_ + kFrameHeader, len)};
  start_ += kFrameHeader + len;
  // Compact now and then, not per frame: a burst of small frames stays linear.
  if (start_ > 256 * 1024 || start_ == buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return f;
}

std::vector<FrameType> guest_to_host_types() {
  return {FrameType::stdout_data, FrameType::stderr_data, FrameType::exit, FrameType::ok,
          FrameType::error,       FrameType::data,        FrameType::close};
}

std::string encode_field_list(const FieldList& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += k + ":" + std::to_string(v.size()) + ":" + v;
  return out;
}

std::optional<FieldList> decode_field_list(std::string_view text) {
  FieldList out;
  while (!text.empty()) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    const std::string_view key = text.substr(0, colon);
    if (!std::all_of(key.begin(), key.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }))
      return std::nullopt;
    text.remove_prefix(colon + 1);
    std::size_t len = 0, digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9' && digits < 10)
      len = len * 10 + static_cast<std::size_t>(text[digits++] - '0');
    if (digits == 0 || digits >= text.size() || text[digits] != ':') return std::nullopt;
    text.remove_prefix(digits + 1);
    if (text.size() < len) return std::nullopt;
    out.emplace_back(std::string(key), std::string(text.substr(0, len)));
    text.remove_prefix(len);
  }
  return out;
}

std::optional<std::string> first_field(const FieldList& fields, std::string_view key) {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return std::nullopt;
}

}  // namespace archmatrix::protocol
