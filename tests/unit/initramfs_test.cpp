#include "prepare/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "util/error.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace archmatrix::prepare {
namespace {

namespace fs = std::filesystem;

// One entry as libarchive's reader sees it.
struct ReadEntry {
  std::string path;
  unsigned type = 0, perm = 0;
  la_int64_t uid = -1, gid = -1, mtime = -1, ino = -1;
  unsigned rdev_major = 0, rdev_minor = 0;
  std::string symlink, data;
};

std::vector<ReadEntry> read_with_libarchive(const fs::path& file, int* format = nullptr) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_cpio(a.get());
  EXPECT_EQ(archive_read_open_filename(a.get(), file.c_str(), 4096), ARCHIVE_OK) << archive_error_string(a.get());
  std::vector<ReadEntry> out;
  archive_entry* h = nullptr;
  while (archive_read_next_header(a.get(), &h) == ARCHIVE_OK) {
    ReadEntry e;
    e.path = archive_entry_pathname(h);
    e.type = static_cast<unsigned>(archive_entry_filetype(h));
    e.perm = static_cast<unsigned>(archive_entry_perm(h));
    e.uid = archive_entry_uid(h);
    e.gid = archive_entry_gid(h);
    e.mtime = archive_entry_mtime(h);
    e.ino = archive_entry_ino64(h);
    e.rdev_major = static_cast<unsigned>(archive_entry_rdevmajor(h));
    e.rdev_minor = static_cast<unsigned>(archive_entry_rdevminor(h));
    if (const char* t = archive_entry_symlink(h)) e.symlink = t;
    // A newc symlink's target is its data; the reader hands it over as the symlink.
    if (e.type == AE_IFREG) e.data.resize(static_cast<std::size_t>(archive_entry_size(h)));
    if (!e.data.empty()) {
      EXPECT_EQ(archive_read_data(a.get(), e.data.data(), e.data.size()), archive_entry_size(h)) << e.path;
    }
    out.push_back(e);
  }
  if (format) *format = archive_format(a.get());
  return out;
}

std::string run(const std::vector<std::string>& argv) {
  auto r = util::run_command(argv);
  EXPECT_EQ(r.exit_code, 0) << util::quote_argv(argv) << "\n" << r.output;
  return r.output;
}

class Initramfs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "am-initramfs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "agent") << "#!agent\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // What write_cell_image puts in, in the same shape.
  InitramfsBuilder sample() const {
    InitramfsBuilder b;
    b.add_directory("proc");
    b.add_char_device("dev/console", 5, 1, 0600);
    b.add_file("init", dir_ / "agent", 0755);
    b.add_bytes("archmatrix/plan", "nonce 0123456789abcdef\n", 0600);
    b.add_symlink("bin/sh", "/init");
    return b;
  }
  std::vector<std::string> leftovers() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) names.push_back(e.path().string());
    return names;
  }
  fs::path dir_;
};

TEST_F(Initramfs, RealCpioListsNamesInOrderParentsFirst) {
  sample().write(dir_ / "a.cpio");
  EXPECT_EQ(run({"cpio", "-it", "--quiet", "-F", (dir_ / "a.cpio").string()}),
            "proc\ndev\ndev/console\ninit\narchmatrix\narchmatrix/plan\nbin\nbin/sh\n");
}

TEST_F(Initramfs, RealCpioShowsModesOwnersDeviceAndSymlink) {
  sample().write(dir_ / "a.cpio");
  std::istringstream listing(run({"cpio", "-ivt", "--quiet", "-F", (dir_ / "a.cpio").string()}));
  std::map<std::string, std::string> by_name;  // name (before any " -> ") to the whole line
  for (std::string line; std::getline(listing, line);) {
    std::string name = line;
    if (const auto arrow = name.find(" -> "); arrow != std::string::npos) name.resize(arrow);
    by_name[name.substr(name.rfind(' ') + 1)] = line;
  }
  auto starts = [&](const std::string& name, const std::string& prefix) {
    EXPECT_EQ(by_name[name].rfind(prefix, 0), 0u) << name << ": " << by_name[name];
  };
  starts("proc", "drwxr-xr-x");
  starts("dev", "drwxr-xr-x");
  starts("dev/console", "crw-------");
  starts("init", "-rwxr-xr-x");
  starts("archmatrix/plan", "-rw-------");
  starts("bin/sh", "lrwxrwxrwx");
  EXPECT_NE(by_name["dev/console"].find(" 5,   1 "), std::string::npos) << by_name["dev/console"];
  EXPECT_NE(by_name["bin/sh"].find("bin/sh -> /init"), std::string::npos) << by_name["bin/sh"];
  for (const auto& [name, line] : by_name) {
    EXPECT_NE(line.find(" root     root "), std::string::npos) << line;
    EXPECT_NE(line.find(" 1970 "), std::string::npos) << line;
  }
  // And the contents, as GNU cpio extracts them.
  EXPECT_EQ(run({"cpio", "-i", "--quiet", "--to-stdout", "-F", (dir_ / "a.cpio").string(), "archmatrix/plan", "init"}),
            "#!agent\nnonce 0123456789abcdef\n");
}

