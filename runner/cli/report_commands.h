#pragma once
// The subcommands that work on finished runs' report.json files:
//   archmatrix diff OLD.json NEW.json [--markdown FILE]
//   archmatrix merge A.json B.json ... --out DIR

#include <CLI/CLI.hpp>

namespace archmatrix::cli {

/// Registers `diff` and `merge` on `app`. Their callbacks run during
/// app.parse() and never throw: each prints its own errors and sets
/// `exit_status`, which is left untouched when neither subcommand ran (so a
/// caller initialises it to -1 and returns it when it is >= 0). `exit_status`
/// must outlive the parse. diff: 1 when there are regressions (new failures
/// or newly XPASS), else 0; merge: 0; both: 2 on unreadable or bad input,
/// 3 when an output cannot be written.
void add_report_commands(CLI::App& app, int& exit_status);

}  // namespace archmatrix::cli
