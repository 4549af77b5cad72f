#pragma once
// Getting the kernels of a set of recipes into the cache (Debian downloads
// and source builds), shared by `run` and `kernels build`, and the
// `archmatrix kernels list|build|clean` subcommand.

#include <map>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/progress.h"
#include "config/model.h"
#include "prepare/debian_kernel.h"

namespace archmatrix::cli {

struct PreparedKernels {
  std::map<std::string, prepare::KernelArtifact> kernels;  ///< by recipe id
  std::map<std::string, std::string> errors;                ///< by recipe id: why it is missing
};

/// Downloads Debian kernels, then builds the built ones: at most `jobs`
/// builds at once, sharing the CPUs by load (make -j CPUs -l CPUs). A recipe that
/// fails is an entry in errors; the others still come.
PreparedKernels prepare_kernels(const std::vector<const config::KernelRecipe*>& recipes, int jobs, bool refresh,
                                Progress& progress);

struct KernelsOptions {
  CommonOptions common;
  std::string action;                 ///< list | build | clean
  std::vector<std::string> patterns;  ///< recipe id globs (build); empty: the matrix's
  int jobs = 0;
  bool refresh = false;
  bool all = false;  ///< clean: everything, not only what can be regenerated
};

int run_kernels(const KernelsOptions& o);

}  // namespace archmatrix::cli
