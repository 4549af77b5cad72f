// `archmatrix bundle CELL [SCENARIO] --out DIR [--tar]`: a directory that
// reproduces a cell on another machine with nothing of archmatrix but QEMU:
// the kernel, the initramfs `run` would boot (agent, scenario binaries and
// their libraries), run.sh with the exact QEMU command on paths relative to
// the bundle, README.txt saying what the cell is and what to expect, and
// SHA256SUMS. The agent is told to `echo` (docs/protocol.md), so the
// scenarios' output and results are plain lines on the console.

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/kernels.h"
#include "cli/named_target.h"
#include "cli/progress.h"
#include "cli/scenario_binaries.h"
#include "cli/utc_time.h"
#include "exec/qemu_command.h"
#include "plan/plan.h"
#include "prepare/cell_image.h"
#include "prepare/kernel_image.h"
#include "util/arch.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;

namespace {

std::string debian_qemu_package(util::Arch a) {
  return a == util::Arch::x86_64 ? "qemu-system-x86" : "qemu-system-arm";
}

std::string run_sh(const plan::Cell& cell, const std::vector<std::string>& argv) {
  const std::string cmd = util::quote_argv(argv);
  return fmt::format(R"SH(#!/bin/sh
# Boots archmatrix cell {id} (README.txt says what it is and what to expect).
# Needs only QEMU: Debian's {pkg}. Extra QEMU options go after run.sh, e.g.
# `sh run.sh -s -S` waits for gdb-multiarch on port 1234.
cd "$(dirname "$0")" || exit 1
command -v {qemu} >/dev/null 2>&1 || {{ echo "run.sh: {qemu} is not installed (Debian: apt-get install {pkg})" >&2; exit 127; }}
exec {cmd} "$@"
)SH",
                     fmt::arg("id", cell.id), fmt::arg("pkg", debian_qemu_package(cell.arch)),
                     fmt::arg("qemu", argv.front()), fmt::arg("cmd", cmd));
}

// What the matrix expects of a check (or a scenario without checks) on the
// cell: the first xfail rule that holds on its axes, in words. Rules over
// facts are unknown here (no guest has reported them), so they are named.
std::string expectation_text(const std::vector<config::Expectation>& list, const plan::Cell& cell) {
  const auto m = plan::match_expectation(list, "xfail", cell, nullptr);
  if (m.match) return fmt::format("expected to FAIL here ({}): {}", m.match->when_text, plan::expectation_reason(*m.match));
  if (list.empty()) return "expected to PASS";
  std::string where;
  for (const auto& e : list) where += (where.empty() ? "" : ", or where ") + e.when_text;
  return "expected to PASS by this cell's axes; expected to FAIL where " + where +
         " (where that is a fact, the guest decides)";
}

