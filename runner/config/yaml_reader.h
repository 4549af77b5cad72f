#pragma once
// The only place that knows yaml-cpp's types. Every accessor names the file,
// line and column of what it rejects and says what was expected, so that bad
// input is one clear line (exit status 2).

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace archmatrix::config {

struct Location {
  std::string file;
  int line = 0;  ///< 1-based; 0 when unknown
  int col = 0;   ///< 1-based; 0 when unknown
};

/// A parsed YAML document plus the file name, for located errors.
class YamlReader {
 public:
  /// Parses path; a syntax error becomes util::InputError at its position.
  static YamlReader load_file(const std::filesystem::path& path);
  /// Parses text as if it were the file `name` (for tests).
  static YamlReader load_string(const std::string& text, const std::string& name);

  const YAML::Node& root() const { return root_; }
  const std::string& file() const { return file_; }

  Location where(const YAML::Node& n) const;
  [[noreturn]] void fail(const YAML::Node& n, const std::string& message) const;

  /// n must be a mapping whose keys are all in `allowed`.
  void expect_map(const YAML::Node& n, std::string_view what,
                  std::initializer_list<std::string_view> allowed) const;
  void expect_sequence(const YAML::Node& n, std::string_view what) const;

  std::string scalar(const YAML::Node& n, std::string_view what) const;
  std::string required_string(const YAML::Node& map, std::string_view key) const;
  std::optional<std::string> optional_string(const YAML::Node& map, std::string_view key) const;
  int optional_int(const YAML::Node& map, std::string_view key, int fallback, int min, int max) const;
  bool optional_bool(const YAML::Node& map, std::string_view key, bool fallback) const;
  /// A scalar or a sequence of scalars, as a list.
  std::vector<std::string> string_or_list(const YAML::Node& n, std::string_view what) const;
  /// The value of `key` in `map`; a missing key is an error located at the map
  /// (a missing key's node has no position of its own).
  YAML::Node required(const YAML::Node& map, std::string_view key) const;

  /// Runs `load` over this document. A yaml-cpp exception escaping it
  /// (InvalidNode, BadConversion, BadSubscript, ...) is bad input at its mark
  /// (exit 2), never an internal error: each loader converts at its boundary.
  template <class Load>
  auto guarded(Load&& load) const -> decltype(load()) {
    try {
      return load();
    } catch (const YAML::Exception& e) {
      fail_with(e);
    }
  }

 private:
  YamlReader(YAML::Node root, std::string file) : root_(std::move(root)), file_(std::move(file)) {}
  [[noreturn]] void fail_with(const YAML::Exception& e) const;
  YAML::Node root_;
  std::string file_;
};

}  // namespace archmatrix::config
