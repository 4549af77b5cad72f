// Unpacking Debian packages of a target arch (prepare/target_packages.h):
// a real .deb made by dpkg-deb keeps its symlinks; a hand-made one whose
// data archive names a path outside the package is refused.

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <utility>
#include <vector>

#include "prepare/package_tree.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace archmatrix::prepare {
namespace {

namespace fs = std::filesystem;

class TargetPackagesDeb : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("archmatrix-debs-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

la_ssize_t append(archive*, void* out, const void* buf, std::size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// One member of a generated archive: a regular file with `data`, or a
// symlink to `symlink`, or a hard link to `hardlink` (carrying `data`, as a
// pax archive may).
struct Member {
  std::string name, data, symlink = "", hardlink = "";
};

// An archive (ar or tar) of the given members (symlinks and hard links: tar only).
std::string archive_of(bool ar, const std::vector<Member>& members) {
  std::string out;
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  if (ar) archive_write_set_format_ar_svr4(a.get());
  else archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);  // no zero padding after an ar archive's last member
  archive_write_open2(a.get(), &out, nullptr, append, nullptr, nullptr);
  for (const auto& m : members) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), m.name.c_str());
    archive_entry_set_perm(e.get(), 0644);
    if (!m.symlink.empty()) {
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_symlink(e.get(), m.symlink.c_str());
      archive_write_header(a.get(), e.get());
      continue;
    }
    archive_entry_set_filetype(e.get(), AE_IFREG);
    if (!m.hardlink.empty()) archive_entry_set_hardlink(e.get(), m.hardlink.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(m.data.size()));
    archive_write_header(a.get(), e.get());
    archive_write_data(a.get(), m.data.data(), m.data.size());
  }
  archive_write_close(a.get());
  return out;
}

// A .deb (ar: debian-binary, control.tar, data.tar) whose data archive holds members.
fs::path deb_of(const fs::path& deb, const std::vector<Member>& members) {
  std::ofstream(deb, std::ios::binary) << archive_of(
      true, {{"debian-binary", "2.0\n"}, {"control.tar", archive_of(false, {{"./control", "Package: evil\n"}})},
             {"data.tar", archive_of(false, members)}});
  return deb;
}

// A .deb whose data archive has `before` and then one file.
fs::path hand_made_deb(const fs::path& dir, const std::string& member, std::vector<Member> before = {}) {
  before.push_back({member, "escaped\n"});
  return deb_of(dir / "evil.deb", before);
}

