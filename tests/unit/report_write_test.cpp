// The reports of a run are replaced as a set: a failure while writing or
// renaming any one of them leaves every previous report as it was.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "reliability_ledger.h"
#include "report/write_reports.h"
#include "report_samples.h"
#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::report {
namespace {

namespace fs = std::filesystem;

const char* const kReports[] = {"junit.xml", "summary.md", "report.html", "report.json"};

// Every entry of the directory (temporaries included) with its contents.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out[e.path().filename().string()] = e.is_regular_file() ? util::read_file(e.path()) : "(directory)";
  return out;
}

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("am-report-set-" + std::to_string(::getpid()));
  Scratch() { fs::remove_all(dir); }
  ~Scratch() { fs::remove_all(dir); }
};

RunSummary new_run() {
  auto s = testing::golden_run();
  s.started = "2026-12-01T00:00:00Z";
  s.cells.pop_back();
  return s;
}

// A write that fails as a full disk does: part of the file, then an error.
FileSetOps failing_write_at(int k) {
  auto calls = std::make_shared<int>(0);
  FileSetOps ops;
  ops.write = [calls, k](const fs::path& p, std::string_view data) {
    if ((*calls)++ != k) return util::write_file_atomic(p, data);
    std::ofstream(p, std::ios::binary) << data.substr(0, data.size() / 2);
    throw util::Error("cannot write " + p.string() + ": No space left on device");
  };
  return ops;
}

FileSetOps failing_rename_at(int k) {
  auto calls = std::make_shared<int>(0);
  FileSetOps ops;
  ops.rename = [calls, k](const fs::path& from, const fs::path& to) {
    if ((*calls)++ == k) throw util::Error("cannot rename " + from.string() + ": Input/output error");
    fs::rename(from, to);
  };
  return ops;
}

TEST(ReportSet, AFailedWriteOfAnyFileKeepsEveryPreviousReport) {
  for (int k = 0; k < 4; ++k) {
    SCOPED_TRACE("write of " + std::string(kReports[k]) + " fails");
    Scratch s;
    write_all_reports(testing::golden_run(), s.dir);
    const auto before = snapshot(s.dir);
    ASSERT_EQ(before.size(), 4u);
    EXPECT_THROW(write_all_reports(new_run(), s.dir, failing_write_at(k)), util::Error);
    EXPECT_EQ(snapshot(s.dir), before);
  }
  archmatrix::testing::record_fault("disk full on any one report file", !::testing::Test::HasFailure(), 0);
}

TEST(ReportSet, AFailedRenameOfAnyFileKeepsEveryPreviousReport) {
  for (int k = 0; k < 4; ++k) {
    SCOPED_TRACE("rename of " + std::string(kReports[k]) + " fails");
    Scratch s;
    write_all_reports(testing::golden_run(), s.dir);
    const auto before = snapshot(s.dir);
    EXPECT_THROW(write_all_reports(new_run(), s.dir, failing_rename_at(k)), util::Error);
    EXPECT_EQ(snapshot(s.dir), before);
  }
  archmatrix::testing::record_fault("report rename fails part-way through the set", !::testing::Test::HasFailure(), 0);
}

TEST(ReportSet, AFailureInAnEmptyDirectoryLeavesItEmpty) {
  for (int k = 0; k < 4; ++k) {
    Scratch s;
    EXPECT_THROW(write_all_reports(new_run(), s.dir, failing_write_at(k)), util::Error);
    EXPECT_TRUE(snapshot(s.dir).empty()) << k;
    EXPECT_THROW(write_all_reports(new_run(), s.dir, failing_rename_at(k)), util::Error);
    EXPECT_TRUE(snapshot(s.dir).empty()) << k;
  }
}

TEST(ReportSet, ASuccessReplacesEveryFileAndLeavesNothingElse) {
  Scratch s;
  write_all_reports(testing::golden_run(), s.dir);
  write_all_reports(new_run(), s.dir);
  const fs::path fresh = s.dir / "fresh";
  write_all_reports(new_run(), fresh);
  auto replaced = snapshot(s.dir);
  replaced.erase("fresh");
  EXPECT_EQ(replaced, snapshot(fresh));
}

TEST(ReportSet, TheErrorNamesTheReportNotTheTemporary) {
  Scratch s;
  try {
    write_all_reports(new_run(), s.dir, failing_write_at(2));
    ADD_FAILURE() << "no error";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write " + (s.dir / "report.html").string() + ": No space left"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace archmatrix::report
