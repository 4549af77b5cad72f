// archmatrix: boots QEMU guests across a matrix of architectures and kernel
// settings, runs scenario programs in each, and reports what passed where.

#include <CLI/CLI.hpp>

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/kernels.h"
#include "cli/report_commands.h"
#include "util/data_dir.h"
#include "util/error.h"

using namespace archmatrix;

namespace {

// A repeatable option that takes one value per use, so positionals after it
// stay positionals (`repro --scenarios DIR CELL SCENARIO`).
CLI::Option* one_per_use(CLI::Option* opt) {
  return opt->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false);
}

// --matrix, --root and --scenarios, for the commands that name one cell.
// --gdb (the program waits under gdbserver; the gdb-multiarch command is
// printed) or --gdb=run (and gdb-multiarch is started on this terminal).
void add_gdb_option(CLI::App* cmd, std::string& gdb) {
  cmd->add_flag("--gdb{wait}", gdb,
                "Start the program stopped under Debian's gdbserver of the target arch and print the "
                "gdb-multiarch command that debugs it; --gdb=run starts gdb-multiarch too")
      ->check(CLI::IsMember({"wait", "run"}))
      ->type_name("[=run]");
}

void add_kernel_gdb_option(CLI::App* cmd, bool& kernel_gdb) {
  cmd->add_flag("--kernel-gdb", kernel_gdb,
                "Boot the cell's built kernel stopped before its first instruction under QEMU's gdbstub, with "
                "nokaslr, and print the gdb-multiarch command that debugs it with its vmlinux");
}

void add_project(CLI::App* cmd, cli::CommonOptions& o) {
  cmd->add_option("--matrix", o.matrix, "Matrix file (default: <root>/matrix.yaml)");
  cmd->add_option("--root", o.root, "Project directory (default: the data directory)")->check(CLI::ExistingDirectory);
  one_per_use(cmd->add_option("--scenarios", o.scenario_dirs, "Another directory of scenarios (repeatable)")
                  ->check(CLI::ExistingDirectory));
}

