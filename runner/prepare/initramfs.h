#pragma once
// A deterministic cpio "newc" archive for the kernel's initramfs (libarchive).

#include <filesystem>
#include <string>
#include <vector>

namespace archmatrix::prepare {

/// Entries are written in the order added, parent directories first (added
/// implicitly), uid/gid 0, mtime 0: the same inputs give the same bytes.
/// Paths are relative, without a leading slash ("init", "dev/console").
class InitramfsBuilder {
 public:
  void add_directory(std::string path, unsigned mode = 0755);
  void add_file(std::string path, const std::filesystem::path& source, unsigned mode);  ///< read at write()
  void add_bytes(std::string path, std::string contents, unsigned mode = 0644);
  void add_char_device(std::string path, unsigned major, unsigned minor, unsigned mode = 0600);
  void add_symlink(std::string path, std::string target);
  /// Writes the archive to out atomically. Throws util::Error naming the file
  /// that could not be read or written.
  void write(const std::filesystem::path& out) const;

 private:
  enum class Kind { dir, file, bytes, chardev, symlink };
  struct Entry {
    Kind kind;
    std::string path;
    unsigned mode = 0;
    std::filesystem::path source;
    std::string data;  ///< bytes, or symlink target
    unsigned major = 0, minor = 0;
  };
  void add(Entry e);
  std::vector<Entry> entries_;
};

}  // namespace archmatrix::prepare
