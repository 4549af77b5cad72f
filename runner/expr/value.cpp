#include "expr/value.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "expr/expr.h"

namespace archmatrix::expr {

namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Reads the digits at the front of `s` into `out`; returns how many there
// were, or nullopt when the number does not fit in 64 bits.
std::optional<std::size_t> read_decimal(std::string_view s, std::uint64_t& out) {
  std::size_t i = 0;
  out = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (out > (kMax - d) / 10) return std::nullopt;
    out = out * 10 + d;
  }
  return i;
}

// The binary units, in both spellings. Exact case only: "4k" and "4KB" are
// errors in predicates (see read_bare) rather than guesses.
std::optional<unsigned> unit_shift(std::string_view unit) {
  constexpr std::array<std::pair<std::string_view, unsigned>, 9> kUnits{{
      {"", 0}, {"K", 10}, {"M", 20}, {"G", 30}, {"T", 40},
      {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40},
  }};
  for (auto [name, shift] : kUnits)
    if (name == unit) return shift;
  return std::nullopt;
}

// Digits followed by something unit-like that is not one of ours: 4k, 4KB,
// 4kib, 16Mb. Written by someone who meant a size, so an error, not a word.
bool looks_like_bad_unit(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == 0 || i == s.size()) return false;
  std::string rest;
  for (char c : s.substr(i))
    rest += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (rest.empty() || std::string_view("kmgt").find(rest[0]) == std::string_view::npos)
    return false;
  rest.erase(0, 1);
  return rest.empty() || rest == "b" || rest == "ib";
}

// A version: two or more dot-separated decimal numbers at the front of `s`
// (the whole of `s` when `whole`). nullopt if there is none or a component
// overflows.
std::optional<std::vector<std::uint64_t>> read_version(std::string_view s, bool whole) {
  std::vector<std::uint64_t> parts;
  std::size_t i = 0;
  for (;;) {
    std::uint64_t v = 0;
    auto n = read_decimal(s.substr(i), v);
    if (!n) return std::nullopt;
    if (*n == 0) break;
    parts.push_back(v);
    i += *n;
    if (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
      ++i;
      continue;
    }
    break;
  }
  if (parts.size() < 2) return std::nullopt;
  if (whole && i != s.size()) return std::nullopt;
  return parts;
}

// Digits, a dot, digits, and so on: the shape of a version, whatever the
// size of its numbers.
bool version_shaped(std::string_view s) {
  if (s.find('.') == std::string_view::npos) return false;
  for (std::size_t start = 0;;) {
    const std::size_t dot = std::min(s.find('.', start), s.size());
    const auto part = s.substr(start, dot - start);
    if (part.empty() || !std::all_of(part.begin(), part.end(), is_digit)) return false;
    if (dot == s.size()) return true;
    start = dot + 1;
  }
}

// Compares two versions component-wise, a missing component counting as 0,
// so that 7 == 7.0 and 6.12 < 6.12.1.
int compare_versions(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t x = i < a.size() ? a[i] : 0;
    const std::uint64_t y = i < b.size() ? b[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    std::uint64_t v = 0;
    for (char c : text.substr(2)) {
      if (!is_hex_digit(c) || v > (kMax >> 4)) return std::nullopt;
      v = (v << 4) | static_cast<std::uint64_t>(hex_value(c));
    }
    return v;
  }
  std::uint64_t v = 0;
  auto n = read_decimal(text, v);
  if (!n || *n == 0) return std::nullopt;
  auto shift = unit_shift(text.substr(*n));
  if (!shift) return std::nullopt;
  if (*shift && v > (kMax >> *shift)) return std::nullopt;
  return v << *shift;
}

std::optional<int> compare_values(std::string_view a, std::string_view b) {
  return detail::order(detail::read_variable(a), detail::read_variable(b));
}

namespace detail {

std::string_view op_text(Op op) {
  switch (op) {
    case Op::eq: return "==";
    case Op::ne: return "!=";
    case Op::lt: return "<";
    case Op::le: return "<=";
    case Op::gt: return ">";
    case Op::ge: return ">=";
  }
  return "?";
}

bool orders(Op op) { return op != Op::eq && op != Op::ne; }

Op mirrored(Op op) {
  switch (op) {
    case Op::lt: return Op::gt;
    case Op::le: return Op::ge;
    case Op::gt: return Op::lt;
    case Op::ge: return Op::le;
    default: return op;
  }
}

std::variant<Value, std::string> read_bare(std::string_view text) {
  if (text.empty() || !is_digit(text[0])) return Value{Value::Kind::word, 0, {}, std::string(text)};
  Value v = read_quoted(text);
  if (v.kind != Value::Kind::word) return v;
  // Digit-led, yet neither a number nor a version: say what is wrong when
  // it was clearly meant as one; otherwise it is a word such as 4level.
  const std::string q = "'" + std::string(text) + "'";
  if (text.size() > 1 && (text[1] == 'x' || text[1] == 'X') && text[0] == '0') {
    const bool hex = text.size() > 2 && std::all_of(text.begin() + 2, text.end(), is_hex_digit);
    return hex ? q + " does not fit in 64 bits" : q + " is not a hexadecimal number";
  }
  if (std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || c == '.'; })) {
    if (text.find('.') == std::string_view::npos) return q + " does not fit in 64 bits";
    if (version_shaped(text)) return q + " has a version component that does not fit in 64 bits";
    return q + " is not a version; write numbers separated by single dots, as in 6.12";
  }
  std::uint64_t ignored = 0;
  if (auto n = read_decimal(text, ignored); !n || unit_shift(text.substr(*n)))
    return q + " does not fit in 64 bits";
  if (looks_like_bad_unit(text))
    return q + " is not a size; write binary units as K, M, G, T or KiB, MiB, GiB, TiB "
               "(4K = 4096)";
  return v;
}

Value read_quoted(std::string_view text) {
  Value v;
  v.text = std::string(text);
  if (auto n = parse_size(text)) {
    v.kind = Value::Kind::number;
    v.number = *n;
  } else if (auto ver = read_version(text, true)) {
    v.kind = Value::Kind::version;
    v.version = std::move(*ver);
  }
  return v;
}

Value read_variable(std::string_view text) {
  Value v = read_quoted(text);
  if (v.kind == Value::Kind::word) {
    // Kernel releases carry a local version: 6.12.48+deb13-arm64 is 6.12.48.
    if (auto ver = read_version(text, false)) {
      v.kind = Value::Kind::version;
      v.version = std::move(*ver);
    }
  }
  return v;
}

std::optional<int> order(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.kind == K::number && b.kind == K::number)
    return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
  if (a.kind == K::word || b.kind == K::word) return std::nullopt;
  // A version against a plain number: the number is a one-part version,
  // so `kernel >= 6` holds for 6.12.
  const auto as_version = [](const Value& v) {
    return v.kind == K::version ? v.version : std::vector<std::uint64_t>{v.number};
  };
  return compare_versions(as_version(a), as_version(b));
}

std::optional<bool> compare(const Value& a, Op op, const Value& b) {
  int c = 0;
  if (auto o = order(a, b)) {
    c = *o;
  } else {
    if (orders(op)) return std::nullopt;
    c = a.text == b.text ? 0 : 1;
  }
  switch (op) {
    case Op::eq: return c == 0;
    case Op::ne: return c != 0;
    case Op::lt: return c < 0;
    case Op::le: return c <= 0;
    case Op::gt: return c > 0;
    case Op::ge: return c >= 0;
  }
  return std::nullopt;
}

}  // namespace detail

}  // namespace archmatrix::expr
