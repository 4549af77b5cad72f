// `archmatrix run`: plan -> prepare (kernels, guest binaries, images) -> exec
// -> verdict -> report. The only place that wires real implementations together.

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "cli/commands.h"
#include "cli/cell_summary.h"
#include "cli/kernels.h"
#include "cli/progress.h"
#include "cli/scenario_binaries.h"
#include "cli/project_loading.h"
#include "exec/accel.h"
#include "exec/qemu_command.h"
#include "exec/supervisor.h"
#include "prepare/apt_sources.h"
#include "prepare/cell_image.h"
#include "prepare/debian_kernel.h"
#include "prepare/kernel_image.h"
#include "prepare/source_package.h"
#include "prepare/target_build.h"
#include "prepare/target_packages.h"
#include "report/attribution.h"
#include "report/console_report.h"
#include "report/json_read.h"
#include "report/rerun.h"
#include "cli/utc_time.h"
#include "report/write_reports.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/interrupt.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds scaled(double seconds, double scale) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * scale * 1000));
}

struct Prepared {
  exec::HostAccel host;  // what the host can accelerate (exec/accel.h)
  std::map<std::string, prepare::KernelArtifact> kernels;  // by recipe id
  std::map<std::string, std::string> kernel_errors;
  std::map<util::Arch, prepare::TargetBinaries> binaries;
  std::map<util::Arch, std::string> binary_errors;
};

Prepared prepare_all(const LoadedPlan& lp, const RunOptions& o, Progress& progress) {
  Prepared p;
  p.host = exec::probe_host_accel();
  std::map<std::string, const config::KernelRecipe*> recipes;
  std::map<util::Arch, std::vector<const config::ScenarioSpec*>> per_arch;
  for (const auto& c : lp.plan.cells) {
    recipes[c.kernel->id] = c.kernel;
    auto& list = per_arch[c.arch];
    for (const auto& s : c.scenarios)
      if (!s.unsupported && std::find(list.begin(), list.end(), s.spec) == list.end()) list.push_back(s.spec);
  }
  // A kernel or build that fails turns its cells into ERROR results; the
  // other cells still run, so one bad download loses nobody else's results.
  // A scenario that does not build is that scenario's ERROR only (its
  // binaries' `failed`); the agent not building is its arch's. A binary
  // built for the wrong guest is bad input instead: nothing boots.
  std::vector<const config::KernelRecipe*> kernels;
  for (const auto& [id, k] : recipes) kernels.push_back(k);
  auto pk = prepare_kernels(kernels, o.jobs, o.refresh_kernels, progress);
  p.kernels = std::move(pk.kernels);
  p.kernel_errors = std::move(pk.errors);
  auto built = build_scenario_binaries(o.common.root, per_arch, [&](std::string_view m) { progress.log(m); });
  p.binaries = std::move(built.binaries);
  p.binary_errors = std::move(built.errors);
  return p;
}

const std::map<std::string, prepare::ScenarioBuildFailure>* not_built_on(const Prepared& p, util::Arch arch) {
  auto it = p.binaries.find(arch);
  return it == p.binaries.end() ? nullptr : &it->second.failed;
}

// A scenario that did not build is reported as if the agent had said it
// could not run it: its checks are ERROR with the compiler's error lines,
// and the end of its build log stands in for its stderr.
void add_build_failures(const plan::Cell& cell, const Prepared& p, verdict::CellRun& run) {
  const auto* not_built = not_built_on(p, cell.arch);
  if (!not_built) return;
  for (const auto& s : cell.scenarios) {
    auto it = s.unsupported ? not_built->end() : not_built->find(s.spec->name);
    if (it == not_built->end()) continue;
    verdict::ScenarioRun r;
    r.name = s.spec->name;
    r.finished = true;
    r.status = "error";
    r.value = it->second.message;
    r.stderr_text = it->second.log;
    run.scenarios.push_back(std::move(r));
  }
}

struct JobOrError {
  exec::CellJob job;
  std::string error;  ///< the host could not prepare it: kernel, build, ELF check, image
  std::string accel, accel_detail;  ///< exec/accel.h's choice, and why
};

