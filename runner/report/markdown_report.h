#pragma once
// summary.md: the run as Markdown, for a CI job summary or a pull request
// comment. Cells by checks with result codes, totals, the axis attribution,
// then every result that is not a plain PASS with its reason.

#include <cstddef>
#include <string>
#include <string_view>

#include "report/summary.h"

namespace archmatrix::report {

/// Text safe inside a Markdown table cell or list item: xml_safe_text, then
/// every Markdown-active character (\ ` * _ [ ] < > | ~ # & !) backslash-escaped
/// and every line break made "<br>"; cut to `max` characters (whole UTF-8
/// characters) with "…" when longer (0: never cut).
std::string markdown_escape(std::string_view s, std::size_t max = 0);

/// The whole summary.md. Deterministic: cells by id, checks by name.
std::string markdown_summary(const RunSummary& s);

}  // namespace archmatrix::report
