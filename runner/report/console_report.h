#pragma once
// The summary printed at the end of `archmatrix run`: a table of cells by
// scenario checks, then every result that is not a plain PASS with its reason.

#include <string>
#include <string_view>

#include "report/summary.h"

namespace archmatrix::report {

std::string console_summary(const RunSummary& s);

/// Guest text made safe for a terminal: printable ASCII only (a newline
/// becomes a space, anything else '?'), cut at max with "...", so an escape
/// sequence a scenario printed cannot rewrite the user's screen.
std::string terminal_safe(std::string_view s, std::size_t max = 200);

}  // namespace archmatrix::report
