// exec/accel.h: which cells get KVM, and why the others get TCG.

#include "exec/accel.h"

#include <gtest/gtest.h>

#include "exec/qemu_command.h"

namespace archmatrix::exec {
namespace {

plan::Cell cell(util::Arch arch, config::AxisValues axes = {}) {
  plan::Cell c;
  c.id = "c";
  c.arch = arch;
  c.axes = std::move(axes);
  c.memory_mib = 1024;
  c.cpus = 1;
  return c;
}

HostAccel kvm_x86() {
  HostAccel h;
  h.arch = util::Arch::x86_64;
  h.kvm = true;
  h.virt_flags = true;
  return h;
}

TEST(Accel, KvmWhereTheHostGivesTheCellItsAxes) {
  const auto c = choose_accel(cell(util::Arch::x86_64, {{"release", "6.1"}}), kvm_x86(), "auto");
  EXPECT_EQ(c.accel, "kvm");
  auto five = kvm_x86();
  five.la57 = true;
  EXPECT_EQ(choose_accel(cell(util::Arch::x86_64, {{"paging", "5level"}}), five, "auto").accel, "kvm");
}

TEST(Accel, TcgWithTheReasonEverywhereElse) {
  auto h = kvm_x86();
  EXPECT_EQ(choose_accel(cell(util::Arch::aarch64), h, "auto").why, "TCG: a guest of aarch64 on a x86_64 host");
  EXPECT_EQ(choose_accel(cell(util::Arch::x86_64, {{"paging", "5level"}}), h, "auto").why,
            "TCG: 5-level paging needs a host CPU with la57, and this one has none");
  EXPECT_EQ(choose_accel(cell(util::Arch::x86_64), h, "tcg").why, "TCG: asked for (--accel tcg)");
  h.virt_flags = false;  // this project's CI machine: /dev/kvm opens, QEMU aborts
  EXPECT_EQ(choose_accel(cell(util::Arch::x86_64), h, "auto").accel, "tcg");
  h.kvm = false;
  h.kvm_why_not = "/dev/kvm: No such file or directory";
  EXPECT_EQ(choose_accel(cell(util::Arch::x86_64), h, "auto").why, "TCG: /dev/kvm: No such file or directory");

  HostAccel arm;
  arm.arch = util::Arch::aarch64;
  arm.kvm = true;
  arm.granules_kib = {4, 64};
  EXPECT_EQ(choose_accel(cell(util::Arch::aarch64, {{"page_size", "4K"}}), arm, "auto").accel, "kvm");
  EXPECT_EQ(choose_accel(cell(util::Arch::aarch64, {{"page_size", "65536"}}), arm, "auto").accel, "kvm");
  EXPECT_EQ(choose_accel(cell(util::Arch::aarch64, {{"page_size", "16K"}}), arm, "auto").why,
            "TCG: 16K pages need a host CPU known to support that granule");
}

TEST(Accel, KvmAskedForButImpossibleIsRefusedWithTheReason) {
  const auto c = choose_accel(cell(util::Arch::aarch64), kvm_x86(), "kvm");
  EXPECT_EQ(c.accel, "");
  EXPECT_EQ(c.why, "a guest of aarch64 on a x86_64 host");
}

TEST(Accel, TheCommandLineNamesTheAccelerator) {
  const auto c = cell(util::Arch::x86_64);
  const auto tcg = qemu_argv(c, {"k", "i", "", "tcg"});
  const auto kvm = qemu_argv(c, {"k", "i", "", "kvm"});
  const auto after = [](const std::vector<std::string>& v, const std::string& o) {
    for (std::size_t i = 0; i + 1 < v.size(); ++i)
      if (v[i] == o) return v[i + 1];
    return std::string();
  };
  EXPECT_EQ(after(tcg, "-accel"), "tcg");
  EXPECT_EQ(after(tcg, "-cpu"), "max,la57=off");
  EXPECT_EQ(after(kvm, "-accel"), "kvm");
  EXPECT_EQ(after(kvm, "-cpu"), "host,la57=off");
}

}  // namespace
}  // namespace archmatrix::exec
