#pragma once
// The subcommands. main.cpp parses arguments into these options and calls them.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "prepare/program_payload.h"

namespace archmatrix::cli {

class Progress;

struct CommonOptions {
  std::filesystem::path root;    ///< project data: scenarios/, kernels/, images/, cmake/
  std::filesystem::path matrix;  ///< empty: <root>/matrix.yaml
  std::vector<std::filesystem::path> scenario_dirs;  ///< extra packs (--scenarios)
  std::vector<std::string> cells;      ///< --cell globs
  std::vector<std::string> scenarios;  ///< --scenario names
  std::string shard;                   ///< "K/N": run only shard K of N
  std::filesystem::path balance_from;  ///< report.json whose cell durations balance the shards
};

struct RunOptions {
  CommonOptions common;
  int jobs = 0;  ///< 0: number of CPUs
  std::filesystem::path out = "archmatrix-out";
  bool refresh_kernels = false;
  std::filesystem::path resume;  ///< --resume DIR: complete the report in DIR
  int rerun_failures = 0;        ///< --rerun-failures N: attempts after the first for a failed scenario
  std::string accel = "auto";    ///< --accel auto|tcg|kvm (exec/accel.h)
  bool strace_failures = false;  ///< --strace-failures: the last of them under strace (as repro --strace)
  std::string qemu_dir;  ///< run qemu-system-* from here (tests' fake QEMU)
};

/// Set by `repro`: exec runs this scenario's guest binary (with its runtime
/// files) and judges its output as `run` does.
struct ScenarioTarget {
  std::string name;
  std::string check;  ///< "": every check of the scenario
};

/// A second job in the same guest after the program (repro --shell): an
/// interactive program on a pseudo-terminal, with its files, argv and env.
struct FollowUp {
  std::shared_ptr<const prepare::ProgramPayload> payload;
  std::vector<std::string> args;  ///< after argv[0] (the payload's exec_path)
  std::vector<std::string> env;
  bool root = true;
};

/// `archmatrix exec`: a program in cells' guests (docs/protocol.md, "Data channel").
struct ExecOptions {
  CommonOptions common;
  int jobs = 0;                  ///< cells booted at once; 0: number of CPUs
  std::filesystem::path out;     ///< reports and per-cell output; empty: none for one cell,
                                 ///< archmatrix-out for several
  bool forward_stdin = true;     ///< internal: only a single cell reads our stdin
  bool snapshots = true;         ///< restore each cell's saved ready state (--no-snapshot: boot)
  std::filesystem::path program;
  std::vector<std::string> args;
  std::vector<std::string> env;  ///< --env K=V
  std::vector<std::filesystem::path> lib_dirs;  ///< --lib: a dynamic program's libraries, searched first
  std::vector<std::string> packages;            ///< --package: Debian packages of the target arch, next
  double timeout_s = 0;          ///< 0: none
  bool root_user = false;        ///< run as root instead of uid 65534
  bool verbose = false;          ///< progress on stderr even when it is not a terminal
  std::string qemu_dir;
  std::vector<std::string> puts;  ///< --put SRC[:DST]: files or directories into the guest
  bool strace = false;                 ///< run the program under the target's strace -f
  /// --gdb: "" no; "wait": the program starts stopped under the target's
  /// gdbserver and the gdb-multiarch command is printed; "run": and started.
  std::string gdb;
  bool kernel_gdb = false;  ///< QEMU's gdbstub, the guest stopped at its first instruction (built kernels)
  bool cores = true;                   ///< bring back core files (--no-cores: leave them)
  std::filesystem::path cores_dir;     ///< --cores DIR: where they go, one subdirectory per cell
  std::shared_ptr<const ScenarioTarget> scenario;  ///< set by repro: judge as run does
  /// Set by repro and shell: the files to send and the path to run, instead
  /// of `program` and its closure (`program` still names the arch).
  std::shared_ptr<const prepare::ProgramPayload> payload;
  bool tty = false;  ///< set by shell: a pseudo-terminal in the guest, ours in raw mode, Ctrl-] leaves
  /// Set by run --strace-failures: the program's output goes only to `out`'s
  /// files and reports, nothing to our stdout or stderr, and no verdict is printed.
  bool quiet = false;
  std::string accel = "auto";  ///< --accel auto|tcg|kvm (exec/accel.h)
  std::shared_ptr<const FollowUp> then;  ///< set by repro --shell: run after the program, in its guest
  std::vector<std::string> gets;  ///< --get GUESTPATH: files back after the program, into
                                  ///< out/cells/<id>/files/, or the current directory without `out`
};

/// `archmatrix repro CELL SCENARIO[/CHECK]`: one scenario of one cell, its
/// output live, judged as `run` judges it (exec's guest, channel and options).
struct ReproOptions {
  CommonOptions common;
  std::string cell;
  std::string target;  ///< SCENARIO or SCENARIO/CHECK
  std::filesystem::path out;
  std::filesystem::path from;  ///< --from DIR or DIR/report.json: the kernel that report ran
  bool strace = false, cores = true, snapshots = true, verbose = false;
  std::string gdb;  ///< as ExecOptions::gdb
  bool shell = false;  ///< --shell: the cell's shell in the same guest after the scenario
  bool kernel_gdb = false;  ///< as ExecOptions::kernel_gdb
  std::filesystem::path cores_dir;
  std::string qemu_dir;
};

/// `archmatrix shell CELL`: an interactive shell (Debian's busybox-static of
/// the target arch) in the cell's guest, on this terminal.
struct ShellOptions {
  CommonOptions common;
  std::string cell;
  std::vector<std::filesystem::path> programs;  ///< --program: also in PATH, with their libraries
  std::vector<std::filesystem::path> lib_dirs;  ///< --lib for them
  bool nobody = false;                          ///< uid 65534 instead of root
  bool snapshots = true;
  bool verbose = false;
  std::string qemu_dir;
};

/// `archmatrix bundle CELL [SCENARIO] --out DIR [--tar]`: the cell as files
/// that boot with QEMU alone (kernel, initramfs, run.sh, README.txt, SHA256SUMS).
struct BundleOptions {
  CommonOptions common;
  std::string cell;
  std::string scenario;  ///< "": every scenario that runs on the cell
  std::filesystem::path out;
  bool tar = false;      ///< write DIR.tar.gz instead of DIR
  bool verbose = false;
};

int run_bundle(const BundleOptions& o);
int run_list(const CommonOptions& o);
int run_shell(const ShellOptions& o);
/// The shell of `shell CELL` as a job: busybox, the scenarios' binaries and
/// `programs` (with their libraries from `lib_dirs`), with its argv and env.
FollowUp shell_job(const plan::Cell& cell, const CommonOptions& common,
                   const std::vector<std::filesystem::path>& programs,
                   const std::vector<std::filesystem::path>& lib_dirs, bool root, Progress& progress);
int run_repro(const ReproOptions& o);
/// What repro runs: exec's options for the scenario's guest binary, judged
/// as `run` judges it. Throws util::Error for unknown names (bad input) and
/// a scenario that does not build.
ExecOptions repro_exec_options(const ReproOptions& o, Progress& progress);
/// Returns the program's exit status, or 124/125/126/130 (see exec.cpp).
int run_exec(const ExecOptions& o);
int run_run(const RunOptions& o);

}  // namespace archmatrix::cli
