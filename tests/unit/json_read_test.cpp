#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "report/json_read.h"
#include "report/json_report.h"
#include "report_samples.h"
#include "util/error.h"

#include <unistd.h>

namespace archmatrix::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A file in a fresh temporary directory, removed with it.
struct TempFile {
  fs::path dir, path;
  explicit TempFile(const std::string& text) {
    dir = fs::temp_directory_path() / ("am-json-read-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
    path = dir / "report.json";
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { fs::remove_all(dir); }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const util::InputError& e) {
    EXPECT_EQ(e.exit_status(), util::kExitBadInput);
    return e.what();
  }
  return "(no error)";
}

TEST(JsonRead, RoundTripIsExact) {
  const auto s = testing::golden_run();
  const auto back = from_json(to_json(s));
  // to_json writes every member of every struct, so equal JSON is equal data.
  EXPECT_EQ(to_json(back), to_json(s));
  ASSERT_EQ(back.cells.size(), s.cells.size());
  EXPECT_EQ(back.cells[4].scenarios[0].stdout_text, s.cells[4].scenarios[0].stdout_text);  // NUL, bad UTF-8 and all
  EXPECT_EQ(back.cells[4].scenarios[0].stdout_dropped, 4096u);
  EXPECT_EQ(back.cells[0].boot_seconds, 4.25);
  EXPECT_EQ(back.cells[5].crash_title, s.cells[5].crash_title);
  EXPECT_EQ(back.cells[3].fact_mismatches, s.cells[3].fact_mismatches);
  EXPECT_EQ(back.skipped[0].where, "matrix.yaml:21");
}

TEST(JsonRead, ReadsTheFileToJsonTextWrote) {
  const auto s = testing::golden_run();
  TempFile f(to_json_text(s));
  const auto back = read_report(f.path);
  EXPECT_EQ(to_json_text(back), to_json_text(s));
  EXPECT_EQ(back.cells[0].qemu_argv, s.cells[0].qemu_argv);
}

TEST(JsonRead, WrongSchemaIsNamed) {
  auto j = to_json(testing::golden_run());
  j["schema"] = 2;
  EXPECT_EQ(error_of([&] { from_json(j, "new.json"); }),
            "new.json: /schema: unsupported report schema 2 (this archmatrix reads schema 1)");
  j.erase("schema");
  EXPECT_EQ(error_of([&] { from_json(j, "x.json"); }), "x.json: /: not an archmatrix report: no \"schema\" member");
  EXPECT_EQ(error_of([&] { from_json(json::array(), "x.json"); }),
            "x.json: /: expected an archmatrix report (a JSON object), found array");
}

TEST(JsonRead, BadMembersArePointedAt) {
  const auto good = to_json(testing::golden_run());
  auto j = good;
  j["cells"][2]["scenarios"][1]["results"][0]["code"] = "MAYBE";
  EXPECT_NE(error_of([&] { from_json(j); })
                .find("report.json: /cells/2/scenarios/1/results/0/code: expected one of PASS, FAIL, XFAIL, XPASS, "
                      "UNSUPPORTED, TIMEOUT, CRASH, ERROR, NOTRUN, FLAKY, found \"MAYBE\""),
            std::string::npos);
  j = good;
  j["cells"][1]["kernel"].erase("version");
  EXPECT_EQ(error_of([&] { from_json(j); }), "report.json: /cells/1/kernel: missing member \"version\"");
  j = good;
  j["cells"][0]["boot_seconds"] = "fast";
  EXPECT_EQ(error_of([&] { from_json(j); }), "report.json: /cells/0/boot_seconds: expected a number, found string");
  j = good;
  j["cells"][0]["scenarios"][0]["stdout_dropped"] = -1;
  EXPECT_EQ(error_of([&] { from_json(j); }),
            "report.json: /cells/0/scenarios/0/stdout_dropped: expected a non-negative integer");
  j = good;
  j["cells"][0]["facts"]["page_size"] = 4096;
  EXPECT_EQ(error_of([&] { from_json(j); }), "report.json: /cells/0/facts/page_size: expected a string, found number");
}

TEST(JsonRead, UnreadableAndMalformedFiles) {
  EXPECT_NE(error_of([] { read_report("/nonexistent/report.json"); }).find("/nonexistent/report.json: cannot read: "),
            std::string::npos);
  TempFile f("{\n  \"schema\": 1,\n  \"cells\": [,]\n}\n");
  const auto e = error_of([&] { read_report(f.path); });
  EXPECT_EQ(e.rfind(f.path.string() + ":3:13: not JSON: ", 0), 0u) << e;
}

}  // namespace
}  // namespace archmatrix::report

namespace archmatrix::report {
namespace {

// docs/report-json.md's example is a real report: reading it and writing it
// again gives the same document, derived members included.
TEST(JsonRead, DocumentedExampleIsExact) {
  std::ifstream in(std::filesystem::path(ARCHMATRIX_SOURCE_ROOT) / "docs" / "report-json.md");
  ASSERT_TRUE(in);
  std::ostringstream doc;
  doc << in.rdbuf();
  const std::string text = doc.str();
  const auto begin = text.find("```json\n");
  ASSERT_NE(begin, std::string::npos);
  const auto end = text.find("```", begin + 8);
  ASSERT_NE(end, std::string::npos);
  const auto example = nlohmann::json::parse(text.substr(begin + 8, end - begin - 8));
  EXPECT_EQ(to_json(from_json(example, "docs/report-json.md")), example);
}

}  // namespace
}  // namespace archmatrix::report
