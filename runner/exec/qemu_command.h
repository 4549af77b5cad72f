#pragma once
// The QEMU command line of a cell. Per-arch differences are a data table
// (binary, machine, CPU, console), not branches; the argv is recorded in the
// report so any cell can be repeated by hand.

#include <filesystem>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace archmatrix::exec {

struct QemuInputs {
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::string qemu_dir;  ///< empty: find qemu-system-* in PATH; else this directory (tests' fake QEMU)
  std::string accel = "tcg";  ///< "kvm": -accel kvm -cpu host (exec/accel.h decides)
};

/// The complete argv (argv[0] is the program name or path).
std::vector<std::string> qemu_argv(const plan::Cell& cell, const QemuInputs& in);

/// The kernel command line alone (also part of qemu_argv).
std::string kernel_cmdline(const plan::Cell& cell);

}  // namespace archmatrix::exec
