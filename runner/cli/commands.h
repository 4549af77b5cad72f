#pragma once
// The subcommands. main.cpp parses arguments into these options and calls them.

#include <filesystem>
#include <string>
#include <vector>

namespace archmatrix::cli {

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
  std::string qemu_dir;  ///< run qemu-system-* from here (tests' fake QEMU)
};

int run_list(const CommonOptions& o);
int run_run(const RunOptions& o);

}  // namespace archmatrix::cli
