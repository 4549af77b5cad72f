#include "cli/cell_summary.h"

#include "util/arch.h"

namespace archmatrix::cli {

report::KernelInfo kernel_info(const config::KernelRecipe& k, const prepare::KernelArtifact* a) {
  report::KernelInfo i;
  i.recipe = k.id;
  i.source = k.source == config::KernelSource::debian ? "debian" : "built";
  i.suite = k.suite;
  if (a) {
    i.package = a->package;
    i.version = a->version;
    i.release = a->release;
    i.sha256 = a->sha256;
    i.cache_key = a->cache_key;
    i.image = a->image.string();
  }
  return i;
}

report::CellSummary cell_identity(const plan::Cell& cell) {
  report::CellSummary c;
  c.id = cell.id;
  c.arch = std::string(util::arch_info(cell.arch).name);
  c.axes = cell.axes;
  c.memory_mib = cell.memory_mib;
  c.cpus = cell.cpus;
  c.console_log = "cells/" + cell.id + "/console.log";
  return c;
}

report::CellSummary summarize_cell(const plan::Cell& cell, const verdict::CellRun& run,
                                   const verdict::CellVerdict& v) {
  report::CellSummary c = cell_identity(cell);
  static const char* kEnds[] = {"completed", "boot_timeout", "no_output_timeout", "overall_timeout",
                                "crashed", "qemu_exited", "start_failed", "interrupted", "not_run", "host_error"};
  c.end = kEnds[static_cast<int>(run.end)];
  c.end_detail = run.end_detail;
  c.boot_seconds = run.boot_seconds;
  c.wall_seconds = run.wall_seconds;
  if (run.facts) c.facts = *run.facts;
  c.fact_mismatches = v.fact_mismatches;
  c.crash_title = run.crash_title;
  c.crash_text = run.crash_text;
  c.protocol_anomalies = run.protocol_anomalies;
  for (const auto& ps : cell.scenarios) {
    report::ScenarioRow row;
    row.scenario = ps.spec->name;
    for (const auto& sr : run.scenarios)
      if (sr.name == row.scenario) copy_run_fields(row, sr);
    std::vector<verdict::Code> codes;
    for (const auto& r : v.results)
      if (r.scenario == row.scenario) {
        row.results.push_back({r.check, r.code, r.message, r.detail});
        codes.push_back(r.code);
      }
    row.code = report::worst(codes);
    c.scenarios.push_back(std::move(row));
  }
  return c;
}

}  // namespace archmatrix::cli
