#pragma once
// A cell's run and verdict as the reports show it: shared by `run`, which
// judges a whole cell, and `repro`, which judges one scenario of it.

#include "config/model.h"
#include "plan/plan.h"
#include "prepare/debian_kernel.h"
#include "report/summary.h"
#include "verdict/cell_run.h"
#include "verdict/verdict.h"

namespace archmatrix::cli {

/// The fields a scenario's run and its report row share
/// (verdict::ScenarioRun, report::ScenarioRow): how it ended and its output.
template <class To, class From>
void copy_run_fields(To& to, const From& from) {
  to.status = from.status;
  to.value = from.value;
  to.duration_ms = from.duration_ms;
  to.stdout_text = from.stdout_text;
  to.stderr_text = from.stderr_text;
  to.stdout_dropped = from.stdout_dropped;
  to.stderr_dropped = from.stderr_dropped;
}

/// The report's kernel record: the recipe, and what the cache gave for it
/// (`a` null when it gave nothing).
report::KernelInfo kernel_info(const config::KernelRecipe& k, const prepare::KernelArtifact* a);

/// The report's cell as the plan has it: id, arch, axes, memory, CPUs, where
/// its console log goes.
report::CellSummary cell_identity(const plan::Cell& cell);

/// The report's cell: its axes, how its run ended, its facts, and one row per
/// planned scenario with the verdict's results (kernel and argv left empty).
report::CellSummary summarize_cell(const plan::Cell& cell, const verdict::CellRun& run,
                                   const verdict::CellVerdict& v);

}  // namespace archmatrix::cli
