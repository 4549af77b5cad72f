#include "cli/report_commands.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "report/diff_report.h"
#include "report/json_read.h"
#include "report/write_reports.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/text_safe.h"

namespace archmatrix::cli {

namespace {

namespace fs = std::filesystem;

struct DiffOptions {
  fs::path before, after, markdown;
};

struct MergeOptions {
  std::vector<fs::path> inputs;
  fs::path out;
};

// Notes quote cell ids and matrix paths read from files: keep the terminal safe.
std::string printable(const std::string& s) { return util::terminal_text(s, 1000); }

int run_diff(const DiffOptions& o) {
  const auto before = report::read_report(o.before);
  const auto after = report::read_report(o.after);
  const auto d = report::diff_runs(before, after);
  std::cout << "archmatrix diff " << printable(o.before.string()) << " -> " << printable(o.after.string()) << "\n"
            << report::diff_text(d);
  if (!o.markdown.empty()) util::write_file_atomic(o.markdown, report::diff_markdown(d));
  return d.regressions ? util::kExitFailures : util::kExitOk;
}

int run_merge(const MergeOptions& o) {
  std::vector<report::RunSummary> runs;
  for (const auto& p : o.inputs) runs.push_back(report::read_report(p));
  std::vector<std::string> notes;
  const auto merged = report::merge(runs, &notes);
  for (const auto& n : notes) std::cout << "merge: " << printable(n) << "\n";
  report::write_all_reports(merged, o.out);
  std::cout << "merged " << runs.size() << " reports, " << merged.cells.size() << " cells, into "
            << printable(o.out.string()) << "\n";
  return util::kExitOk;
}

// The callbacks run inside app.parse(), whose caller only expects CLI11's
// parse errors: every other failure ends here, as a line and a status.
template <class F>
void guarded(int& exit_status, F&& f) {
  try {
    exit_status = f();
  } catch (const util::Error& e) {
    std::cerr << "archmatrix: " << e.what() << "\n";
    exit_status = e.exit_status();
  } catch (const std::exception& e) {
    std::cerr << "archmatrix: " << e.what() << "\n";
    exit_status = util::kExitHostError;
  }
}

}  // namespace

void add_report_commands(CLI::App& app, int& exit_status) {
  auto d = std::make_shared<DiffOptions>();
  auto* diff = app.add_subcommand("diff", "Compare two runs' report.json: new failures, fixed, XPASS, facts, kernels");
  diff->add_option("OLD", d->before, "report.json of the earlier run")->required()->check(CLI::ExistingFile);
  diff->add_option("NEW", d->after, "report.json of the later run")->required()->check(CLI::ExistingFile);
  diff->add_option("--markdown", d->markdown, "Also write the comparison as Markdown to this file");
  diff->callback([d, &exit_status] { guarded(exit_status, [&] { return run_diff(*d); }); });

  auto m = std::make_shared<MergeOptions>();
  auto* merge = app.add_subcommand("merge", "Combine several runs' report.json (e.g. shards) into one set of reports");
  merge->add_option("REPORTS", m->inputs, "report.json files to combine")->required()->check(CLI::ExistingFile);
  merge->add_option("-o,--out", m->out, "Directory for the merged report.json, junit.xml, summary.md, report.html")
      ->required();
  merge->callback([m, &exit_status] { guarded(exit_status, [&] { return run_merge(*m); }); });
}

}  // namespace archmatrix::cli
