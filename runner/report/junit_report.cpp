#include "report/junit_report.h"

#include <fmt/format.h>

namespace archmatrix::report {

namespace {

using verdict::Code;

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
constexpr char32_t kInvalid = 0xFFFFFFFF;

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

// Skips a terminal escape sequence starting at the ESC at s[i]: CSI
// (ESC [ params final), OSC (ESC ] ... BEL or ESC \), or a two-byte escape.
void skip_escape(std::string_view s, std::size_t& i) {
  ++i;
  if (i >= s.size()) return;
  if (s[i] == '[') {
    for (++i; i < s.size(); ++i)
      if (s[i] >= 0x40 && s[i] <= 0x7E) {
        ++i;
        return;
      }
    return;
  }
  if (s[i] == ']') {
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\a') {
        ++i;
        return;
      }
      if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '\\') {
        i += 2;
        return;
      }
    }
    return;
  }
  if (static_cast<unsigned char>(s[i]) >= 0x20 && static_cast<unsigned char>(s[i]) < 0x7F) ++i;
}

bool xml_allowed(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return true;
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;  // C0, DEL, C1
  if (cp == 0xFFFE || cp == 0xFFFF) return false;
  return true;
}

// Attribute values also escape tab, newline and CR: a parser would otherwise
// normalise them to spaces and a failure message would lose its lines.
std::string esc(std::string_view raw, bool attribute) {
  const std::string s = xml_safe_text(raw);
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

std::string attr(std::string_view s) { return esc(s, true); }
std::string text(std::string_view s) { return esc(s, false); }

std::string seconds(double s) { return fmt::format("{:.3f}", s < 0 ? 0.0 : s); }

enum class Kind { passed, failure, error, skipped };

Kind kind_of(Code c) {
  switch (c) {
    case Code::PASS: return Kind::passed;
    case Code::FAIL:
    case Code::XPASS: return Kind::failure;
    case Code::XFAIL:
    case Code::UNSUPPORTED: return Kind::skipped;
    case Code::TIMEOUT:
    case Code::CRASH:
    case Code::ERROR:
    case Code::NOTRUN: return Kind::error;
  }
  return Kind::error;
}

struct Counts {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  void add(Code c) {
    ++tests;
    switch (kind_of(c)) {
      case Kind::passed: break;
      case Kind::failure: ++failures; break;
      case Kind::error: ++errors; break;
      case Kind::skipped: ++skipped; break;
    }
  }
  std::string attrs() const {
    return fmt::format(R"(tests="{}" failures="{}" errors="{}" skipped="{}")", tests, failures, errors, skipped);
  }
};

std::string output_text(const std::string& s, std::uint64_t dropped) {
  if (dropped == 0) return s;
  return s + fmt::format("\n[archmatrix: {} further bytes were dropped by the guest agent]\n", dropped);
}

std::string testcase(const CellSummary& c, const ScenarioRow& sc, const ResultRow& r) {
  const std::string name = sc.scenario + (r.check.empty() ? "" : "/" + r.check);
  std::string out = fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"", attr(c.id), attr(name),
                                seconds(static_cast<double>(sc.duration_ms) / 1000.0));
  const std::string code(verdict::code_name(r.code));
  std::string body;
  const auto kind = kind_of(r.code);
  if (kind == Kind::skipped) {
    body += fmt::format("      <skipped message=\"{}\"/>\n", attr(code + ": " + r.message));
  } else if (kind != Kind::passed) {
    std::string why = code + ": " + r.message;
    if (!r.detail.empty()) why += "\n" + r.detail;
    if (r.code == Code::CRASH && !c.crash_title.empty()) why += "\nkernel: " + c.crash_title;
    const char* tag = kind == Kind::failure ? "failure" : "error";
    body += fmt::format("      <{} message=\"{}\" type=\"{}\">{}</{}>\n", tag, attr(r.message), code, text(why), tag);
  }
  if (!sc.stdout_text.empty() || sc.stdout_dropped)
    body += "      <system-out>" + text(output_text(sc.stdout_text, sc.stdout_dropped)) + "</system-out>\n";
  if (!sc.stderr_text.empty() || sc.stderr_dropped)
    body += "      <system-err>" + text(output_text(sc.stderr_text, sc.stderr_dropped)) + "</system-err>\n";
  if (body.empty()) return out + "/>\n";
  return out + ">\n" + body + "    </testcase>\n";
}

std::string property(const std::string& name, const std::string& value) {
  return fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", attr(name), attr(value));
}

// What happened to the cell as a whole, for the suite's <system-out>: a CI
// page then shows why every case of a crashed cell is an error.
std::string cell_notes(const CellSummary& c) {
  std::string out = "end: " + c.end + (c.end_detail.empty() ? "" : ": " + c.end_detail) + "\n";
  for (const auto& m : c.fact_mismatches) out += "wrong guest: " + m + "\n";
  if (!c.crash_title.empty()) out += "kernel crash: " + c.crash_title + "\n" + c.crash_text + "\n";
  for (const auto& a : c.protocol_anomalies) out += "protocol: " + a + "\n";
  out += "console log: " + c.console_log + "\n";
  return out;
}

}  // namespace

std::string xml_safe_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '\x1b') {
      skip_escape(s, i);
      continue;
    }
    const char32_t cp = decode(s, i);
    if (cp == kInvalid) {
      append_utf8(out, 0xFFFD);
      continue;
    }
    if (xml_allowed(cp)) append_utf8(out, cp);
  }
  return out;
}

std::string junit_xml(const RunSummary& s) {
  Counts all;
  std::string suites;
  for (const auto& c : s.cells) {
    Counts n;
    std::string cases;
    for (const auto& sc : c.scenarios)
      for (const auto& r : sc.results) {
        n.add(r.code);
        all.add(r.code);
        cases += testcase(c, sc, r);
      }
    std::string props = property("arch", c.arch);
    for (const auto& [k, v] : c.axes) props += property("axis." + k, v);
    props += property("kernel.recipe", c.kernel.recipe);
    props += property("kernel.package", c.kernel.package);
    props += property("kernel.version", c.kernel.version);
    props += property("kernel.release", c.kernel.release);
    for (const auto& [k, v] : c.facts) props += property("fact." + k, v);
    props += property("boot_seconds", c.boot_seconds < 0 ? std::string("-") : seconds(c.boot_seconds));
    props += property("end", c.end);
    props += property("console_log", c.console_log);
    suites += fmt::format("  <testsuite name=\"{}\" {} time=\"{}\">\n    <properties>\n{}    </properties>\n{}",
                          attr(c.id), n.attrs(), seconds(c.wall_seconds), props, cases);
    suites += "    <system-out>" + text(cell_notes(c)) + "</system-out>\n  </testsuite>\n";
  }
  return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"archmatrix\" {} time=\"{}\">\n{}"
                     "</testsuites>\n",
                     all.attrs(), seconds(s.wall_seconds), suites);
}

}  // namespace archmatrix::report
