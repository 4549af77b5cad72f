#pragma once
// report.html: the run as one self-contained page (inline CSS and script, no
// network): a grid of cells by checks coloured by result code; a click on a
// result shows its output.

#include <string>

#include "report/summary.h"

namespace archmatrix::report {

/// The whole page. Every grid cell that holds a result is a
/// <td data-code="CODE" data-ref="rN"> (and nothing else has data-code);
/// the page opens result rN's message, detail, scenario stdout/stderr and a
/// link to cells/<id>/console.log when it is clicked or when the page's URL
/// ends in #rN. Everything from a guest or a report file is escaped: it is
/// shown as text, never run. Deterministic: cells by id, checks by name.
std::string html_report(const RunSummary& s);

}  // namespace archmatrix::report
