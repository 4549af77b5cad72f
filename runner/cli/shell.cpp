// `archmatrix shell CELL`: an interactive shell in the cell's guest, on the
// terminal archmatrix was started from. The shell is Debian's busybox-static
// of the target arch (through the target-package cache), its applets linked
// into a directory in PATH; the scenarios' guest binaries are in
// /archmatrix/bin and --program files (with their libraries) in
// /archmatrix/exec, both in PATH too. It runs through exec's guest: the
// saved guest restored, the facts checked against the cell, the current
// directory shared read-only at the same path and the shell's cwd, and a
// pseudo-terminal in the guest with this terminal in raw mode (restored on
// every way out). `exit`, Ctrl-D or Ctrl-] leave.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/named_target.h"
#include "cli/progress.h"
#include "cli/project_loading.h"
#include "cli/scenario_binaries.h"
#include "prepare/dynamic_closure.h"
#include "prepare/program_payload.h"
#include "prepare/target_build.h"
#include "prepare/target_packages.h"
#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBusybox = "/archmatrix/shell/busybox";
constexpr const char* kApplets = "/tmp/.archmatrix-shell/bin";

}  // namespace

FollowUp shell_job(const plan::Cell& cell, const CommonOptions& common, const std::vector<fs::path>& programs,
                   const std::vector<fs::path>& lib_dirs, bool root, Progress& progress) {
  const auto log = [&](std::string_view m) { progress.log(m); };
  auto payload = std::make_shared<prepare::ProgramPayload>();
  const fs::path busybox =
      prepare::TargetPackages(util::cache_root(), log)
          .root(prepare::PackageRequest{"shell", "busybox-static", {"busybox-static"}}, cell.arch) /
      "bin/busybox";
  prepare::require_elf(busybox, cell.arch, true);
  payload->exec_path = kBusybox;
  payload->files.push_back({busybox, kBusybox, 0755});

  // The scenarios' binaries, as `run` builds them; one that does not build
  // is only missing from the shell.
  PerArch per_arch;
  for (const auto& s : cell.scenarios)
    if (!s.unsupported) per_arch[cell.arch].push_back(s.spec);
  try {
    auto built = build_scenario_binaries(common.root, per_arch, log);
    if (auto b = built.binaries.find(cell.arch); b != built.binaries.end()) {
      for (const auto& [name, host] : b->second.scenarios) {
        payload->files.push_back({host, "/archmatrix/bin/" + name, 0755});
        if (auto r = b->second.runtime.find(name); r != b->second.runtime.end())
          for (const auto& f : r->second) payload->files.push_back({f.host, "/" + f.guest_path, 0755});
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "archmatrix shell: warning: the scenarios' binaries are not in this shell: " << e.what() << "\n";
  }
  // --program: as exec sends a program, with its loader and libraries.
  for (const auto& p : programs) {
    prepare::LibrarySearch search{lib_dirs, {}, {}, prepare::target_library_dirs(cell.arch)};
    auto pp = prepare::program_payload(p, cell.arch, search);
    payload->files.insert(payload->files.end(), pp.files.begin(), pp.files.end());
  }
  FollowUp job;
  job.payload = std::move(payload);
  job.root = root;
  job.args = {"sh", "-c", fmt::format("mkdir -p {0} && {1} --install -s {0} && exec {1} sh -i", kApplets, kBusybox)};
  const char* term = std::getenv("TERM");
  job.env = {fmt::format("PATH={}:/archmatrix/bin:/archmatrix/exec:/usr/sbin:/usr/bin:/sbin:/bin", kApplets),
             fmt::format("TERM={}", term && *term ? term : "vt100"), fmt::format("PS1={}:\\w\\$ ", cell.id)};
  return job;
}

int run_shell(const ShellOptions& o) {
  Progress progress(false);
  progress.set_silent(!o.verbose && !::isatty(2));
  const NamedTarget named = name_target(o.common, o.cell, "");
  const plan::Cell& cell = *named.cell;
  auto job = shell_job(cell, o.common, o.programs, o.lib_dirs, !o.nobody, progress);

  ExecOptions ex;
  ex.common = o.common;
  ex.common.cells = {cell.id};
  ex.jobs = 1;
  ex.snapshots = o.snapshots;
  ex.program = job.payload->files.front().host;
  ex.payload = job.payload;
  ex.tty = true;
  ex.root_user = job.root;
  ex.verbose = o.verbose;
  ex.qemu_dir = o.qemu_dir;
  ex.args = job.args;
  ex.env = job.env;
  if (::isatty(2))
    std::cerr << fmt::format("archmatrix shell: {} (leave with exit, Ctrl-D or Ctrl-])\n", cell.id);
  return run_exec(ex);
}

}  // namespace archmatrix::cli
