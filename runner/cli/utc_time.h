#pragma once
// The wall clock as reports record it (`started`): ISO 8601, UTC, seconds.

#include <string>

namespace archmatrix::cli {

/// Now, e.g. "2026-12-02T23:16:04Z".
std::string utc_now();

}  // namespace archmatrix::cli
