#include "report/json_read.h"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "util/error.h"

namespace archmatrix::report {

namespace {

using nlohmann::json;
using verdict::Code;

constexpr std::array<Code, 10> kCodes{Code::PASS,    Code::FAIL,  Code::XFAIL, Code::XPASS,  Code::UNSUPPORTED,
                                      Code::TIMEOUT, Code::CRASH, Code::ERROR, Code::NOTRUN, Code::FLAKY};

std::string type_name(const json& j) { return j.is_null() ? "null" : j.type_name(); }

// nlohmann reports a byte offset; people and editors want line:col.
std::pair<int, int> line_col(const std::string& text, std::size_t byte) {
  int line = 1, col = 1;
  for (std::size_t i = 0; i < text.size() && i + 1 < byte; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

// ---- where a JSON pointer is in the text --------------------------------------
// from_json names the member it rejects by its JSON pointer; people and
// editors want a line too. These walk the text (iteratively: a report can be
// nested deeply) to where the member's value starts.

std::size_t skip_ws(std::string_view t, std::size_t p) {
  while (p < t.size() && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t')) ++p;
  return p;
}

// p at a '"': the position after the closing quote.
std::size_t skip_string(std::string_view t, std::size_t p) {
  for (++p; p < t.size(); ++p) {
    if (t[p] == '\\') ++p;
    else if (t[p] == '"') return p + 1;
  }
  return t.size();
}

// p at the start of a value: the position after it.
std::size_t skip_value(std::string_view t, std::size_t p) {
  if (p < t.size() && t[p] == '"') return skip_string(t, p);
  if (p < t.size() && (t[p] == '{' || t[p] == '[')) {
    std::size_t depth = 0;
    while (p < t.size()) {
      const char c = t[p];
      if (c == '"') {
        p = skip_string(t, p);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) return p + 1;
      ++p;
    }
    return p;
  }
  while (p < t.size() && t[p] != ',' && t[p] != '}' && t[p] != ']' && t[p] != ' ' && t[p] != '\n') ++p;
  return p;
}

bool key_is(std::string_view raw, std::string_view token) {
  if (raw.size() < 2) return false;
  if (raw.find('\\') == std::string_view::npos) return raw.substr(1, raw.size() - 2) == token;
  const json key = json::parse(std::string(raw), nullptr, false);
  return key.is_string() && key.get_ref<const std::string&>() == token;
}

// The offset of the value at `pointer`, or of the deepest part of it found.
std::size_t locate(std::string_view t, std::string_view pointer) {
  std::size_t p = skip_ws(t, 0), found = p;
  while (pointer.size() > 1 && p < t.size()) {
    pointer.remove_prefix(1);
    const auto slash = pointer.find('/');
    const std::string_view token = pointer.substr(0, slash);
    pointer = slash == std::string_view::npos ? std::string_view() : pointer.substr(slash);
    const bool object = t[p] == '{';
    if (!object && t[p] != '[') break;
    std::size_t index = 0;
    if (!object) {
      if (token.empty() || token.size() > 9 || token.find_first_not_of("0123456789") != std::string_view::npos) break;
      for (char c : token) index = index * 10 + static_cast<std::size_t>(c - '0');
    }
    p = skip_ws(t, p + 1);
    bool hit = false;
    for (std::size_t i = 0; p < t.size() && t[p] != '}' && t[p] != ']'; ++i) {
      if (object) {
        const std::size_t key_end = skip_string(t, p);
        const bool match = key_is(t.substr(p, key_end - p), token);
        p = skip_ws(t, key_end);
        if (p < t.size() && t[p] == ':') p = skip_ws(t, p + 1);
        if (match) hit = true;
      } else if (i == index) {
        hit = true;
      }
      if (hit) break;
      p = skip_ws(t, skip_value(t, p));
      if (p < t.size() && t[p] == ',') p = skip_ws(t, p + 1);
      else break;
    }
    if (!hit) break;
    found = p;
  }
  return found;
}


// Walks the document with the JSON pointer of where it is, so that every
// error names the exact member ("/cells/3/kernel/version") rather than a
// nlohmann type_error nobody can place.
class Reader {
 public:
  /// `text`, when given, is the document's text: errors then name a line too.
  Reader(const std::string& source, const std::string* text) : source_(source), text_(text) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    int line = 0, col = 0;
    if (text_) std::tie(line, col) = line_col(*text_, locate(*text_, where) + 1);
    throw util::InputError(source_, line, col, (where.empty() ? "/" : where) + ": " + what);
  }

  const json& member(const json& obj, const std::string& where, const char* key) const {
    if (!obj.is_object()) fail(where, "expected an object, found " + type_name(obj));
    auto it = obj.find(key);
    if (it == obj.end()) fail(where, std::string("missing member \"") + key + "\"");
    return *it;
  }

  std::string str(const json& obj, const std::string& where, const char* key) const {
    const auto& v = member(obj, where, key);
    if (!v.is_string()) fail(where + "/" + key, "expected a string, found " + type_name(v));
    return v.get<std::string>();
  }

  bool boolean(const json& obj, const std::string& where, const char* key) const {
    const auto& v = member(obj, where, key);
    if (!v.is_boolean()) fail(where + "/" + key, "expected true or false, found " + type_name(v));
    return v.get<bool>();
  }

  double number(const json& obj, const std::string& where, const char* key) const {
    const auto& v = member(obj, where, key);
    if (!v.is_number()) fail(where + "/" + key, "expected a number, found " + type_name(v));
    return v.get<double>();
  }

  template <class Int>
  Int integer(const json& obj, const std::string& where, const char* key) const {
    const auto& v = member(obj, where, key);
    const std::string at = where + "/" + key;
    if (!v.is_number_integer()) fail(at, "expected an integer, found " + type_name(v));
    if constexpr (std::is_unsigned_v<Int>) {
      if (v.is_number_unsigned()) return v.get<Int>();
      if (v.get<std::int64_t>() < 0) fail(at, "expected a non-negative integer");
      return static_cast<Int>(v.get<std::int64_t>());
    } else {
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        fail(at, "integer out of range");
      const auto n = v.get<std::int64_t>();
      if (n < std::numeric_limits<Int>::min() || n > std::numeric_limits<Int>::max()) fail(at, "integer out of range");
      return static_cast<Int>(n);
    }
  }

  const json& array(const json& obj, const std::string& where, const char* key) const {
    const auto& v = member(obj, where, key);
    if (!v.is_array()) fail(where + "/" + key, "expected an array, found " + type_name(v));
    return v;
  }

  std::vector<std::string> strings(const json& obj, const std::string& where, const char* key) const {
    const auto& a = array(obj, where, key);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string())
        fail(where + "/" + key + "/" + std::to_string(i), "expected a string, found " + type_name(a[i]));
      out.push_back(a[i].get<std::string>());
    }
    return out;
  }

  std::map<std::string, std::string> string_map(const json& obj, const std::string& where, const char* key) const {
    const auto& m = member(obj, where, key);
    if (!m.is_object()) fail(where + "/" + key, "expected an object, found " + type_name(m));
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : m.items()) {
      if (!v.is_string()) fail(where + "/" + key + "/" + k, "expected a string, found " + type_name(v));
      out[k] = v.get<std::string>();
    }
    return out;
  }