std::string readme(const plan::Cell& cell, const prepare::KernelArtifact& k, const std::vector<std::string>& argv,
                   const std::vector<const plan::PlannedScenario*>& scenarios, const std::string& kernel_file,
                   const CommonOptions& common) {
  std::string axes;
  for (const auto& [a, v] : cell.axes) axes += (axes.empty() ? "" : ", ") + a + "=" + v;
  std::string out = fmt::format(
      "archmatrix bundle: cell {id}\n"
      "made by archmatrix {ver} at {at} from {matrix}\n\n"
      "THE CELL\n"
      "  arch:    {arch}\n"
      "  axes:    {axes}\n"
      "  kernel:  {kfile}: recipe {recipe} ({source}{pkg}), release {release}\n"
      "           sha256 {sha}\n"
      "  guest:   {mem} MiB, {cpus} CPU(s); kernel command line: {cmdline}\n"
      "  QEMU:    {qemu} (Debian package {qpkg}); archmatrix's own runs used Debian 12's QEMU 7.2\n\n"
      "RUN IT\n"
      "  sh run.sh            (from anywhere; it changes to this directory)\n"
      "  sha256sum -c SHA256SUMS   checks that the files are the ones archmatrix wrote\n\n"
      "WHAT YOU WILL SEE\n"
      "  The kernel boots; the guest's /init (archmatrix's agent) reports its facts, then runs each\n"
      "  scenario below as archmatrix run does (own fresh /tmp, uid 65534 unless privileged, cwd /tmp)\n"
      "  and prints, for each:\n"
      "    <scenario>| <a line of its stdout>\n"
      "    <scenario>|2 <a line of its stderr>\n"
      "    archmatrix-agent: result <scenario>: exit <status> after <ms> ms   (or: signal <n>, timeout)\n"
      "  A scenario with checks prints `ARCHMATRIX-CHECK <check> PASS|FAIL <detail>` lines. Then the guest\n"
      "  powers off and QEMU exits. The `<<AM1|...>>` lines are archmatrix's framed records of the same\n"
      "  results (docs/protocol.md in archmatrix); ignore them.\n\n"
      "SCENARIOS\n",
      fmt::arg("id", cell.id), fmt::arg("ver", ARCHMATRIX_VERSION), fmt::arg("at", utc_now()),
      fmt::arg("matrix", common.matrix.string()), fmt::arg("arch", util::arch_info(cell.arch).name),
      fmt::arg("axes", axes), fmt::arg("kfile", kernel_file), fmt::arg("recipe", cell.kernel->id),
      fmt::arg("source", cell.kernel->source == config::KernelSource::debian ? "Debian " : "built from Debian's "),
      fmt::arg("pkg", k.package.empty() ? cell.kernel->package : k.package + " " + k.version),
      fmt::arg("release", k.release.empty() ? "-" : k.release), fmt::arg("sha", k.sha256),
      fmt::arg("mem", cell.memory_mib), fmt::arg("cpus", cell.cpus), fmt::arg("cmdline", exec::kernel_cmdline(cell)),
      fmt::arg("qemu", argv.front()), fmt::arg("qpkg", debian_qemu_package(cell.arch)));
  for (const auto* s : scenarios) {
    const auto& spec = *s->spec;
    std::string args;
    for (const auto& a : spec.args) args += " " + a;
    out += fmt::format("  {}: {}\n    runs as {}: /archmatrix/bin/{}{} (timeout {} s in archmatrix, scaled for TCG)\n",
                       spec.name, spec.summary, spec.privileged ? "root" : "uid 65534", spec.name, args, spec.timeout_s);
    if (!spec.seed.empty()) out += "    seed: " + spec.seed + "\n";
    if (spec.checks.empty()) out += "    " + expectation_text(spec.xfail, cell) + "\n";
    for (const auto& c : spec.checks)
      out += fmt::format("    check {}: {}\n      {}\n", c.name, c.summary, expectation_text(c.xfail, cell));
  }
  return out;
}

void write_text(const fs::path& p, const std::string& text, fs::perms perms) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  f.close();
  if (!f) throw util::Error("cannot write " + p.string(), util::kExitHostError);
  fs::permissions(p, perms);
}

}  // namespace

