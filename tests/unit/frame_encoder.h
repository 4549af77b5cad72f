#pragma once
// Test helper: encodes messages exactly as docs/protocol.md specifies, so the
// parser is tested against the document (the agent is tested against it by
// the integration tests and the stored real console logs).

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "protocol/console_parser.h"

namespace archmatrix::testing {

inline std::string base64_encode(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += t[n >> 18 & 63];
    out += t[n >> 12 & 63];
    out += t[n >> 6 & 63];
    out += t[n & 63];
  }
  if (i + 1 == in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += t[n >> 18 & 63];
    out += t[n >> 12 & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += t[n >> 18 & 63];
    out += t[n >> 12 & 63];
    out += t[n >> 6 & 63];
    out += '=';
  }
  return out;
}

inline std::string encode_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [k, v] : fields) body += k + ":" + std::to_string(v.size()) + ":" + v;
  return body;
}

/// The frame lines of one message (each once; the agent sends each twice).
inline std::vector<std::string> frame_lines(const std::string& nonce, unsigned seq, const std::string& kind,
                                            const std::vector<std::pair<std::string, std::string>>& fields,
                                            std::size_t chunk = 96) {
  const std::string b64 = base64_encode(encode_fields(fields));
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < b64.size(); i += chunk) parts.push_back(b64.substr(i, chunk));
  if (parts.empty()) parts.push_back("");
  std::vector<std::string> lines;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    std::string covered = "AM1|" + nonce + "|" + std::to_string(seq) + "|" + std::to_string(p + 1) + "/" +
                          std::to_string(parts.size()) + "|" + kind + "|" + parts[p] + "|";
    char crc[9];
    std::snprintf(crc, sizeof crc, "%08x", protocol::crc32(covered));
    lines.push_back("<<" + covered + crc + ">>");
  }
  return lines;
}

}  // namespace archmatrix::testing
