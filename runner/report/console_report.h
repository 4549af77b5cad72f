#pragma once
// The summary printed at the end of `archmatrix run`: a table of cells by
// scenario checks, then every result that is not a plain PASS with its reason.

#include <string>

#include "report/summary.h"

namespace archmatrix::report {

std::string console_summary(const RunSummary& s);

}  // namespace archmatrix::report
