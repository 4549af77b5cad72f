#include "report/json_read.h"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

#include "util/error.h"

namespace archmatrix::report {

namespace {

using nlohmann::json;
using verdict::Code;

constexpr std::array<Code, 9> kCodes{Code::PASS,    Code::FAIL,  Code::XFAIL, Code::XPASS, Code::UNSUPPORTED,
                                     Code::TIMEOUT, Code::CRASH, Code::ERROR, Code::NOTRUN};

std::string type_name(const json& j) { return j.is_null() ? "null" : j.type_name(); }

// Walks the document with the JSON pointer of where it is, so that every
// error names the exact member ("/cells/3/kernel/version") rather than a
// nlohmann type_error nobody can place.
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw util::InputError(source_, 0, 0, (where.empty() ? "/" : where) + ": " + what);
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
};

ResultRow read_result(const Reader& r, const json& j, const std::string& at) {
  ResultRow row;
  row.check = r.str(j, at, "check");
  row.code = r.code(j, at);
  row.message = r.str(j, at, "message");
  row.detail = r.str(j, at, "detail");
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

}  // namespace

RunSummary from_json(const json& j, const std::string& source) {
  const Reader r(source);
  if (!j.is_object()) r.fail("", "expected an archmatrix report (a JSON object), found " + type_name(j));
  // The schema first: a report from a newer archmatrix should say so, not
  // complain about whichever member happened to change.
  if (!j.contains("schema")) r.fail("", "not an archmatrix report: no \"schema\" member");
  const auto& schema = j["schema"];
  if (!schema.is_number_integer() || schema.get<std::int64_t>() != RunSummary::kSchema)
    r.fail("/schema", "unsupported report schema " + schema.dump() + " (this archmatrix reads schema " +
                          std::to_string(RunSummary::kSchema) + ")");
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
  }
  return from_json(j, path.string());
}

}  // namespace archmatrix::report
