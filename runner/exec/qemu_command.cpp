#include "exec/qemu_command.h"

#include <array>

namespace archmatrix::exec {

namespace {

struct QemuArch {
  util::Arch arch;
  const char* binary;
  const char* machine;
  const char* cpu;
  const char* console;
};

// -cpu max,pauth-impdef=on on aarch64: QEMU's architected pointer
// authentication algorithm dominates a TCG boot (5.7 s vs 2.4 s to /init for a
// Debian kernel, measured); the impdef algorithm keeps the feature, cheaply.
// armhf: cortex-a15 has LPAE and virtualization extensions that armmp kernels
// expect; highmem=off keeps all RAM below 4 GiB for non-LPAE kernels.
constexpr std::array<QemuArch, 3> kTable{{
    {util::Arch::aarch64, "qemu-system-aarch64", "virt", "max,pauth-impdef=on", "ttyAMA0"},
    {util::Arch::armhf, "qemu-system-arm", "virt,highmem=off", "cortex-a15", "ttyAMA0"},
    {util::Arch::x86_64, "qemu-system-x86_64", "q35", "max", "ttyS0"},
}};

const QemuArch& row(util::Arch a) {
  for (const auto& r : kTable)
    if (r.arch == a) return r;
  return kTable[0];
}

}  // namespace

std::string kernel_cmdline(const plan::Cell& cell) {
  // panic=-1 reboots at once on a panic, and QEMU's -no-reboot turns that into
  // QEMU exiting; oops=panic makes an oops in a scenario end the guest too, so
  // a crash is always a CRASH and never a hang.
  std::string s = std::string("console=") + row(cell.arch).console + " panic=-1 oops=panic quiet";
  if (cell.kernel)
    for (const auto& a : cell.kernel->cmdline) s += " " + a;
  return s;
}

std::vector<std::string> qemu_argv(const plan::Cell& cell, const QemuInputs& in) {
  const QemuArch& r = row(cell.arch);
  const bool kvm = in.accel == "kvm";
  std::string cpu = kvm ? "host" : r.cpu;
  if (cell.arch == util::Arch::x86_64) {
    // QEMU's max CPU (and a host CPU with it) offers LA57, and Debian's kernel
    // then runs 5-level paging (56-bit user VA); a 4-level cell takes the
    // feature away from the CPU.
    auto it = cell.axes.find("paging");
    if (it == cell.axes.end() || it->second != "5level") cpu += ",la57=off";
  }
  const std::string binary = in.qemu_dir.empty() ? std::string(r.binary)
                                                 : (std::filesystem::path(in.qemu_dir) / r.binary).string();
  return {binary,
          "-accel", kvm ? "kvm" : "tcg",
          "-M", r.machine,
          "-cpu", cpu,
          "-m", std::to_string(cell.memory_mib),
          "-smp", std::to_string(cell.cpus),
          "-nodefaults", "-no-user-config", "-display", "none",
          "-serial", "stdio",
          "-no-reboot",
          "-kernel", in.kernel.string(),
          "-initrd", in.initrd.string(),
          "-append", kernel_cmdline(cell)};
}

}  // namespace archmatrix::exec
