#include "cli/scenario_binaries.h"

#include <fmt/format.h>

#include <algorithm>

#include "prepare/apt_sources.h"
#include "prepare/source_package.h"
#include "prepare/target_packages.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/interrupt.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;

ScenarioBinaries build_scenario_binaries(const fs::path& root, PerArch per_arch, const Log& log) {
  ScenarioBinaries out;
  const fs::path cache = util::cache_root();
  prepare::TargetBuilder builder(root, cache, log);
  prepare::TargetPackages packages(cache, log);
  prepare::SourcePackageFetcher sources(cache, log);
  for (auto& [arch, list] : per_arch) {
    if (util::interrupted()) break;  // the cells are all NOTRUN now; run_run says so
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->name < b->name; });
    // A package apt does not know is bad input (exit 2); one that fails to
    // download fails its own scenario's build, like a compile error does.
    prepare::PackageRoots roots;
    prepare::SourceTrees trees;
    std::map<std::string, prepare::ScenarioBuildFailure> unfetched;
    std::vector<const config::ScenarioSpec*> buildable;
    for (const auto* s : list) {
      try {
        if (!s->packages.empty()) roots[s->name] = packages.root(*s, arch);
        // Source packages are arch-independent: fetched once, then cached.
        for (const auto& name : s->source_packages) trees[s->name].emplace_back(name, sources.fetch("bookworm", name).tree);
        buildable.push_back(s);
      } catch (const prepare::NoDebianMirror&) {
        throw;  // the host cannot download anything (exit 3)
      } catch (const std::exception& e) {
        if (const auto* u = dynamic_cast<const util::Error*>(&e); u && u->exit_status() == util::kExitBadInput) throw;
        unfetched[s->name] = {fmt::format("scenario {} did not build for {}: {}", s->name,
                                          util::arch_info(arch).name, e.what()),
                              {}};
        log(unfetched[s->name].message);
      }
    }
    try {
      auto bins = builder.build(arch, buildable, roots, trees);
      bins.failed.merge(unfetched);
      out.binaries[arch] = std::move(bins);
    } catch (const util::Error& e) {
      if (e.exit_status() == util::kExitBadInput) throw;  // a binary for the wrong guest: boot nothing
      out.errors[arch] = e.what();
      log(e.what());
    } catch (const std::exception& e) {
      out.errors[arch] = e.what();
      log(e.what());
    }
  }
  return out;
}

}  // namespace archmatrix::cli
