// `archmatrix bundle CELL [SCENARIO] --out DIR [--tar]` (real kernel, built
// aarch64 64K): the bundle boots with QEMU alone, from any directory, and
// shows the scenario's output and result as plain lines; its QEMU command is
// the one `run` records for the cell (paths relative to the bundle); its
// SHA256SUMS verify; --tar holds the same; bad input changes nothing.

#include <gtest/gtest.h>

#include <cstdio>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kCell = "aarch64-64k-va48";
const std::string kMatrix = ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml";

// The words of run.sh's exec line, as sh reads its single quotes.
std::vector<std::string> exec_words(const std::string& script) {
  const auto at = script.find("\nexec ");
  std::vector<std::string> words;
  if (at == std::string::npos) return words;
  const std::string line = script.substr(at + 6, script.find('\n', at + 1) - at - 6);
  std::string w;
  bool quoted = false, in_word = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '\'') quoted = false;
      else w += c;
    } else if (c == '\'') {
      quoted = in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      w += line[++i];
      in_word = true;
    } else if (c == ' ') {
      if (in_word) words.push_back(w);
      w.clear();
      in_word = false;
    } else {
      w += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(w);
  return words;
}

class Bundle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new fs::path(scratch("bundle")); }
  static void TearDownTestSuite() { delete dir_; }
  static Outcome bundle(const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), {"bundle", "--matrix", kMatrix});
    return run_archmatrix(args, *dir_ / (name + ".log"));
  }
  static fs::path* dir_;
};
fs::path* Bundle::dir_ = nullptr;

TEST_F(Bundle, BootsWithQemuAloneAndRunsTheCommandRunRecords) {
  const fs::path b = *dir_ / "large-mmap";
  const auto made = bundle("made", {kCell, "large-mmap", "--out", b.string()});
  ASSERT_EQ(made.exit_code, 0) << made.log;
  for (const char* f : {"Image", "initramfs.cpio", "run.sh", "README.txt", "SHA256SUMS"})
    EXPECT_TRUE(fs::exists(b / f)) << f;
  EXPECT_EQ(sh("cd '" + b.string() + "' && sha256sum -c SHA256SUMS").exit_code, 0);
  const std::string readme = slurp(b / "README.txt");
  EXPECT_NE(readme.find("archmatrix bundle: cell aarch64-64k-va48"), std::string::npos) << readme;
  EXPECT_NE(readme.find("page_size=65536"), std::string::npos) << readme;
  EXPECT_NE(readme.find("large-mmap:"), std::string::npos) << readme;

  // The QEMU command `run` records for this cell, with the bundle's files.
  const fs::path by_run = *dir_ / "by-run";
  const auto r = run_archmatrix({"run", "--matrix", kMatrix, "--cell", kCell, "--scenario", "large-mmap", "--out",
                                 by_run.string()},
                                *dir_ / "run.log");
  ASSERT_NE(r.exit_code, 2) << r.log;
  std::vector<std::string> want = read_report(by_run)["cells"][0]["qemu_argv"];
  for (std::size_t i = 0; i + 1 < want.size(); ++i)
    if (want[i] == "-kernel" || want[i] == "-initrd") want[i + 1] = want[i] == "-kernel" ? "Image" : "initramfs.cpio";
  auto words = exec_words(slurp(b / "run.sh"));
  ASSERT_FALSE(words.empty());
  EXPECT_EQ(words.back(), "\"$@\"");  // the user's extra QEMU options
  words.pop_back();
  EXPECT_EQ(words, want) << slurp(b / "run.sh");

  // From another directory, with nothing of archmatrix in PATH.
  const auto booted = sh("cd / && PATH=/usr/bin:/bin timeout 300 sh '" + (b / "run.sh").string() + "' </dev/null");
  EXPECT_EQ(booted.exit_code, 0) << booted.log;
  EXPECT_NE(booted.log.find("archmatrix-agent: result large-mmap: exit 0 after"), std::string::npos) << booted.log;
  EXPECT_NE(booted.log.find("large-mmap| "), std::string::npos) << booted.log;
  EXPECT_NE(booted.log.find("reboot: Power down"), std::string::npos) << booted.log;
}

TEST_F(Bundle, ATarHoldsTheSameBundle) {
  const fs::path b = *dir_ / "whole";
  const auto made = bundle("tar", {kCell, "--out", b.string(), "--tar"});
  ASSERT_EQ(made.exit_code, 0) << made.log;
  EXPECT_FALSE(fs::exists(b));
  ASSERT_TRUE(fs::exists(b.string() + ".tar.gz"));
  const fs::path unpacked = *dir_ / "unpacked";
  fs::create_directories(unpacked);
  ASSERT_EQ(sh("tar -xzf '" + b.string() + ".tar.gz' -C '" + unpacked.string() + "'").exit_code, 0);
  EXPECT_EQ(sh("cd '" + (unpacked / "whole").string() + "' && sha256sum -c SHA256SUMS").exit_code, 0);
  // Every scenario the cell runs.
  const std::string readme = slurp(unpacked / "whole" / "README.txt");
  for (const char* s : {"large-mmap:", "sparse-tmpfs:", "page-size-assumption:", "prelinked-library:"})
    EXPECT_NE(readme.find(s), std::string::npos) << s << "\n" << readme;
}

TEST_F(Bundle, BadInputIsOneLineAndWritesNothing) {
  const fs::path taken = *dir_ / "taken";
  fs::create_directories(taken);
  std::FILE* f = std::fopen((taken / "keep").c_str(), "w");
  std::fclose(f);
  const auto exists = bundle("exists", {kCell, "large-mmap", "--out", taken.string()});
  EXPECT_EQ(exists.exit_code, 2) << exists.log;
  EXPECT_NE(exists.log.find("is not an empty directory"), std::string::npos) << exists.log;
  EXPECT_TRUE(fs::exists(taken / "keep"));
  const auto check = bundle("check", {kCell, "sparse-tmpfs/hardcoded-4096", "--out", (*dir_ / "c").string()});
  EXPECT_EQ(check.exit_code, 2) << check.log;
  EXPECT_NE(check.log.find("bundle takes a scenario, not a check"), std::string::npos) << check.log;
  const auto cell = bundle("cell", {"aarch64-64k-va4", "--out", (*dir_ / "d").string()});
  EXPECT_EQ(cell.exit_code, 2) << cell.log;
  EXPECT_NE(cell.log.find("closest: aarch64-64k-va48"), std::string::npos) << cell.log;
  EXPECT_FALSE(fs::exists(*dir_ / "c"));
  EXPECT_FALSE(fs::exists(*dir_ / "d"));
  for (const auto& e : fs::directory_iterator(*dir_))
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace archmatrix::testing