  Code code(const json& obj, const std::string& where) const {
    const auto name = str(obj, where, "code");
    for (auto c : kCodes)
      if (verdict::code_name(c) == name) return c;
    std::string all;
    for (auto c : kCodes) all += (all.empty() ? "" : ", ") + std::string(verdict::code_name(c));
    fail(where + "/code", "expected one of " + all + ", found \"" + name + "\"");
  }

 private:
  const std::string& source_;
  const std::string* text_;
};

ResultRow read_result(const Reader& r, const json& j, const std::string& at) {
  ResultRow row;
  row.check = r.str(j, at, "check");
  row.code = r.code(j, at);
  row.message = r.str(j, at, "message");
  row.detail = r.str(j, at, "detail");
  return row;
}

AttemptRow read_attempt(const Reader& r, const json& j, const std::string& at) {
  AttemptRow row;
  row.attempt = r.integer<int>(j, at, "attempt");
  row.code = r.code(j, at);
  row.status = r.str(j, at, "status");
  row.value = r.str(j, at, "value");
  row.duration_ms = r.integer<std::int64_t>(j, at, "duration_ms");
  row.message = r.str(j, at, "message");
  row.console_log = r.str(j, at, "console_log");
  if (j.contains("trace")) row.trace = r.str(j, at, "trace");
  return row;
}

ScenarioRow read_scenario(const Reader& r, const json& j, const std::string& at) {
  ScenarioRow s;
  s.scenario = r.str(j, at, "scenario");
  s.code = r.code(j, at);
  s.status = r.str(j, at, "status");
  s.value = r.str(j, at, "value");
  s.duration_ms = r.integer<std::int64_t>(j, at, "duration_ms");
  s.stdout_text = r.str(j, at, "stdout");
  s.stderr_text = r.str(j, at, "stderr");
  s.stdout_dropped = r.integer<std::uint64_t>(j, at, "stdout_dropped");
  s.stderr_dropped = r.integer<std::uint64_t>(j, at, "stderr_dropped");
  const auto& results = r.array(j, at, "results");
  for (std::size_t i = 0; i < results.size(); ++i)
    s.results.push_back(read_result(r, results[i], at + "/results/" + std::to_string(i)));
  if (j.contains("attempts")) {
    const auto& attempts = r.array(j, at, "attempts");
    for (std::size_t i = 0; i < attempts.size(); ++i)
      s.attempts.push_back(read_attempt(r, attempts[i], at + "/attempts/" + std::to_string(i)));
  }
  return s;
}

CellSummary read_cell(const Reader& r, const json& j, const std::string& at) {
  CellSummary c;
  c.id = r.str(j, at, "id");
  c.arch = r.str(j, at, "arch");
  c.axes = r.string_map(j, at, "axes");
  const auto& k = r.member(j, at, "kernel");
  const std::string kat = at + "/kernel";
  c.kernel = {r.str(k, kat, "recipe"),  r.str(k, kat, "source"),  r.str(k, kat, "suite"),
              r.str(k, kat, "package"), r.str(k, kat, "version"), r.str(k, kat, "release"),
              r.str(k, kat, "sha256"),  r.str(k, kat, "cache_key"), r.str(k, kat, "image")};
  c.memory_mib = r.integer<int>(j, at, "memory_mib");
  c.cpus = r.integer<int>(j, at, "cpus");
  c.qemu_argv = r.strings(j, at, "qemu_argv");
  c.console_log = r.str(j, at, "console_log");
  c.end = r.str(j, at, "end");
  c.end_detail = r.str(j, at, "end_detail");
  c.boot_seconds = r.number(j, at, "boot_seconds");
  if (j.contains("accel")) c.accel = r.str(j, at, "accel");
  if (j.contains("accel_detail")) c.accel_detail = r.str(j, at, "accel_detail");
  if (j.contains("boot")) c.boot = r.str(j, at, "boot");
  if (j.contains("boot_detail")) c.boot_detail = r.str(j, at, "boot_detail");
  c.wall_seconds = r.number(j, at, "wall_seconds");
  c.facts = r.string_map(j, at, "facts");
  c.fact_mismatches = r.strings(j, at, "fact_mismatches");
  const auto& crash = r.member(j, at, "crash");
  c.crash_title = r.str(crash, at + "/crash", "title");
  c.crash_text = r.str(crash, at + "/crash", "text");
  c.protocol_anomalies = r.strings(j, at, "protocol_anomalies");
  const auto& scenarios = r.array(j, at, "scenarios");
  for (std::size_t i = 0; i < scenarios.size(); ++i)
    c.scenarios.push_back(read_scenario(r, scenarios[i], at + "/scenarios/" + std::to_string(i)));
  return c;
}

RunSummary summary_from(const json& j, const std::string& source, const std::string* text) {
  const Reader r(source, text);
  if (!j.is_object()) r.fail("", "expected an archmatrix report (a JSON object), found " + type_name(j));
  // The schema first: a report from a newer archmatrix should say so, not
  // complain about whichever member happened to change.
  if (!j.contains("schema")) r.fail("", "not an archmatrix report: no \"schema\" member");
  const auto& schema = j["schema"];
  if (!schema.is_number_integer() || schema.get<std::int64_t>() != RunSummary::kSchema)
    r.fail("/schema", "unsupported report schema " + (schema.is_number() ? schema.dump() : type_name(schema)) +
                          " (this archmatrix reads schema " + std::to_string(RunSummary::kSchema) + ")");
  RunSummary s;
  s.archmatrix_version = r.str(j, "", "archmatrix");
  s.matrix = r.str(j, "", "matrix");
  s.started = r.str(j, "", "started");
  s.wall_seconds = r.number(j, "", "wall_seconds");
  s.interrupted = r.boolean(j, "", "interrupted");
  if (j.contains("shard")) s.shard = r.str(j, "", "shard");
  if (j.contains("planned_cells")) s.planned_cells = r.strings(j, "", "planned_cells");
  const auto& cells = r.array(j, "", "cells");
  for (std::size_t i = 0; i < cells.size(); ++i) s.cells.push_back(read_cell(r, cells[i], "/cells/" + std::to_string(i)));
  const auto& skipped = r.array(j, "", "skipped");
  for (std::size_t i = 0; i < skipped.size(); ++i) {
    const std::string at = "/skipped/" + std::to_string(i);
    s.skipped.push_back({r.str(skipped[i], at, "id"), r.str(skipped[i], at, "reason"), r.str(skipped[i], at, "where")});
  }
  return s;
}

}  // namespace

RunSummary from_json(const json& j, const std::string& source) { return summary_from(j, source, nullptr); }

RunSummary read_report(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw util::InputError(path.string(), 0, 0, std::string("cannot read: ") + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw util::InputError(path.string(), 0, 0, "cannot read");
  const std::string text = buf.str();
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    const auto [line, col] = line_col(text, e.byte);
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ...":
    // keep only the part after the location, which we give ourselves.
    std::string what = e.what();
    if (auto p = what.find(": "); p != std::string::npos) what = what.substr(p + 2);
    throw util::InputError(path.string(), line, col, "not JSON: " + what);
  } catch (const json::exception& e) {
    // A number too large for a double ("1e400") is out_of_range, with no
    // offset: the number's text, quoted in the message, finds its line.
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    std::size_t at = 0;
    if (auto q = what.find('\''), q2 = what.rfind('\''); q != std::string::npos && q2 > q)
      at = text.find(what.substr(q + 1, q2 - q - 1));
    const auto [line, col] = line_col(text, at == std::string::npos ? 1 : at + 1);
    throw util::InputError(path.string(), line, col, "not JSON: " + what);
  }
  return summary_from(j, path.string(), &text);
}

}  // namespace archmatrix::report