// One boot of `cell` as attempt `attempt`, its files in `dir`: every
// scenario that can run there, or only those in `only`.
JobOrError make_job(const LoadedPlan& lp, const plan::Cell& cell, const Prepared& prep, const RunOptions& o,
                    const fs::path& dir, int attempt, const std::set<std::string>* only) {
  const auto& t = lp.project.matrix.timeouts;
  fs::create_directories(dir);
  JobOrError r;
  if (auto it = prep.kernel_errors.find(cell.kernel->id); it != prep.kernel_errors.end()) r.error = it->second;
  if (auto it = prep.binary_errors.find(cell.arch); it != prep.binary_errors.end()) r.error = it->second;
  std::vector<prepare::GuestScenario> guest;
  double scenario_seconds = 0;
  const auto* not_built = not_built_on(prep, cell.arch);
  for (const auto& s : cell.scenarios) {
    if (s.unsupported || (not_built && not_built->count(s.spec->name))) continue;
    if (only && !only->count(s.spec->name)) continue;
    guest.push_back({s.spec->name, static_cast<long>(scaled(s.spec->timeout_s, t.tcg_scale).count()),
                     s.spec->privileged, s.spec->args});
    scenario_seconds += s.spec->timeout_s;
  }
  auto& job = r.job;
  job.id = cell.id;
  job.nonce = prepare::make_nonce();
  for (const auto& g : guest) job.scenario_names.push_back(g.name);
  job.console_log = dir / "console.log";
  job.boot_timeout = scaled(t.boot_s, t.tcg_scale);
  job.no_output_timeout = scaled(t.no_output_s, t.tcg_scale);
  job.overall_timeout = scaled(t.boot_s + scenario_seconds + t.margin_s, t.tcg_scale);
  const auto accel = exec::choose_accel(cell, prep.host, o.accel);
  r.accel = accel.accel;
  r.accel_detail = accel.why;
  if (r.error.empty() && accel.accel.empty()) r.error = "--accel kvm: " + accel.why;
  if (!r.error.empty()) return r;
  try {
    const auto& kernel = prep.kernels.at(cell.kernel->id);
    prepare::require_kernel_image(kernel.image, cell.arch);  // like every guest binary, before boot
    const auto initrd = prepare::write_cell_image(cell, prep.binaries.at(cell.arch), guest, job.nonce, dir, {attempt, false});
    job.argv = exec::qemu_argv(cell, {kernel.image, initrd, o.qemu_dir, r.accel});
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

// --strace-failures: the last attempt of each still-failing scenario runs
// as `repro --strace` runs it (exec's guest, restored; Debian's strace -f of
// the target arch), judged as `run` judges it; the trace is kept with the
// attempt. Its files are in cells/<id>/attempt-k/<scenario>/.
void strace_attempt(const LoadedPlan& lp, const RunOptions& o, const fs::path& out, report::RunSummary& summary,
                    std::vector<std::set<std::string>>& failing, int attempt, Progress& progress) {
  // exec installs its own handlers for SIGINT, SIGTERM and SIGHUP: run's come back after.
  struct sigaction saved[3];
  const int signals[3] = {SIGINT, SIGTERM, SIGHUP};
  for (int k = 0; k < 3; ++k) ::sigaction(signals[k], nullptr, &saved[k]);
  bool stop = false;
  for (std::size_t i = 0; i < lp.plan.cells.size() && !stop; ++i) {
    const auto& cell = lp.plan.cells[i];
    const std::set<std::string> names = failing[i];  // fold_rerun's passes leave it
    for (const std::string& name : names) {
      const std::string rel = fmt::format("cells/{}/attempt-{}/{}", cell.id, attempt, name);
      progress.log(fmt::format("attempt {}: {} on {} under strace", attempt, name, cell.id));
      ReproOptions ro;
      ro.common = o.common;
      ro.cell = cell.id;
      ro.target = name;
      ro.out = out / rel;
      ro.strace = true;
      ro.qemu_dir = o.qemu_dir;
      try {
        auto ex = repro_exec_options(ro, progress);
        ex.quiet = true;
        ex.env.push_back(fmt::format("ARCHMATRIX_ATTEMPT={}", attempt));  // as run's agent says it
        if (run_exec(ex) == util::kExitInterrupted) {
          stop = true;
          break;
        }
        const auto again = report::read_report(ro.out / "report.json");
        const report::ScenarioRow* row = nullptr;
        for (const auto& c : again.cells)
          if (c.id == cell.id) row = report::find_scenario(c, name);
        if (!row) throw util::Error("its report has no result for it");
        for (auto& first : summary.cells[i].scenarios) {
          if (first.scenario != name) continue;
          const bool still = report::fold_rerun(first, *row, attempt, rel + "/cells/" + cell.id + "/console.log",
                                                summary.cells[i].console_log);
          if (fs::exists(ro.out / "cells" / cell.id / "strace.txt"))
            first.attempts.back().trace = rel + "/cells/" + cell.id + "/strace.txt";
          if (!still) failing[i].erase(name);
        }
      } catch (const std::exception& e) {
        progress.log(fmt::format("{}: {}: no attempt under strace: {}", cell.id, name, e.what()));
      }
    }
  }
  for (int k = 0; k < 3; ++k) ::sigaction(signals[k], &saved[k], nullptr);
}

// `run --rerun-failures N`: each scenario that failed runs again, in a fresh
// boot of its cell with only the cell's still-failing scenarios, until it
// passes (FLAKY) or has had N more attempts. Attempt k's files are in
// cells/<id>/attempt-k/. With --strace-failures the last attempt runs under
// strace (strace_attempt).
void rerun_failures(const LoadedPlan& lp, const Prepared& prep, const RunOptions& o, const fs::path& out,
                    report::RunSummary& summary, Progress& progress) {
  std::vector<std::set<std::string>> failing(lp.plan.cells.size());
  for (std::size_t i = 0; i < lp.plan.cells.size(); ++i) {
    const auto names = report::rerun_candidates(summary.cells[i]);
    failing[i].insert(names.begin(), names.end());
  }
  for (int attempt = 2; attempt <= o.rerun_failures + 1 && !util::interrupted(); ++attempt) {
    if (o.strace_failures && attempt == o.rerun_failures + 1) {
      strace_attempt(lp, o, out, summary, failing, attempt, progress);
      return;
    }
    std::vector<exec::CellJob> jobs;
    std::vector<std::size_t> job_cell;
    std::size_t scenarios = 0;
    for (std::size_t i = 0; i < lp.plan.cells.size(); ++i) {
      if (failing[i].empty()) continue;
      const auto& cell = lp.plan.cells[i];
      auto job = make_job(lp, cell, prep, o, out / "cells" / cell.id / fmt::format("attempt-{}", attempt), attempt,
                          &failing[i]);
      if (!job.error.empty()) {  // it was prepared once; say so and keep the first failure
        progress.log(fmt::format("{}: cannot rerun: {}", cell.id, job.error));
        failing[i].clear();
        continue;
      }
      scenarios += failing[i].size();
      jobs.push_back(std::move(job.job));
      job_cell.push_back(i);
    }
    if (jobs.empty()) return;
    progress.log(fmt::format("attempt {}: {} failed scenario{} again in {} fresh boot{}", attempt, scenarios,
                             scenarios == 1 ? "" : "s", jobs.size(), jobs.size() == 1 ? "" : "s"));
    exec::Supervisor sup(o.jobs, [&](const exec::CellEvent& e) { progress.event(e); });
    progress.start_cells(jobs.size(), o.jobs);
    auto job_runs = sup.run(jobs);
    for (std::size_t j = 0; j < job_runs.size(); ++j) {
      const std::size_t i = job_cell[j];
      if (job_runs[j].end == verdict::CellEnd::interrupted || job_runs[j].end == verdict::CellEnd::not_run) continue;
      plan::Cell only = lp.plan.cells[i];
      std::erase_if(only.scenarios, [&](const plan::PlannedScenario& s) { return !failing[i].count(s.spec->name); });
      const auto again = summarize_cell(only, job_runs[j], verdict::judge(only, job_runs[j]));
      const std::string log = fmt::format("cells/{}/attempt-{}/console.log", only.id, attempt);
      for (const auto& row : again.scenarios)
        for (auto& first : summary.cells[i].scenarios)
          if (first.scenario == row.scenario &&
              !report::fold_rerun(first, row, attempt, log, summary.cells[i].console_log))
            failing[i].erase(row.scenario);
    }
  }
}

// The earlier report of --resume DIR, if it is one this plan can complete.
report::RunSummary read_resumable(const fs::path& dir, const LoadedPlan& lp, const std::string& shard) {
  const fs::path file = dir / "report.json";
  if (!fs::exists(file))
    throw util::Error("--resume " + dir.string() + ": there is no report.json to resume", util::kExitBadInput);
  report::RunSummary s = report::read_report(file);
  if (s.planned_cells != lp.planned_ids || s.shard != shard)
    throw util::Error("--resume " + dir.string() + ": its report was planned from another matrix, filter or shard (" +
                          std::to_string(s.planned_cells.size()) + " cells there, " +
                          std::to_string(lp.planned_ids.size()) +
                          " now); resume with the same --matrix, --cell, --scenario and --shard",
                      util::kExitBadInput);
  return s;
}

}  // namespace

int run_run(const RunOptions& o) {
  // From here on SIGINT/SIGTERM never end the process at once: they kill
  // every child's process group (apt-get, make, cmake, QEMU), and whatever
  // phase the run was in, it writes a report whose unfinished cells are
  // NOTRUN, for `run --resume`, and exits 130.
  util::install_interrupt_handlers();
  Progress progress(Progress::stderr_is_live());
  LoadedPlan lp = load_and_plan(o.common);
  // --resume: the cells the earlier report finished stay as they are; only
  // the interrupted and never-run ones run now, and the report is completed.
  std::optional<report::RunSummary> earlier;
  std::set<std::string> finished;
  if (!o.resume.empty()) {
    earlier = read_resumable(o.resume, lp, o.common.shard);
    for (const auto& c : earlier->cells)
      if (c.end != "interrupted" && c.end != "not_run") finished.insert(c.id);
    std::erase_if(lp.plan.cells, [&](const plan::Cell& c) { return finished.count(c.id) > 0; });
    progress.log(fmt::format("resuming {}: {} cells finished, {} to run", o.resume.string(), finished.size(),
                             lp.plan.cells.size()));
  }
  progress.log(fmt::format("{} cells planned, {} not planned; {} scenarios", lp.plan.cells.size(),
                       lp.plan.skipped.size(), lp.project.scenarios.size()));
  for (const auto& k : lp.plan.skipped) progress.log(fmt::format("not planned: {}: {}", k.id, k.reason));

  const fs::path out = fs::absolute(o.out);
  std::error_code ec;
  fs::create_directories(out / "cells", ec);
  if (ec) throw util::Error("cannot create the output directory " + (out / "cells").string() + ": " + ec.message());
  const std::string started = utc_now();
  Prepared prep = prepare_all(lp, o, progress);

  std::vector<exec::CellJob> jobs;
  std::vector<std::size_t> job_cell;  // job index -> cell index
  std::vector<verdict::CellRun> runs(lp.plan.cells.size());
  std::vector<std::vector<std::string>> argvs(lp.plan.cells.size());
  std::vector<std::pair<std::string, std::string>> accels(lp.plan.cells.size());
  for (std::size_t i = 0; i < lp.plan.cells.size(); ++i) {
    const auto& cell = lp.plan.cells[i];
    fs::create_directories(out / "cells" / cell.id);
    if (util::interrupted()) {
      // Before booting: also a cell whose kernel failed (that failure may
      // be the interrupt's doing) runs again on --resume.
      runs[i].end = verdict::CellEnd::interrupted;
      runs[i].end_detail = "the run was interrupted while preparing kernels, guest binaries and images";
      continue;
    }
    auto job = make_job(lp, cell, prep, o, out / "cells" / cell.id, 1, nullptr);
    accels[i] = {job.accel, job.accel_detail};
    if (!job.error.empty()) {
      runs[i].end = verdict::CellEnd::host_error;
      runs[i].end_detail = job.error;
      continue;
    }
    argvs[i] = job.job.argv;
    jobs.push_back(std::move(job.job));
    job_cell.push_back(i);
  }

  exec::Supervisor sup(o.jobs, [&](const exec::CellEvent& e) { progress.event(e); });
  progress.start_cells(jobs.size(), o.jobs);
  auto job_runs = sup.run(jobs);
  const bool interrupted = sup.interrupted() || util::interrupted();
  for (std::size_t j = 0; j < job_runs.size(); ++j) runs[job_cell[j]] = std::move(job_runs[j]);
  for (std::size_t i = 0; i < lp.plan.cells.size(); ++i) add_build_failures(lp.plan.cells[i], prep, runs[i]);

  report::RunSummary summary;
  summary.archmatrix_version = ARCHMATRIX_VERSION;
  summary.matrix = o.common.matrix.string();
  summary.started = started;
  summary.interrupted = interrupted;
  summary.shard = o.common.shard;
  summary.planned_cells = lp.planned_ids;
  for (std::size_t i = 0; i < lp.plan.cells.size(); ++i) {
    const auto& cell = lp.plan.cells[i];
    const auto v = verdict::judge(cell, runs[i]);
    auto c = summarize_cell(cell, runs[i], v);
    auto it = prep.kernels.find(cell.kernel->id);
    c.kernel = kernel_info(*cell.kernel, it == prep.kernels.end() ? nullptr : &it->second);
    c.qemu_argv = argvs[i];
    c.accel = accels[i].first;
    c.accel_detail = accels[i].second;
    summary.cells.push_back(std::move(c));
  }
  if (o.rerun_failures > 0 && !interrupted) rerun_failures(lp, prep, o, out, summary, progress);
  for (const auto& k : lp.plan.skipped)
    summary.skipped.push_back({k.id, k.reason, k.where.file + ":" + std::to_string(k.where.line)});
  summary.wall_seconds = progress.elapsed();
  if (earlier) {
    summary.started = earlier->started;
    summary.wall_seconds += earlier->wall_seconds;
    for (auto& c : earlier->cells)
      if (finished.count(c.id)) summary.cells.push_back(std::move(c));
    std::sort(summary.cells.begin(), summary.cells.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  }

  report::write_all_reports(summary, out);
  std::cout << report::console_summary(summary);
  std::cout << report::attribution_text(summary);
  std::cout << "reports: " << (out / "report.html").string() << " (and report.json, junit.xml, summary.md)\n";
  if (summary.interrupted) return util::kExitInterrupted;
  return report::failed(summary) ? util::kExitFailures : util::kExitOk;
}

}  // namespace archmatrix::cli
