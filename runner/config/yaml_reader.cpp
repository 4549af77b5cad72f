#include "config/yaml_reader.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "config/text_checks.h"

namespace archmatrix::config {

namespace {

std::string join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return text::shown(n.Scalar());
    case YAML::NodeType::Null: return "nothing";
    default: return "an undefined node";
  }
}

}  // namespace

YamlReader YamlReader::load_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw util::InputError(path.string(), 0, 0, "cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path.string());
}

YamlReader YamlReader::load_string(const std::string& text, const std::string& name) {
  try {
    return YamlReader(YAML::Load(text), name);
  } catch (const YAML::Exception& e) {
    // Every parser error has a mark; the first line stands in if one has not.
    const bool at = !e.mark.is_null();
    throw util::InputError(name, at ? e.mark.line + 1 : 1, at ? e.mark.column + 1 : 0, "invalid YAML: " + e.msg);
  }
}

void YamlReader::fail_with(const YAML::Exception& e) const {
  // The loaders check every node before use, so this is a node of a shape
  // they did not foresee; its mark, or the document's start, locates it.
  const bool at = !e.mark.is_null();
  throw util::InputError(file_, at ? e.mark.line + 1 : 1, at ? e.mark.column + 1 : 0,
                         "unexpected YAML here (" + e.msg + ")");
}

Location YamlReader::where(const YAML::Node& n) const {
  if (!n.IsDefined()) return {file_, 0, 0};
  auto m = n.Mark();
  // Only the document of an empty file has no mark: it is its first line.
  if (m.is_null()) return {file_, 1, 0};
  return {file_, m.line + 1, m.column + 1};
}

void YamlReader::fail(const YAML::Node& n, const std::string& message) const {
  auto w = where(n);
  throw util::InputError(w.file, w.line, w.col, message);
}

void YamlReader::expect_map(const YAML::Node& n, std::string_view what,
                            std::initializer_list<std::string_view> allowed) const {
  if (!n.IsMap()) fail(n, "expected " + std::string(what) + " (a mapping), found " + node_kind(n));
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (!known)
      fail(kv.first, "unknown key " + text::shown(key) + " in " + std::string(what) + "; expected one of: " +
                         join(allowed));
  }
}

void YamlReader::expect_sequence(const YAML::Node& n, std::string_view what) const {
  if (!n.IsSequence()) fail(n, "expected " + std::string(what) + " (a list), found " + node_kind(n));
}

std::string YamlReader::scalar(const YAML::Node& n, std::string_view what) const {
  if (!n.IsScalar()) fail(n, "expected " + std::string(what) + " (a single value), found " + node_kind(n));
  return n.Scalar();
}

std::string YamlReader::required_string(const YAML::Node& map, std::string_view key) const {
  return scalar(required(map, key), "a value for '" + std::string(key) + "'");
}

std::optional<std::string> YamlReader::optional_string(const YAML::Node& map,
                                                       std::string_view key) const {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  return scalar(n, "a value for '" + std::string(key) + "'");
}

int YamlReader::optional_int(const YAML::Node& map, std::string_view key, int fallback, int min,
                             int max) const {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) return fallback;
  const std::string s = scalar(n, "a number for '" + std::string(key) + "'");
  int value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || value < min || value > max)
    fail(n, "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                " for '" + std::string(key) + "', found " + text::shown(s));
  return value;
}

bool YamlReader::optional_bool(const YAML::Node& map, std::string_view key, bool fallback) const {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) return fallback;
  const std::string s = scalar(n, "true or false for '" + std::string(key) + "'");
  if (s == "true") return true;
  if (s == "false") return false;
  fail(n, "expected true or false for '" + std::string(key) + "', found " + text::shown(s));
}

YAML::Node YamlReader::required(const YAML::Node& map, std::string_view key) const {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined()) fail(map, "missing required key '" + std::string(key) + "'");
  return n;
}

std::vector<std::string> YamlReader::string_or_list(const YAML::Node& n, std::string_view what) const {
  std::vector<std::string> out;
  if (n.IsSequence()) {
    for (const auto& item : n) out.push_back(scalar(item, what));
    if (out.empty()) fail(n, "expected at least one value for " + std::string(what));
  } else {
    out.push_back(scalar(n, what));
  }
  return out;
}

}  // namespace archmatrix::config