int run_bundle(const BundleOptions& o) {
  Progress progress(false);
  progress.set_silent(!o.verbose && !::isatty(2));
  const auto log = [&](std::string_view m) { progress.log(m); };
  const NamedTarget named = name_target(o.common, o.cell, o.scenario);
  const plan::Cell& cell = *named.cell;
  if (!named.check.empty())
    throw util::Error(fmt::format("bundle takes a scenario, not a check ({}): its guest runs the whole scenario",
                                  o.scenario),
                      util::kExitBadInput);
  const fs::path out = fs::absolute(o.out).lexically_normal();
  const fs::path final_path = o.tar ? fs::path(out.string() + ".tar.gz") : out;
  if (fs::exists(final_path) && !(fs::is_directory(final_path) && fs::is_empty(final_path)))
    throw util::Error(fmt::format("{} exists and is not an empty directory: bundle writes a new one",
                                  final_path.string()),
                      util::kExitBadInput);

  std::vector<const plan::PlannedScenario*> scenarios;
  for (const auto& s : cell.scenarios)
    if (!s.unsupported && (!named.scenario || s.spec->name == named.scenario->spec->name)) scenarios.push_back(&s);
  std::vector<const config::ScenarioSpec*> specs;
  for (const auto* s : scenarios) specs.push_back(s->spec);

  // The guest binaries and the kernel, as `run` prepares them.
  auto built = build_scenario_binaries(o.common.root, {{cell.arch, specs}}, log);
  if (auto e = built.errors.find(cell.arch); e != built.errors.end())
    throw util::Error(fmt::format("the guest binaries for {} did not build: {}", util::arch_info(cell.arch).name,
                                  e->second));
  const auto& bins = built.binaries.at(cell.arch);
  for (const auto& [name, f] : bins.failed)
    throw util::Error(fmt::format("scenario {} did not build: {}{}", name, f.message, f.log.empty() ? "" : "\n" + f.log));
  auto kernels = prepare_kernels({cell.kernel}, 1, false, progress);
  if (auto e = kernels.errors.find(cell.kernel->id); e != kernels.errors.end())
    throw util::Error(fmt::format("the kernel {} could not be prepared: {}", cell.kernel->id, e->second));
  const auto& kernel = kernels.kernels.at(cell.kernel->id);
  prepare::require_kernel_image(kernel.image, cell.arch);

  // Written beside the destination and moved into place when complete, so
  // an interrupted bundle never looks like a finished one.
  const fs::path staging_parent =
      out.parent_path() / fmt::format(".{}.partial-{}", out.filename().string(), ::getpid());
  const fs::path staging = staging_parent / out.filename();
  fs::remove_all(staging_parent);
  fs::create_directories(staging);
  try {
    const std::string kname = cell.arch == util::Arch::x86_64 ? "bzImage"
                              : cell.arch == util::Arch::armhf ? "zImage"
                                                               : "Image";
    fs::copy_file(kernel.image, staging / kname);
    std::vector<prepare::GuestScenario> guest;
    const double scale = named.everything.project.matrix.timeouts.tcg_scale;
    for (const auto* s : scenarios)
      guest.push_back({s->spec->name, static_cast<long>(s->spec->timeout_s * scale * 1000), s->spec->privileged,
                       s->spec->args});
    prepare::write_cell_image(cell, bins, guest, prepare::make_nonce(), staging, {1, true});
    // Relative paths: run.sh changes to the bundle's directory first.
    auto argv = exec::qemu_argv(cell, {kname, "initramfs.cpio", ""});
    write_text(staging / "run.sh", run_sh(cell, argv), fs::perms(0755));
    write_text(staging / "README.txt", readme(cell, kernel, argv, scenarios, kname, o.common), fs::perms(0644));
    std::string sums;
    for (const auto& f : {kname, std::string("initramfs.cpio"), std::string("run.sh"), std::string("README.txt")})
      sums += util::sha256_file(staging / f) + "  " + f + "\n";
    write_text(staging / "SHA256SUMS", sums, fs::perms(0644));

    if (o.tar) {
      const fs::path partial = final_path.string() + ".partial";
      const auto r = util::run_command({"tar", "--owner=0", "--group=0", "--numeric-owner", "-czf", partial.string(),
                                        "-C", staging_parent.string(), out.filename().string()});
      if (r.exit_code != 0) throw util::Error("tar failed writing " + partial.string() + ": " + r.output);
      fs::rename(partial, final_path);
    } else {
      if (fs::exists(out)) fs::remove(out);  // the empty directory checked above
      fs::rename(staging, out);
    }
    fs::remove_all(staging_parent);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(staging_parent, ec);
    throw;
  }
  std::cout << fmt::format("bundle of {} ({}) in {}\n", cell.id,
                           named.scenario ? named.scenario->spec->name : fmt::format("{} scenarios", scenarios.size()),
                           final_path.string());
  std::cout << (o.tar ? fmt::format("unpack it anywhere with QEMU and run: tar xzf {} && sh {}/run.sh\n",
                                    final_path.filename().string(), out.filename().string())
                      : fmt::format("run it anywhere with QEMU: sh {}/run.sh\n", final_path.string()));
  return util::kExitOk;
}

}  // namespace archmatrix::cli
