#pragma once
// summary.md: the run as Markdown, for a CI job summary or a pull request
// comment. Cells by checks with result codes, totals, the axis attribution,
// then every result that is not a plain PASS with its reason.

#include <string>

#include "report/summary.h"

namespace archmatrix::report {

/// The whole summary.md; guest text through util::markdown_escape. Deterministic: cells by id, checks by name.
std::string markdown_summary(const RunSummary& s);

}  // namespace archmatrix::report
