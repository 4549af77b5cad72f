#pragma once
// Which accelerator a cell's QEMU uses: KVM where the host can give the cell
// what its axes say, TCG everywhere else. The decision is a pure function of
// the cell and of what the host is (probed once), so it is tested without a
// KVM host; the guest's facts are checked against the cell either way.

#include <set>
#include <string>

#include "plan/plan.h"
#include "util/arch.h"

namespace archmatrix::exec {

/// What the host can do, as far as the choice needs it.
struct HostAccel {
  util::Arch arch = util::Arch::x86_64;
  bool kvm = false;         ///< /dev/kvm opens read-write
  std::string kvm_why_not;  ///< when not: "/dev/kvm: No such file or directory"
  bool la57 = false;        ///< x86_64: the CPU has 5-level paging (cpuinfo flag la57)
  /// x86_64: the CPU says it can virtualize (cpuinfo flag vmx or svm). A
  /// /dev/kvm that opens is not enough: on this project's CI machine it
  /// opens and creates VMs, and QEMU then aborts setting the first MSRs.
  bool virt_flags = false;
  /// aarch64: the translation granules (KiB) the CPU supports for a guest;
  /// empty when unknown (then only 4K is assumed, as every arm64 CPU has it).
  std::set<int> granules_kib;
};

/// Probes this machine: its arch (uname), /dev/kvm, /proc/cpuinfo.
/// ARCHMATRIX_ACCEL_HOST=tcg makes it say "no KVM" whatever the machine has.
HostAccel probe_host_accel();

struct AccelChoice {
  std::string accel;  ///< "kvm" or "tcg"
  std::string why;    ///< one line for the report
};

/// `requested`: "auto", "tcg" or "kvm". "kvm" that the host cannot give the
/// cell is an AccelChoice with accel "" and the reason (the caller refuses it).
AccelChoice choose_accel(const plan::Cell& cell, const HostAccel& host, const std::string& requested);

}  // namespace archmatrix::exec
