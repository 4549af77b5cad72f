#pragma once
// report.json: the machine-readable record of a run (schema in docs/report-json.md).

#include <nlohmann/json.hpp>
#include <string>

#include "report/summary.h"

namespace archmatrix::report {

nlohmann::json to_json(const RunSummary& s);
/// Serialised, deterministic (keys sorted, cells by id); invalid UTF-8 in guest
/// output is replaced (U+FFFD), never allowed to break the document.
std::string to_json_text(const RunSummary& s);

}  // namespace archmatrix::report
