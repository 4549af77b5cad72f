#include "exec/qemu_command.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_project.h"

namespace archmatrix::exec {
namespace {

std::string after(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

struct Cells {
  config::Project project = testing::small_project();
  plan::Plan plan = plan::make_plan(project);
};

TEST(QemuCommand, PerArchTable) {
  Cells c;
  const QemuInputs in{"/k/vmlinuz", "/c/initramfs.cpio", ""};
  auto arm = qemu_argv(c.plan.cells[0], in);
  EXPECT_EQ(arm[0], "qemu-system-aarch64");
  EXPECT_EQ(after(arm, "-M"), "virt");
  EXPECT_EQ(after(arm, "-cpu"), "max,pauth-impdef=on");
  EXPECT_EQ(after(arm, "-kernel"), "/k/vmlinuz");
  EXPECT_EQ(after(arm, "-initrd"), "/c/initramfs.cpio");
  EXPECT_EQ(after(arm, "-append"), "console=ttyAMA0 panic=-1 oops=panic quiet");
  auto x86 = qemu_argv(c.plan.cells[2], in);
  EXPECT_EQ(x86[0], "qemu-system-x86_64");
  EXPECT_EQ(after(x86, "-append").rfind("console=ttyS0 ", 0), 0u);
  // Never a network device, never a reboot loop.
  for (const auto& argv : {arm, x86}) {
    EXPECT_NE(std::find(argv.begin(), argv.end(), "-nodefaults"), argv.end());
    EXPECT_NE(std::find(argv.begin(), argv.end(), "-no-reboot"), argv.end());
    EXPECT_EQ(std::find(argv.begin(), argv.end(), "-netdev"), argv.end());
  }
}

TEST(QemuCommand, X86PagingAxisChoosesLa57) {
  Cells c;
  plan::Cell cell = c.plan.cells[2];
  EXPECT_EQ(after(qemu_argv(cell, {}), "-cpu"), "max,la57=off");
  cell.axes["paging"] = "5level";
  EXPECT_EQ(after(qemu_argv(cell, {}), "-cpu"), "max");
}

TEST(QemuCommand, ArmhfAndMemoryAndFakeQemuDir) {
  config::Project p = testing::small_project();
  config::MatrixEntry e;
  e.arch = util::Arch::armhf;
  e.memory_mib = 2048;
  p.matrix.entries = {e};
  p.kernels.push_back(testing::recipe("armmp", util::Arch::armhf, {{"release", {"6.1"}}, {"vmsplit", {"3G/1G"}}}));
  auto plan = plan::make_plan(p);
  auto argv = qemu_argv(plan.cells[0], {"k", "i", "/opt/fake"});
  EXPECT_EQ(argv[0], "/opt/fake/qemu-system-arm");
  EXPECT_EQ(after(argv, "-M"), "virt,highmem=off");
  EXPECT_EQ(after(argv, "-cpu"), "cortex-a15");
  EXPECT_EQ(after(argv, "-m"), "2048");
}

}  // namespace
}  // namespace archmatrix::exec