TEST_F(Initramfs, LibarchiveReadsBackEveryField) {
  sample().write(dir_ / "a.cpio");
  int format = 0;
  const auto entries = read_with_libarchive(dir_ / "a.cpio", &format);
  EXPECT_EQ(format, ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);  // "newc", what the kernel reads
  ASSERT_EQ(entries.size(), 8u);
  la_int64_t ino = 0;
  for (const auto& e : entries) {
    EXPECT_EQ(e.uid, 0) << e.path;
    EXPECT_EQ(e.gid, 0) << e.path;
    EXPECT_EQ(e.mtime, 0) << e.path;
    EXPECT_EQ(e.ino, ++ino) << e.path;
  }
  EXPECT_EQ(entries[1].path, "dev");
  EXPECT_EQ(entries[1].type, AE_IFDIR);
  EXPECT_EQ(entries[1].perm, 0755u);
  EXPECT_EQ(entries[2].path, "dev/console");
  EXPECT_EQ(entries[2].type, AE_IFCHR);
  EXPECT_EQ(entries[2].perm, 0600u);
  EXPECT_EQ(entries[2].rdev_major, 5u);
  EXPECT_EQ(entries[2].rdev_minor, 1u);
  EXPECT_EQ(entries[3].path, "init");
  EXPECT_EQ(entries[3].type, AE_IFREG);
  EXPECT_EQ(entries[3].perm, 0755u);
  EXPECT_EQ(entries[3].data, "#!agent\n");
  EXPECT_EQ(entries[5].path, "archmatrix/plan");
  EXPECT_EQ(entries[5].data, "nonce 0123456789abcdef\n");
  EXPECT_EQ(entries[7].path, "bin/sh");
  EXPECT_EQ(entries[7].type, AE_IFLNK);
  EXPECT_EQ(entries[7].symlink, "/init");
}

TEST_F(Initramfs, SameInputsGiveTheSameBytes) {
  sample().write(dir_ / "a.cpio");
  // Only the source's contents count: not its mtime, inode or owner.
  fs::last_write_time(dir_ / "agent", fs::file_time_type::clock::now() - std::chrono::hours(100));
  fs::rename(dir_ / "agent", dir_ / "agent.old");
  fs::copy_file(dir_ / "agent.old", dir_ / "agent");
  sample().write(dir_ / "b.cpio");
  const std::string a = util::read_file(dir_ / "a.cpio");
  EXPECT_EQ(a, util::read_file(dir_ / "b.cpio"));
  // newc header: magic, ino, mode, uid, gid, nlink, mtime, each 8 hex digits.
  EXPECT_EQ(a.substr(0, 6), "070701");
  EXPECT_EQ(a.substr(22, 16), "0000000000000000");  // uid, gid
  EXPECT_EQ(a.substr(46, 8), "00000000");           // mtime
}

TEST_F(Initramfs, ImplicitParentsTakeALaterExplicitMode) {
  InitramfsBuilder b;
  b.add_bytes("/a/b//c/", "x");
  b.add_directory("a", 0700);
  b.add_directory("./a/b", 0750);
  b.write(dir_ / "a.cpio");
  const auto entries = read_with_libarchive(dir_ / "a.cpio");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].path, "a");
  EXPECT_EQ(entries[0].perm, 0700u);
  EXPECT_EQ(entries[1].path, "a/b");
  EXPECT_EQ(entries[1].perm, 0750u);
  EXPECT_EQ(entries[2].path, "a/b/c");
  EXPECT_EQ(entries[2].perm, 0644u);
}

TEST_F(Initramfs, BadAndConflictingPathsAreRefused) {
  InitramfsBuilder b;
  EXPECT_THROW(b.add_directory(""), util::Error);
  EXPECT_THROW(b.add_directory("/"), util::Error);
  EXPECT_THROW(b.add_bytes("a/../../etc/passwd", "x"), util::Error);
  EXPECT_THROW(b.add_bytes(std::string("a\0b", 3), "x"), util::Error);
  b.add_bytes("init", "x");
  EXPECT_THROW(b.add_bytes("init", "y"), util::Error);
  EXPECT_THROW(b.add_directory("init"), util::Error);
  EXPECT_THROW(b.add_bytes("init/x", "y"), util::Error);
  b.add_directory("d");
  EXPECT_THROW(b.add_symlink("d", "/"), util::Error);
}

TEST_F(Initramfs, MissingSourceNamesItAndLeavesTheOldFile) {
  util::write_file_atomic(dir_ / "c.cpio", "old");
  InitramfsBuilder b = sample();
  b.add_file("archmatrix/bin/x", dir_ / "nope", 0755);
  try {
    b.write(dir_ / "c.cpio");
    FAIL() << "expected an error";
  } catch (const util::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find((dir_ / "nope").string()), std::string::npos) << what;
    EXPECT_NE(what.find("archmatrix/bin/x"), std::string::npos) << what;
    EXPECT_NE(what.find("No such file"), std::string::npos) << what;
  }
  EXPECT_EQ(util::read_file(dir_ / "c.cpio"), "old");
  EXPECT_TRUE(leftovers().empty());

  InitramfsBuilder d;
  d.add_file("init", dir_, 0755);  // a directory reads as nothing; must not become an empty init
  EXPECT_THROW(d.write(dir_ / "d.cpio"), util::Error);
  EXPECT_FALSE(fs::exists(dir_ / "d.cpio"));
}

TEST_F(Initramfs, UnwritableOutputIsNamed) {
  const fs::path out = dir_ / "no-such-dir" / "a.cpio";
  try {
    sample().write(out);
    FAIL() << "expected an error";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find(out.string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(leftovers().empty());
}

}  // namespace
}  // namespace archmatrix::prepare
