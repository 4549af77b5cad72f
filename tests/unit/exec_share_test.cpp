// exec's shares and their pure or local parts: the QEMU devices of a shared
// directory (virtio-9p, read-only, QEMU's comma escape) and the module
// decompression that gives a Debian kernel its 9p client (argv only, any
// file name; a failing tool is an error, not an empty module).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "guest/guest.h"
#include "prepare/kernel_modules.h"
#include "util/error.h"
#include "util/fs.h"

namespace archmatrix {
namespace {

namespace fs = std::filesystem;

TEST(GuestShare, PciAndMmioDevicesAreReadOnly9p) {
  const auto pci = guest::share_qemu_args("pci", {"/work/tree", "amcwd"}, 0);
  const std::vector<std::string> want_pci{"-fsdev", "local,id=amfs0,path=/work/tree,readonly=on,security_model=none",
                                          "-device", "virtio-9p-pci,fsdev=amfs0,mount_tag=amcwd"};
  EXPECT_EQ(pci, want_pci);
  const auto mmio = guest::share_qemu_args("mmio", {"/w", "t"}, 2);
  ASSERT_EQ(mmio.size(), 4u);
  EXPECT_EQ(mmio[1], "local,id=amfs2,path=/w,readonly=on,security_model=none");
  EXPECT_EQ(mmio[3], "virtio-9p-device,fsdev=amfs2,mount_tag=t");
}

TEST(GuestShare, ACommaInThePathIsEscapedSoItCannotAddOptions) {
  const auto a = guest::share_qemu_args("pci", {"/a,readonly=off,b", "amcwd"}, 0);
  EXPECT_EQ(a[1], "local,id=amfs0,path=/a,,readonly=off,,b,readonly=on,security_model=none");
}

class ModuleDecompression : public ::testing::TestWithParam<const char*> {};

TEST_P(ModuleDecompression, AnyFileNameComesOutWithTheSameBytes) {
  const std::string tool = GetParam();
  if (std::system(("command -v " + tool + " >/dev/null").c_str()) != 0) GTEST_SKIP() << "no " << tool;
  char tmpl[] = "/tmp/am-modules-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  std::string bytes = std::string("\x7f" "ELF\0\x01", 6);
  for (int i = 0; i < 5000; ++i) bytes += static_cast<char>(i * 31);
  // A name that a command line built as text would break on: quotes, $(...), spaces.
  const fs::path plain = dir / "9p \"$(touch pwned)\" 'x'.ko";
  std::ofstream(plain, std::ios::binary) << bytes;
  const std::string ext = tool == "xz" ? ".xz" : tool == "zstd" ? ".zst" : ".gz";
  ASSERT_EQ(std::system((tool + " -q -k -f -- '" + dir.string() + "/9p \"$(touch pwned)\" '\\''x'\\''.ko'").c_str()), 0);
  const fs::path packed = plain.string() + ext;
  ASSERT_TRUE(fs::exists(packed));
  const fs::path out = dir / "out $(x).ko";
  prepare::decompress_module(packed, out);
  EXPECT_EQ(util::read_file(out), bytes);
  EXPECT_FALSE(fs::exists(out.string() + ext)) << "the working copy is left behind";
  fs::create_directories(dir / "pkg");
  std::ofstream(dir / "pkg" / "bad.ko.xz") << "not xz";
  EXPECT_THROW(prepare::decompress_module(dir / "pkg" / "bad.ko.xz", dir / "bad.ko"), util::Error);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Tools, ModuleDecompression, ::testing::Values("xz", "zstd", "gzip"));

}  // namespace
}  // namespace archmatrix
