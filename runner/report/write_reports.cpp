#include "report/write_reports.h"

#include <system_error>

#include "report/html_report.h"
#include "report/json_report.h"
#include "report/junit_report.h"
#include "report/markdown_report.h"
#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::report {

void write_all_reports(const RunSummary& s, const std::filesystem::path& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw util::Error(out_dir.string() + ": cannot create the report directory: " + ec.message());
  // report.json last: it is what diff and merge read, so its presence says
  // the other formats of the same run are there too.
  util::write_file_atomic(out_dir / "junit.xml", junit_xml(s));
  util::write_file_atomic(out_dir / "summary.md", markdown_summary(s));
  util::write_file_atomic(out_dir / "report.html", html_report(s));
  util::write_file_atomic(out_dir / "report.json", to_json_text(s));
}

}  // namespace archmatrix::report