std::string error_of(const fs::path& deb, const fs::path& dest) {
  try {
    extract_deb(deb, dest);
  } catch (const util::Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(TargetPackagesDeb, KeepsFilesAndSymlinksOfARealPackage) {
  const fs::path pkg = dir_ / "pkg";
  fs::create_directories(pkg / "DEBIAN");
  fs::create_directories(pkg / "usr/lib/aarch64-linux-gnu");
  fs::create_directories(pkg / "usr/include");
  std::ofstream(pkg / "DEBIAN/control") << "Package: libdemo2\nVersion: 2.0-1\nArchitecture: arm64\n"
                                           "Maintainer: Nobody <nobody@example.org>\nDescription: demo\n";
  std::ofstream(pkg / "usr/lib/aarch64-linux-gnu/libdemo.so.2.0") << "not really ELF\n";
  std::ofstream(pkg / "usr/include/demo.h") << "int demo(void);\n";
  fs::create_symlink("libdemo.so.2.0", pkg / "usr/lib/aarch64-linux-gnu/libdemo.so.2");
  const auto r = util::run_command({"dpkg-deb", "--root-owner-group", "--build", pkg.string(),
                                    (dir_ / "libdemo2.deb").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const fs::path out = dir_ / "out";
  extract_deb(dir_ / "libdemo2.deb", out);
  const fs::path lib = out / "usr/lib/aarch64-linux-gnu";
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(lib / "libdemo.so.2.0")));
  EXPECT_EQ(util::read_file(lib / "libdemo.so.2.0"), "not really ELF\n");
  ASSERT_TRUE(fs::is_symlink(fs::symlink_status(lib / "libdemo.so.2")));
  EXPECT_EQ(fs::read_symlink(lib / "libdemo.so.2"), "libdemo.so.2.0");
  EXPECT_EQ(util::read_file(out / "usr/include/demo.h"), "int demo(void);\n");
  EXPECT_FALSE(fs::exists(out / "DEBIAN"));  // the control archive is not the package's contents
}

TEST_F(TargetPackagesDeb, RefusesMembersOutsideThePackage) {
  const fs::path deb = hand_made_deb(dir_, "./usr/../../escaped");
  const std::string e = error_of(deb, dir_ / "out" / "root");
  EXPECT_NE(e.find("refusing member './usr/../../escaped'"), std::string::npos) << e;
  EXPECT_NE(e.find("'..'"), std::string::npos) << e;
  EXPECT_NE(e.find(deb.string()), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir_ / "out" / "escaped"));
  EXPECT_FALSE(fs::exists(dir_ / "escaped"));

  const std::string abs = error_of(hand_made_deb(dir_, (dir_ / "abs-escaped").string()), dir_ / "out2");
  EXPECT_NE(abs.find("an absolute path"), std::string::npos) << abs;
  EXPECT_FALSE(fs::exists(dir_ / "abs-escaped"));
}

TEST_F(TargetPackagesDeb, RefusesWritingThroughAPackagesSymlink) {
  fs::create_directories(dir_ / "elsewhere");
  const fs::path deb =
      hand_made_deb(dir_, "./usr/lib/x/evil", {{"./usr/lib/x", "", (dir_ / "elsewhere").string()}});
  const std::string e = error_of(deb, dir_ / "out");
  EXPECT_NE(e.find("written through the symlink usr/lib/x"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere" / "evil"));
}

// A hard link whose target runs through a symlink of the same archive
// (usr/lib/x -> a host directory, then usr/lib/y linked to usr/lib/x/victim
// and carrying data) must neither link to nor write into the host file.
TEST_F(TargetPackagesDeb, RefusesAHardLinkThroughAPackagesSymlink) {
  const fs::path victim_dir = dir_ / "victim-dir";
  fs::create_directories(victim_dir);
  std::ofstream(victim_dir / "victim") << "original\n";
  const fs::path deb = deb_of(dir_ / "evil.deb", {{"./usr/lib/x", "", victim_dir.string()},
                                                  {"./usr/lib/y", "overwritten\n", "", "./usr/lib/x/victim"}});
  const std::string e = error_of(deb, dir_ / "out");
  EXPECT_NE(e.find("refusing member 'usr/lib/y'"), std::string::npos) << e;
  EXPECT_NE(e.find("through the symlink usr/lib/x"), std::string::npos) << e;
  EXPECT_NE(e.find(deb.string()), std::string::npos) << e;
  EXPECT_EQ(util::read_file(victim_dir / "victim"), "original\n");
  EXPECT_EQ(fs::hard_link_count(victim_dir / "victim"), 1u);
  EXPECT_EQ(std::distance(fs::directory_iterator(victim_dir), fs::directory_iterator()), 1);
}

// A hard link to a symlink of the package links the symlink itself, never
// the file it points to; a hard link inside the package still works.
TEST_F(TargetPackagesDeb, HardLinksStayInsideThePackage) {
  const fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "original\n";
  const fs::path deb = deb_of(dir_ / "links.deb", {{"./usr/lib/a", "shared\n"},
                                                   {"./usr/lib/b", "", "", "./usr/lib/a"},
                                                   {"./usr/lib/s", "", victim.string()},
                                                   {"./usr/lib/t", "overwritten\n", "", "./usr/lib/s"}});
  const fs::path out = dir_ / "out";
  EXPECT_EQ(error_of(deb, out), "");
  EXPECT_EQ(util::read_file(victim), "original\n");
  EXPECT_EQ(fs::hard_link_count(victim), 1u);
  EXPECT_EQ(util::read_file(out / "usr/lib/b"), "shared\n");
  EXPECT_EQ(fs::hard_link_count(out / "usr/lib/a"), 2u);
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(out / "usr/lib/t")));
}

// Package A ships an absolute symlink to a (host) directory, package B a
// real file under the same path: joining them must not write into the
// directory the symlink points at.
TEST_F(TargetPackagesDeb, JoiningNeverWritesThroughAnEarlierPackagesSymlink) {
  const fs::path victim_dir = dir_ / "victim-dir";
  fs::create_directories(victim_dir);
  extract_deb(deb_of(dir_ / "a.deb", {{"./usr/lib/x", "", victim_dir.string()}}), dir_ / "a");
  extract_deb(deb_of(dir_ / "b.deb", {{"./usr/lib/x/libb.so", "b\n"}, {"./usr/lib/libc.so", "c\n"}}), dir_ / "b");
  fs::create_directories(dir_ / "root");
  join_into(dir_ / "a", dir_ / "root");
  std::string e;
  try {
    join_into(dir_ / "b", dir_ / "root");
  } catch (const util::Error& err) {
    e = err.what();
  }
  EXPECT_TRUE(fs::is_empty(victim_dir));
  EXPECT_NE(e.find("usr/lib/x"), std::string::npos) << e;
  EXPECT_NE(e.find("symlink"), std::string::npos) << e;
  EXPECT_NE(e.find((dir_ / "b").string()), std::string::npos) << e;
}

TEST_F(TargetPackagesDeb, JoinsFilesAndSymlinksOfSeveralPackages) {
  extract_deb(deb_of(dir_ / "a.deb", {{"./usr/lib/libd.so.2", "lib\n"}, {"./usr/share/doc/a/c", "first\n"}}),
              dir_ / "a");
  extract_deb(deb_of(dir_ / "b.deb", {{"./usr/lib/libd.so", "", "libd.so.2"}, {"./usr/share/doc/a/c", "second\n"}}),
              dir_ / "b");
  const fs::path root = dir_ / "root";
  fs::create_directories(root);
  join_into(dir_ / "a", root);
  join_into(dir_ / "b", root);
  EXPECT_EQ(util::read_file(root / "usr/lib/libd.so"), "lib\n");  // B's symlink resolves to A's file
  EXPECT_EQ(fs::hard_link_count(root / "usr/lib/libd.so.2"), 2u);
  EXPECT_EQ(util::read_file(root / "usr/share/doc/a/c"), "first\n");  // the first package's file stays
}

TEST_F(TargetPackagesDeb, NotADebianPackage) {
  std::ofstream(dir_ / "x.deb") << archive_of(true, {{"debian-binary", "2.0\n"}});
  const std::string e = error_of(dir_ / "x.deb", dir_ / "out");
  EXPECT_NE(e.find("no data.tar member"), std::string::npos) << e;
}

}  // namespace
}  // namespace archmatrix::prepare
