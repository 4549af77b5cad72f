// `archmatrix repro CELL SCENARIO[/CHECK]`: the next step after a red cell
// in a report. Boots only that cell (restoring its saved guest, as exec
// does), runs only that scenario's guest binary with its arguments, user
// and timeout, shows its output live, and judges it as `run` judges it.
// Everything exec offers for a program comes along: --strace, core files,
// --out reports.

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/named_target.h"
#include "cli/progress.h"
#include "cli/project_loading.h"
#include "cli/scenario_binaries.h"
#include "report/json_read.h"
#include "util/error.h"
#include "util/sha256.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;

namespace {

// --from: the report's record of the cell's kernel must be what this repro
// boots; a cache that no longer holds it is said, and nothing boots.
void check_from(const fs::path& from, const std::string& cell_id) {
  const fs::path file = fs::is_directory(from) ? from / "report.json" : from;
  if (!fs::exists(file))
    throw util::Error("--from " + from.string() + ": there is no report.json there", util::kExitBadInput);
  const auto s = report::read_report(file);
  const auto it = std::find_if(s.cells.begin(), s.cells.end(), [&](const auto& c) { return c.id == cell_id; });
  if (it == s.cells.end())
    throw util::Error(fmt::format("--from {}: the report has no cell {}", file.string(), cell_id),
                      util::kExitBadInput);
  const auto& k = it->kernel;
  if (k.sha256.empty() || k.image.empty())
    throw util::Error(fmt::format("--from {}: the report records no kernel for {} (it never got one)", file.string(),
                                  cell_id),
                      util::kExitBadInput);
  if (!fs::exists(k.image) || util::sha256_file(k.image) != k.sha256)
    throw util::Error(fmt::format("--from {}: the cache no longer holds the kernel that report ran on {} ({} {}, "
                                  "sha256 {}); run `archmatrix repro {} ...` without --from to use today's",
                                  file.string(), cell_id, k.package.empty() ? k.recipe : k.package, k.version,
                                  k.sha256.substr(0, 16), cell_id),
                      util::kExitHostError);
}

}  // namespace

int run_repro(const ReproOptions& o) {
  Progress progress(false);
  progress.set_silent(!o.verbose && !::isatty(2));
  return run_exec(repro_exec_options(o, progress));
}

ExecOptions repro_exec_options(const ReproOptions& o, Progress& progress) {
  const NamedTarget named = name_target(o.common, o.cell, o.target);
  const auto& cell = *named.cell;
  const std::string& name = named.scenario->spec->name;
  const std::string& check = named.check;
  const auto& everything = named.everything;
  if (!o.from.empty()) check_from(o.from, cell.id);

  // Its guest binary, built as `run` builds it (incrementally, in the cache).
  const auto& spec = *named.scenario->spec;
  auto built = build_scenario_binaries(o.common.root, {{cell.arch, {&spec}}},
                                       [&](std::string_view m) { progress.log(m); });
  if (auto e = built.errors.find(cell.arch); e != built.errors.end())
    throw util::Error(fmt::format("the guest binaries for {} did not build: {}", util::arch_info(cell.arch).name,
                                  e->second));
  const auto& bins = built.binaries.at(cell.arch);
  if (auto f = bins.failed.find(name); f != bins.failed.end())
    throw util::Error(f->second.message + (f->second.log.empty() ? "" : "\n" + f->second.log));
  auto target = std::make_shared<ScenarioTarget>();
  target->name = name;
  target->check = check;
  auto payload = std::make_shared<prepare::ProgramPayload>();
  payload->exec_path = "/archmatrix/bin/" + name;  // where `run` has it
  payload->files.push_back({bins.scenarios.at(name), payload->exec_path, 0755});
  if (auto r = bins.runtime.find(name); r != bins.runtime.end())
    for (const auto& f : r->second) payload->files.push_back({f.host, "/" + f.guest_path, 0755});

  ExecOptions ex;
  ex.common = o.common;
  ex.common.cells = {cell.id};
  ex.common.scenarios = {name};
  ex.jobs = 1;
  ex.out = o.out;
  ex.snapshots = o.snapshots;
  ex.program = bins.scenarios.at(name);
  ex.args = spec.args;
  ex.root_user = spec.privileged;
  const auto& t = everything.project.matrix.timeouts;
  ex.timeout_s = spec.timeout_s * t.tcg_scale;
  ex.verbose = o.verbose;
  ex.qemu_dir = o.qemu_dir;
  ex.strace = o.strace;
  ex.gdb = o.gdb;
  ex.kernel_gdb = o.kernel_gdb;
  if (o.shell) ex.then = std::make_shared<FollowUp>(shell_job(cell, o.common, {}, {}, true, progress));
  ex.cores = o.cores;
  ex.cores_dir = o.cores_dir;
  ex.scenario = std::move(target);
  ex.payload = std::move(payload);
  return ex;
}

}  // namespace archmatrix::cli
