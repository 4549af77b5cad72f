#pragma once
// The guest's root filesystem: a cpio "newc" archive, the format the kernel
// unpacks into its rootfs before running /init. Written with libarchive.

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace archmatrix::prepare {

/// A deterministic cpio "newc" archive for the kernel's initramfs: entries in
/// the order added, parent directories created implicitly (0755) before their
/// children, uid/gid 0, mtime 0, inode numbers 1, 2, ... in order, so the
/// same inputs give the same bytes.
///
/// Paths are relative, without a leading slash ("init", "dev/console",
/// "archmatrix/bin/x"); a leading "/", "." components and doubled or trailing
/// slashes are dropped. Modes are permission bits (& 07777); the type comes
/// from the call. Adding a directory that exists sets its mode in place (so an
/// implicit parent can be given another mode later). Every add_* throws
/// util::Error for a path that is empty, contains ".." or NUL, was already
/// added as anything but a directory, or lies under a non-directory.
class InitramfsBuilder {
 public:
  void add_directory(std::string path, unsigned mode = 0755);
  /// source must be a regular file (or a symlink to one); its contents are
  /// read at write(), not now.
  void add_file(std::string path, const std::filesystem::path& source, unsigned mode);
  void add_bytes(std::string path, std::string contents, unsigned mode = 0644);
  void add_char_device(std::string path, unsigned major, unsigned minor, unsigned mode = 0600);
  void add_symlink(std::string path, std::string target);

  /// Writes the archive to out atomically (temporary file, fsync, rename):
  /// on any failure out is left as it was and no temporary file remains.
  /// Throws util::Error naming the source that could not be read, or out.
  void write(const std::filesystem::path& out) const;

 private:
  enum class Kind { dir, file, bytes, chardev, symlink };
  struct Entry {
    Kind kind = Kind::dir;
    std::string path;
    unsigned mode = 0;
    std::filesystem::path source{};  ///< Kind::file
    std::string data{};              ///< Kind::bytes contents, Kind::symlink target
    unsigned major = 0, minor = 0;   ///< Kind::chardev
  };
  void add(Entry e);
  static unsigned mode_of(const Entry& e);  ///< file type bits | permissions

  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;  ///< path -> position in entries_
};

}  // namespace archmatrix::prepare
