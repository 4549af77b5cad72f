#pragma once
// Reading report.json back into a RunSummary (for diff and merge): the exact
// inverse of to_json. Schema: docs/report-json.md.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "report/summary.h"

namespace archmatrix::report {

/// The RunSummary that to_json made `j` from: from_json(to_json(s)) equals s
/// field by field. The derived members "totals" and "failed" are not read
/// (they are recomputed from the cells). Throws util::InputError
/// ("<source>: /cells/2/scenarios/0/code: expected one of PASS, ...") when a
/// member is missing or of the wrong type, a code is unknown, or "schema" is
/// not RunSummary::kSchema. `source` names the document in those messages.
RunSummary from_json(const nlohmann::json& j, const std::string& source = "report.json");

/// Reads and parses the file, then from_json. Throws util::InputError
/// ("path: cannot read: ...", "path:line:col: not JSON: ...", or from_json's)
/// for an unreadable file, bad JSON or a wrong schema.
RunSummary read_report(const std::filesystem::path& path);

}  // namespace archmatrix::report
