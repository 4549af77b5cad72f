#pragma once
// Writes every report format of a run into its output directory.

#include <filesystem>

#include "report/summary.h"

namespace archmatrix::report {

/// Writes report.json, junit.xml, summary.md and report.html into `out_dir`
/// (created if missing), each atomically (a reader sees the old file or the
/// new one, never half of one). Throws util::Error when a file cannot be written.
void write_all_reports(const RunSummary& s, const std::filesystem::path& out_dir);

}  // namespace archmatrix::report
