#include "prepare/initramfs.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string_view>

#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;

namespace {

// The kernel's unpacker creates names exactly as written, relative to the
// rootfs; "/init", "./init" and "init/" should all mean "init". ".." is
// refused rather than resolved: nothing here has a reason to use it.
std::string normalize(const std::string& path) {
  if (path.find('\0') != std::string::npos) throw util::Error("initramfs: path contains NUL: " + path);
  std::string out;
  std::string_view rest = path;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") throw util::Error("initramfs: path contains '..': " + path);
    if (!out.empty()) out += '/';
    out += part;
  }
  if (out.empty()) throw util::Error("initramfs: empty path '" + path + "'");
  return out;
}

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;
using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

la_ssize_t append_to_string(archive*, void* image, const void* buffer, std::size_t length) {
  static_cast<std::string*>(image)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// A source that is a directory would read as empty through an ifstream; say
// so instead. Everything else (missing, unreadable) is read_file's message.
std::string read_source(const fs::path& source, const std::string& context) {
  try {
    std::error_code ec;
    if (fs::exists(source, ec) && !fs::is_regular_file(source, ec))
      throw util::Error("cannot read " + source.string() + ": not a regular file");
    return util::read_file(source);
  } catch (const util::Error& e) {
    throw util::Error(context + ": " + e.what());
  }
}

// The fields every entry has. uid, gid and mtime are 0 so that the same
// inputs give the same bytes; inode numbers are unique because the kernel and
// cpio take a repeated one with nlink > 1 as a hard link.
EntryPtr new_entry(const std::string& path, unsigned ino, unsigned type_and_mode, std::size_t size) {
  EntryPtr h(archive_entry_new(), archive_entry_free);
  if (!h) throw util::Error("initramfs: libarchive: out of memory");
  archive_entry_set_pathname(h.get(), path.c_str());
  archive_entry_set_mode(h.get(), type_and_mode);
  archive_entry_set_uid(h.get(), 0);
  archive_entry_set_gid(h.get(), 0);
  archive_entry_set_mtime(h.get(), 0, 0);
  archive_entry_set_ino(h.get(), ino);
  archive_entry_set_nlink(h.get(), (type_and_mode & AE_IFMT) == AE_IFDIR ? 2 : 1);
  archive_entry_set_size(h.get(), static_cast<la_int64_t>(size));
  return h;
}

}  // namespace

void InitramfsBuilder::add(Entry e) {
  e.path = normalize(e.path);
  e.mode &= 07777;
  // The kernel's unpacker does not create missing parents: they must come
  // first, so they are added here, before the entry that needs them.
  for (auto slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
    const std::string parent = e.path.substr(0, slash);
    const auto it = index_.find(parent);
    if (it == index_.end()) {
      index_.emplace(parent, entries_.size());
      entries_.push_back({.kind = Kind::dir, .path = parent, .mode = 0755});
    } else if (entries_[it->second].kind != Kind::dir) {
      throw util::Error("initramfs: cannot add " + e.path + ": " + parent + " is not a directory");
    }
  }
  if (const auto it = index_.find(e.path); it != index_.end()) {
    // Same place, new mode: the children already added still follow it.
    if (e.kind == Kind::dir && entries_[it->second].kind == Kind::dir) {
      entries_[it->second].mode = e.mode;
      return;
    }
    throw util::Error("initramfs: " + e.path + " added twice");
  }
  index_.emplace(e.path, entries_.size());
  entries_.push_back(std::move(e));
}

void InitramfsBuilder::add_directory(std::string path, unsigned mode) {
  add({.kind = Kind::dir, .path = std::move(path), .mode = mode});
}

void InitramfsBuilder::add_file(std::string path, const fs::path& source, unsigned mode) {
  add({.kind = Kind::file, .path = std::move(path), .mode = mode, .source = source});
}

void InitramfsBuilder::add_bytes(std::string path, std::string contents, unsigned mode) {
  add({.kind = Kind::bytes, .path = std::move(path), .mode = mode, .data = std::move(contents)});
}

void InitramfsBuilder::add_char_device(std::string path, unsigned major, unsigned minor, unsigned mode) {
  add({.kind = Kind::chardev, .path = std::move(path), .mode = mode, .major = major, .minor = minor});
}

void InitramfsBuilder::add_symlink(std::string path, std::string target) {
  add({.kind = Kind::symlink, .path = std::move(path), .mode = 0777, .data = std::move(target)});
}

void InitramfsBuilder::write(const fs::path& out) const {
  const std::string where = "initramfs " + out.string();
  // The image is built in memory (a few MiB) and only then written with
  // write_file_atomic: a source that cannot be read or a libarchive error
  // leaves no file behind at all, and an existing out untouched.
  std::string image;
  ArchivePtr a(archive_write_new(), archive_write_free);
  if (!a) throw util::Error(where + ": libarchive: out of memory");
  const auto fail = [&](const std::string& what) {
    const char* why = archive_error_string(a.get());
    throw util::Error(where + ": " + what + ": " + (why ? why : "libarchive error"));
  };
  // No blocking and no padding of the last block: the kernel needs none.
  if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a.get(), 0) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open2(a.get(), &image, nullptr, append_to_string, nullptr, nullptr) != ARCHIVE_OK)
    fail("cannot start");

  unsigned ino = 0;
  for (const Entry& e : entries_) {
    std::string loaded;
    std::string_view contents;
    if (e.kind == Kind::file) contents = loaded = read_source(e.source, where + ": " + e.path);
    if (e.kind == Kind::bytes) contents = e.data;
    const EntryPtr h = new_entry(e.path, ++ino, mode_of(e), contents.size());
    if (e.kind == Kind::chardev) {
      archive_entry_set_rdevmajor(h.get(), e.major);
      archive_entry_set_rdevminor(h.get(), e.minor);
    }
    if (e.kind == Kind::symlink) archive_entry_set_symlink(h.get(), e.data.c_str());
    if (archive_write_header(a.get(), h.get()) != ARCHIVE_OK) fail(e.path);
    if (!contents.empty() &&
        archive_write_data(a.get(), contents.data(), contents.size()) != static_cast<la_ssize_t>(contents.size()))
      fail(e.path);
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) fail("cannot finish");
  util::write_file_atomic(out, image);
}

unsigned InitramfsBuilder::mode_of(const Entry& e) {
  switch (e.kind) {
    case Kind::dir: return AE_IFDIR | e.mode;
    case Kind::file:
    case Kind::bytes: return AE_IFREG | e.mode;
    case Kind::chardev: return AE_IFCHR | e.mode;
    case Kind::symlink: return AE_IFLNK | 0777;
  }
  return e.mode;
}

}  // namespace archmatrix::prepare
