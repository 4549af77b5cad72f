#include "config/text_checks.h"

namespace archmatrix::config::text {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }
bool hex_digit(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool symbol_char(char c) {
  return digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!digit(c)) return false;
  return true;
}

// Removes `prefix` from s; false (s unchanged) when s does not start with it.
bool consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// A symbol name at the start of s: removes and returns it (empty if none).
std::string_view take_symbol(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && symbol_char(s[n])) ++n;
  const auto sym = s.substr(0, n);
  s.remove_prefix(n);
  return sym;
}

bool is_config_value(std::string_view v) {
  if (v == "y" || v == "m" || v == "n") return true;
  if (v.size() > 2 && v[0] == '0' && v[1] == 'x') {
    for (char c : v.substr(2))
      if (!hex_digit(c)) return false;
    return true;
  }
  if (!v.empty() && v[0] == '"') {
    // "..." where a backslash escapes the next character and a bare quote ends it.
    for (std::size_t i = 1; i < v.size(); ++i) {
      if (v[i] == '\\') {
        ++i;
      } else if (v[i] == '"') {
        return i + 1 == v.size();
      }
    }
    return false;
  }
  if (!v.empty() && v[0] == '-') v.remove_prefix(1);
  return all_digits(v);
}

}  // namespace

Charset::Charset(std::string_view spec) {
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (i + 2 < spec.size() && spec[i + 1] == '-') {
      for (int c = static_cast<unsigned char>(spec[i]); c <= static_cast<unsigned char>(spec[i + 2]); ++c)
        bits_[c] = true;
      i += 2;
    } else {
      bits_[static_cast<unsigned char>(spec[i])] = true;
    }
  }
}

bool matches(std::string_view s, const Charset& first, const Charset& rest, std::size_t max_len) {
  if (s.empty() || s.size() > max_len || !first.has(s[0])) return false;
  for (char c : s.substr(1))
    if (!rest.has(c)) return false;
  return true;
}

bool is_debian_package(std::string_view s) {
  static const Charset first("a-z0-9"), rest("a-z0-9+.-");
  return s.size() >= 2 && matches(s, first, rest);
}

bool is_scenario_name(std::string_view s) {
  static const Charset first("a-z0-9"), rest("a-z0-9._-");
  return matches(s, first, rest);
}

bool is_check_name(std::string_view s) {
  static const Charset all("A-Za-z0-9_.-");
  return matches(s, all, all);
}

bool is_library_name(std::string_view s) {
  static const Charset all("A-Za-z0-9_");
  return matches(s, all, all);
}

bool is_link_library(std::string_view s) {
  static const Charset first("A-Za-z0-9_"), rest("A-Za-z0-9_.+-");
  return matches(s, first, rest);
}

bool is_dotted_number(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  while (true) {
    const auto dot = s.find('.');
    if (!all_digits(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

std::optional<std::string_view> linux_source_release(std::string_view package) {
  if (package.size() > kMaxName || !consume(package, "linux-source-")) return std::nullopt;
  const auto dot = package.find('.');
  if (dot == std::string_view::npos || !all_digits(package.substr(0, dot)) || !all_digits(package.substr(dot + 1)))
    return std::nullopt;
  return package;
}

std::optional<std::pair<int, int>> fraction(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto a = s.substr(0, slash), b = s.substr(slash + 1);
  if (!all_digits(a) || !all_digits(b) || a.size() > 4 || b.size() > 4) return std::nullopt;
  const auto number = [](std::string_view d) {
    int n = 0;
    for (char c : d) n = n * 10 + (c - '0');
    return n;
  };
  return std::pair{number(a), number(b)};
}

std::optional<ConfigAssignment> parse_config_assignment(std::string_view line) {
  if (line.size() > kMaxConfigLine) return std::nullopt;
  std::string_view s = line;
  if (consume(s, "# CONFIG_")) {
    const auto sym = take_symbol(s);
    if (sym.empty() || s != " is not set") return std::nullopt;
    return ConfigAssignment{sym, "n"};
  }
  if (!consume(s, "CONFIG_")) return std::nullopt;
  const auto sym = take_symbol(s);
  if (sym.empty() || !consume(s, "=") || !is_config_value(s)) return std::nullopt;
  return ConfigAssignment{sym, s};
}

std::string shown(std::string_view s) {
  constexpr std::size_t kShown = 60;
  std::string out = "'";
  for (char c : s.substr(0, kShown)) {
    const auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7f ? c : '?';
  }
  out += "'";
  if (s.size() > kShown) out += "... (" + std::to_string(s.size()) + " characters)";
  return out;
}

}  // namespace archmatrix::config::text