void add_common(CLI::App* cmd, cli::CommonOptions& o) {
  cmd->add_option("--matrix", o.matrix, "Matrix file (default: <root>/matrix.yaml)");
  cmd->add_option("--root", o.root,
                  "Project directory holding scenarios/, kernels/, images/ (default: the data directory, see --version)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--scenarios", o.scenario_dirs,
                  "Another directory of scenarios laid out like scenarios/ (repeatable)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--cell", o.cells, "Only cells whose id matches this glob (repeatable)");
  cmd->add_option("--scenario", o.scenarios, "Only this scenario (repeatable)");
  cmd->add_option("--shard", o.shard, "Only shard K of N (K/N), for splitting a matrix across CI machines");
  cmd->add_option("--balance-from", o.balance_from,
                  "An earlier report.json whose cell durations balance the shards")
      ->check(CLI::ExistingFile);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"archmatrix: run scenario programs across a matrix of QEMU guests"};
  // The installed binary's data is <prefix>/share/archmatrix, the build
  // tree's is the checkout; --version names the one in use.
  const std::filesystem::path data = util::data_dir(util::self_executable(), ARCHMATRIX_SOURCE_ROOT);
  app.set_version_flag("--version", std::string("archmatrix ") + ARCHMATRIX_VERSION + "\ndata: " + data.string());
  app.require_subcommand(1);

  cli::RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Plan, prepare, boot every cell, run the scenarios, write reports");
  add_common(run_cmd, run.common);
  run_cmd->add_option("-j,--jobs", run.jobs, "Cells booted at once (default: number of CPUs)")
      ->check(CLI::Range(1, 256));
  run_cmd->add_option("-o,--out", run.out, "Directory for reports and console logs")->capture_default_str();
  auto* resume = run_cmd->add_option("--resume", run.resume,
                                     "Complete the interrupted run in DIR: run only its unfinished cells")
                     ->check(CLI::ExistingDirectory);
  run_cmd->get_option("--out")->excludes(resume);
  run_cmd->add_option("--rerun-failures", run.rerun_failures,
                      "Run each failed scenario again, up to N times, in a fresh boot of its cell; one that "
                      "passes is FLAKY")
      ->check(CLI::Range(0, 100));
  run_cmd->add_option("--accel", run.accel,
                      "auto: KVM for cells the host's arch and CPU can give, TCG for the rest; or tcg, or kvm "
                      "(a cell KVM cannot give is then an error)")
      ->check(CLI::IsMember({"auto", "tcg", "kvm"}))
      ->capture_default_str();
  run_cmd->add_flag("--strace-failures", run.strace_failures,
                    "With --rerun-failures: the last attempt of a failure runs under Debian's strace -f (as "
                    "repro --strace), its trace kept with the attempt");
  run_cmd->add_flag("--refresh-kernels", run.refresh_kernels,
                    "Resolve Debian kernel packages again instead of reusing the recorded versions");
  run_cmd->add_option("--qemu-dir", run.qemu_dir, "Directory holding the qemu-system-* programs to use")
      ->group("");

  cli::ExecOptions ex;
  auto* exec_cmd = app.add_subcommand(
      "exec", "Run a program in real guests: one cell passes its output and exit status through; several "
              "cells prefix each line with the cell and end with a table and reports");
  exec_cmd->add_option("--matrix", ex.common.matrix, "Matrix file (default: <root>/matrix.yaml)");
  exec_cmd->add_option("--cell", ex.common.cells,
                       "Cells whose id matches this glob (repeatable; default: every cell of the program's arch)");
  exec_cmd->add_option("-j,--jobs", ex.jobs, "Cells booted at once (default: number of CPUs)")
      ->check(CLI::Range(1, 256));
  exec_cmd->add_option("-o,--out", ex.out,
                       "Directory for reports and each cell's stdout, stderr and console log "
                       "(default: none for one cell, archmatrix-out for several)");
  exec_cmd->add_option("--timeout", ex.timeout_s, "Kill the program after S seconds (exit status 124)")
      ->check(CLI::PositiveNumber);
  exec_cmd->add_option("--env", ex.env, "Add K=V to the program's environment (repeatable)")
      ->check([](const std::string& s) { return s.find('=') == std::string::npos || s[0] == '=' ? "expected K=V" : ""; });
  exec_cmd->add_option("--lib", ex.lib_dirs,
                       "A directory of a dynamic program's own shared libraries, searched first (repeatable)")
      ->type_name("DIR");
  exec_cmd->add_option("--package", ex.packages,
                       "A Debian package of the target arch whose libraries the program needs (repeatable)")
      ->type_name("NAME");
  exec_cmd->add_flag("--root", ex.root_user, "Run the program as root (default: uid 65534)");
  exec_cmd->add_flag("!--no-snapshot", ex.snapshots,
                     "Boot every guest cold instead of restoring its cell's saved ready state");
  add_gdb_option(exec_cmd, ex.gdb);
  exec_cmd->add_option("--accel", ex.accel, "auto, tcg or kvm, as for run")
      ->check(CLI::IsMember({"auto", "tcg", "kvm"}))
      ->capture_default_str();
  add_kernel_gdb_option(exec_cmd, ex.kernel_gdb);
  exec_cmd->add_flag("--strace", ex.strace,
                     "Run the program under Debian's strace -f of the target arch; the trace goes to "
                     "<out>/cells/<id>/strace.txt, or ./archmatrix-strace/<id>.txt without --out");
  exec_cmd->add_flag("!--no-cores", ex.cores,
                     "Leave core files in the guest (default: a program that dumps core has it brought back, "
                     "with the binary and libraries gdb needs)");
  exec_cmd->add_option("--cores", ex.cores_dir,
                       "Where core files go (default: <out>/cells/<id>/cores, or ./archmatrix-cores/<id> "
                       "without --out)")
      ->type_name("DIR");
  exec_cmd->add_flag("-v,--verbose", ex.verbose, "Progress on stderr even when it is not a terminal");
  exec_cmd->add_option("--put", ex.puts,
                       "Copy a host file or directory into the guest before the program runs, at DST "
                       "(default: /tmp/<its name>) (repeatable)")
      ->type_name("SRC[:DST]");
  exec_cmd->add_option("--get", ex.gets,
                       "Bring this guest file back after the program ends: into the current directory, or "
                       "<out>/cells/<id>/files/ when there are reports (repeatable)")
      ->type_name("GUESTPATH");
  exec_cmd->add_option("--qemu-dir", ex.qemu_dir, "Directory holding the qemu-system-* programs to use")->group("");
  exec_cmd->add_option("program", ex.program, "The program (an ELF of the cells' architecture, static or dynamic)")->required();
  exec_cmd->add_option("args", ex.args, "Its arguments (after --)");
  exec_cmd->positionals_at_end();

  cli::BundleOptions bundle;
  auto* bundle_cmd = app.add_subcommand(
      "bundle", "Write a directory that boots a cell with QEMU alone: kernel, initramfs, run.sh, README.txt, "
                "SHA256SUMS");
  add_project(bundle_cmd, bundle.common);
  bundle_cmd->add_option("-o,--out", bundle.out, "The directory to write (new or empty)")->required();
  bundle_cmd->add_flag("--tar", bundle.tar, "Write DIR.tar.gz instead of DIR");
  bundle_cmd->add_flag("-v,--verbose", bundle.verbose, "Progress on stderr even when it is not a terminal");
  bundle_cmd->add_option("cell", bundle.cell, "The cell id, as reports name it (aarch64-16k-6.12)")->required();
  bundle_cmd->add_option("scenario", bundle.scenario, "Only this scenario (default: every one the cell runs)");

  cli::ReproOptions repro;
  auto* repro_cmd = app.add_subcommand(
      "repro", "Run one scenario of one cell, its output live, judged as run judges it (after a red cell in a report)");
  add_project(repro_cmd, repro.common);
  repro_cmd->add_option("-o,--out", repro.out, "Directory for the reports, output and console log (default: none)");
  repro_cmd->add_option("--from", repro.from,
                        "A report (DIR or DIR/report.json): refuse unless the cache still holds the kernel it ran "
                        "the cell on");
  repro_cmd->add_flag("--strace", repro.strace, "Run the scenario under Debian's strace -f of the target arch");
  add_gdb_option(repro_cmd, repro.gdb);
  add_kernel_gdb_option(repro_cmd, repro.kernel_gdb);
  repro_cmd->add_flag("--shell", repro.shell,
                      "Then open the cell's shell (as `shell CELL`) in the same guest, /tmp as the scenario left it");
  repro_cmd->add_flag("!--no-cores", repro.cores, "Leave core files in the guest");
  repro_cmd->add_option("--cores", repro.cores_dir, "Where core files go")->type_name("DIR");
  repro_cmd->add_flag("!--no-snapshot", repro.snapshots, "Boot the guest cold instead of restoring it");
  repro_cmd->add_flag("-v,--verbose", repro.verbose, "Progress on stderr even when it is not a terminal");
  repro_cmd->add_option("--qemu-dir", repro.qemu_dir, "Directory holding the qemu-system-* programs to use")->group("");
  repro_cmd->add_option("cell", repro.cell, "The cell id, as reports name it (aarch64-16k-6.12)")->required();
  repro_cmd->add_option("scenario", repro.target, "SCENARIO or SCENARIO/CHECK")->required();

  cli::ShellOptions shell;
  auto* shell_cmd = app.add_subcommand(
      "shell", "An interactive shell (busybox) in a cell's guest on this terminal; leave with exit, Ctrl-D or Ctrl-]");
  add_project(shell_cmd, shell.common);
  one_per_use(shell_cmd->add_option("--program", shell.programs,
                                    "A program of yours to have in PATH (/archmatrix/exec), with its libraries "
                                    "(repeatable)"))
      ->type_name("FILE");
  one_per_use(shell_cmd->add_option("--lib", shell.lib_dirs, "A directory of --program's shared libraries (repeatable)"))
      ->type_name("DIR");
  shell_cmd->add_flag("--nobody", shell.nobody, "The shell runs as uid 65534, as scenarios do (default: root)");
  shell_cmd->add_flag("!--no-snapshot", shell.snapshots, "Boot the guest cold instead of restoring it");
  shell_cmd->add_flag("-v,--verbose", shell.verbose, "Progress on stderr even when it is not a terminal");
  shell_cmd->add_option("--qemu-dir", shell.qemu_dir, "Directory holding the qemu-system-* programs to use")->group("");
  shell_cmd->add_option("cell", shell.cell, "The cell id (aarch64-16k-6.12)")->required();

  cli::CommonOptions list;
  auto* list_cmd = app.add_subcommand("list", "Show the planned cells and scenarios without booting anything");
  add_common(list_cmd, list);

  cli::KernelsOptions kernels;
  auto* kernels_cmd = app.add_subcommand("kernels", "The kernel cache: list, build or clean it");
  kernels_cmd->require_subcommand(1);
  auto* k_list = kernels_cmd->add_subcommand("list", "Every recipe in kernels/, the cells using it, and its cache state");
  add_common(k_list, kernels.common);
  auto* k_build = kernels_cmd->add_subcommand("build", "Download and build kernels into the cache without booting");
  add_common(k_build, kernels.common);
  k_build->add_option("recipes", kernels.patterns, "Recipe id globs (default: the recipes the matrix uses)");
  k_build->add_option("-j,--jobs", kernels.jobs, "Kernel builds at once (default: number of CPUs)")
      ->check(CLI::Range(1, 256));
  k_build->add_flag("--refresh", kernels.refresh, "Resolve the Debian packages again (a newer version is a new key)");
  auto* k_clean = kernels_cmd->add_subcommand(
      "clean", "Remove what can be regenerated: object trees, unpacked sources, unreferenced entries");
  k_clean->add_flag("--all", kernels.all, "Remove every kernel, source, object tree and apt state in the cache");

  int report_status = -1;  // set only when diff or merge ran
  cli::add_report_commands(app, report_status);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : util::kExitBadInput;
  }
  if (report_status >= 0) return report_status;

  try {
    for (auto* o : {&run.common, &list, &kernels.common, &ex.common, &repro.common, &shell.common, &bundle.common}) {
      if (o->root.empty()) o->root = data;
      if (o->matrix.empty()) o->matrix = o->root / "matrix.yaml";
    }
    if (ex.jobs == 0) ex.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (run.jobs == 0) run.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (!run.resume.empty()) run.out = run.resume;
    if (run.strace_failures && run.rerun_failures < 1)
      throw util::Error("--strace-failures needs --rerun-failures N (N >= 1): it is the last rerun",
                        util::kExitBadInput);
    if (*run_cmd) return cli::run_run(run);
    if (*exec_cmd) return cli::run_exec(ex);
    if (*repro_cmd) return cli::run_repro(repro);
    if (*bundle_cmd) return cli::run_bundle(bundle);
    if (*shell_cmd) return cli::run_shell(shell);
    if (*kernels_cmd) {
      kernels.action = *k_list ? "list" : *k_build ? "build" : "clean";
      return cli::run_kernels(kernels);
    }
    return cli::run_list(list);
  } catch (const util::Error& e) {
    std::cerr << "archmatrix: " << e.what() << "\n";
    return e.exit_status();
  } catch (const std::exception& e) {
    std::cerr << "archmatrix: internal error: " << e.what() << "\n";
    return util::kExitHostError;
  }
}
