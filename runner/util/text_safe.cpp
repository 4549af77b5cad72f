#include "util/text_safe.h"

namespace archmatrix::util {

namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;
constexpr char32_t kReplacement = 0xFFFD;

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes the UTF-8 sequence at s[i] and advances i past it. Anything
// invalid (bad lead byte, truncated, overlong, surrogate, beyond U+10FFFF)
// gives kInvalid and advances one byte, so the next byte is tried afresh.
char32_t decode(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return s[i++];
  std::size_t more = 0;
  char32_t cp = 0, min = 0;
  if ((lead & 0xE0) == 0xC0) {
    more = 1, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    more = 2, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    more = 3, cp = lead & 0x07, min = 0x10000;
  } else {
    ++i;
    return kInvalid;
  }
  if (i + more >= s.size()) {
    ++i;
    return kInvalid;
  }
  for (std::size_t k = 1; k <= more; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return kInvalid;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return kInvalid;
  }
  i += more + 1;
  return cp;
}

// What document_text shows for one decoded character.
char32_t shown(char32_t cp) {
  if (cp == kInvalid) return kReplacement;
  if (cp == '\t' || cp == '\n' || cp == '\r') return cp;
  if (cp < 0x20) return 0x2400 + cp;  // Control Pictures: ␀ .. ␟
  if (cp == 0x7F) return 0x2421;      // ␡
  if (cp >= 0x80 && cp <= 0x9F) return kReplacement;
  if (cp == 0xFFFE || cp == 0xFFFF) return kReplacement;
  return cp;
}

}  // namespace

std::string document_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) append_utf8(out, shown(decode(s, i)));
  return out;
}

std::string xml_escape(std::string_view raw, bool attribute) {
  const std::string s = document_text(raw);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;  // also keeps "]]>" out of the text
      case '"': out += attribute ? "&quot;" : "\""; break;
      case '\r': out += "&#13;"; break;
      case '\n': out += attribute ? "&#10;" : "\n"; break;
      case '\t': out += attribute ? "&#9;" : "\t"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_escape(std::string_view raw) {
  const std::string s = document_text(raw);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string markdown_escape(std::string_view raw, std::size_t max) {
  const std::string s = document_text(raw);
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    // Count characters, not bytes, and cut only before a UTF-8 lead byte.
    const bool lead = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (lead) {
      if (max && chars == max) {
        out += "…";
        break;
      }
      ++chars;
    }
    switch (c) {
      case '\r':
        if (i + 1 < s.size() && s[i + 1] == '\n') break;  // CRLF: one break
        [[fallthrough]];
      case '\n': out += "<br>"; break;
      case '\t': out += ' '; break;
      case '\\': case '`': case '*': case '_': case '[': case ']': case '<': case '>':
      case '|': case '~': case '#': case '&': case '!':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

std::string terminal_text(std::string_view s, std::size_t max, std::string_view newline) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++chars) {
    if (chars == max) {
      out += "...";
      break;
    }
    const char32_t cp = decode(s, i);
    if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += newline;
    } else if (cp == '\t') {
      out += ' ';
    } else if (cp < 0x20) {
      out += '^';
      out += static_cast<char>(cp + 0x40);
    } else if (cp == 0x7F) {
      out += "^?";
    } else {
      out += '?';
    }
  }
  return out;
}

std::string tail(const std::string& s, std::size_t n) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

}  // namespace archmatrix::util
