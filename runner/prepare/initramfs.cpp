#include "prepare/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <memory>

#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::prepare {

namespace {

std::string strip(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

void InitramfsBuilder::add(Entry e) {
  e.path = strip(std::move(e.path));
  // The kernel's unpacker needs parents before children.
  for (std::size_t slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
    const std::string parent = e.path.substr(0, slash);
    bool have = false;
    for (const auto& x : entries_) have = have || x.path == parent;
    if (!have) entries_.push_back({Kind::dir, parent, 0755, {}, {}, 0, 0});
  }
  for (const auto& x : entries_)
    if (x.path == e.path && x.kind == Kind::dir && e.kind == Kind::dir) return;
  entries_.push_back(std::move(e));
}

void InitramfsBuilder::add_directory(std::string path, unsigned mode) { add({Kind::dir, std::move(path), mode, {}, {}, 0, 0}); }
void InitramfsBuilder::add_file(std::string path, const std::filesystem::path& source, unsigned mode) {
  add({Kind::file, std::move(path), mode, source, {}, 0, 0});
}
void InitramfsBuilder::add_bytes(std::string path, std::string contents, unsigned mode) {
  add({Kind::bytes, std::move(path), mode, {}, std::move(contents), 0, 0});
}
void InitramfsBuilder::add_char_device(std::string path, unsigned major, unsigned minor, unsigned mode) {
  add({Kind::chardev, std::move(path), mode, {}, {}, major, minor});
}
void InitramfsBuilder::add_symlink(std::string path, std::string target) {
  add({Kind::symlink, std::move(path), 0777, {}, std::move(target), 0, 0});
}

void InitramfsBuilder::write(const std::filesystem::path& out) const {
  std::size_t used = 0;
  std::vector<char> buffer;  // declared before the archive, which writes into it until it is freed
  // Read every file first: a missing source must leave nothing half-written.
  std::vector<std::string> contents(entries_.size());
  std::size_t total = 4096;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    if (e.kind == Kind::file) contents[i] = util::read_file(e.source);
    if (e.kind == Kind::bytes || e.kind == Kind::symlink) contents[i] = e.data;
    total += contents[i].size() + e.path.size() + 256;
  }
  buffer.resize(total);
  using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;
  ArchivePtr a(archive_write_new(), archive_write_free);
  if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open_memory(a.get(), buffer.data(), buffer.size(), &used) != ARCHIVE_OK)
    throw util::Error("initramfs " + out.string() + ": " + archive_error_string(a.get()));
  unsigned ino = 1;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), e.path.c_str());
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), 0, 0);
    archive_entry_set_ino(entry.get(), ino++);
    archive_entry_set_nlink(entry.get(), e.kind == Kind::dir ? 2 : 1);
    archive_entry_set_size(entry.get(), 0);
    switch (e.kind) {
      case Kind::dir: archive_entry_set_mode(entry.get(), S_IFDIR | e.mode); break;
      case Kind::file:
      case Kind::bytes:
        archive_entry_set_mode(entry.get(), S_IFREG | e.mode);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(contents[i].size()));
        break;
      case Kind::chardev:
        archive_entry_set_mode(entry.get(), S_IFCHR | e.mode);
        archive_entry_set_rdev(entry.get(), makedev(e.major, e.minor));
        break;
      case Kind::symlink:
        archive_entry_set_mode(entry.get(), S_IFLNK | 0777);
        archive_entry_set_symlink(entry.get(), e.data.c_str());
        break;
    }
    if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK)
      throw util::Error("initramfs " + out.string() + ": " + e.path + ": " + archive_error_string(a.get()));
    if ((e.kind == Kind::file || e.kind == Kind::bytes) && !contents[i].empty() &&
        archive_write_data(a.get(), contents[i].data(), contents[i].size()) < 0)
      throw util::Error("initramfs " + out.string() + ": " + e.path + ": " + archive_error_string(a.get()));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    throw util::Error("initramfs " + out.string() + ": " + archive_error_string(a.get()));
  util::write_file_atomic(out, std::string_view(buffer.data(), used));
}

}  // namespace archmatrix::prepare
