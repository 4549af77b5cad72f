#pragma once
// Helpers for feeding the real archmatrix binary files written by a test:
// a project directory of its own, and the contract every rejected input
// must meet (exit 2, one line that names the file and a line number).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "run_helpers.h"

namespace archmatrix::testing {

inline void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

/// A project root holding kernels/ (empty, for the test to fill) and links to
/// the repository's images/ and scenarios/.
inline fs::path project_root(const fs::path& dir) {
  const fs::path root = dir / "project";
  fs::create_directories(root / "kernels");
  fs::create_directory_symlink(fs::path(ARCHMATRIX_SOURCE_ROOT) / "images", root / "images");
  fs::create_directory_symlink(fs::path(ARCHMATRIX_SOURCE_ROOT) / "scenarios", root / "scenarios");
  return root;
}

/// `archmatrix list` with these arguments; nothing is booted or downloaded.
inline Outcome list(const fs::path& dir, const std::vector<std::string>& args) {
  std::vector<std::string> all{"list"};
  all.insert(all.end(), args.begin(), args.end());
  return run_archmatrix(all, dir / "log");
}

inline std::size_t line_count(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) n += c == '\n';
  return n + (!text.empty() && text.back() != '\n');
}

/// Exit 2 and exactly one line "archmatrix: <file>:<line>[:<col>]: ..." with a
/// line number > 0; `what`, when given, must be in it.
inline void expect_located(const Outcome& o, const fs::path& file, const std::string& what = "") {
  EXPECT_EQ(o.exit_code, 2) << o.log.substr(0, 2000);
  EXPECT_EQ(line_count(o.log), 1u) << o.log.substr(0, 2000);
  const std::string prefix = "archmatrix: " + file.string() + ":";
  ASSERT_EQ(o.log.rfind(prefix, 0), 0u) << "expected '" << prefix << "<line>' in:\n" << o.log.substr(0, 2000);
  const char after = o.log.size() > prefix.size() ? o.log[prefix.size()] : '\0';
  EXPECT_TRUE(after >= '1' && after <= '9') << "no line number after the file name:\n" << o.log.substr(0, 2000);
  if (!what.empty()) {
    EXPECT_NE(o.log.find(what), std::string::npos) << "expected '" << what << "' in:\n" << o.log;
  }
}

}  // namespace archmatrix::testing
