#pragma once
// Files the runner writes must never be left half-written (reports, cache
// entries), and cache entries are shared by concurrent runs.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace archmatrix::util {

/// Writes contents to path atomically: a temporary file in the same
/// directory, fsync, rename over path, fsync of the directory. On failure the
/// previous file is intact and the util::Error names the path and the reason.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

/// The whole file; throws util::Error naming the path.
std::string read_file(const std::filesystem::path& path);

/// The last `lines` lines of a (log) file, reading at most its last 64 KiB;
/// "(no log at PATH)" when it cannot be read.
std::string file_tail(const std::filesystem::path& path, std::size_t lines);

/// An exclusive advisory lock (flock) on a lock file, held for the object's
/// lifetime; blocks until it is granted. For cache entries shared by runs.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& lock_file);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

/// s with every character other than [A-Za-z0-9.+_-] replaced by '_': Debian
/// versions may carry an epoch ("1:2.3"), cache entry names stay plain (pure).
std::string file_safe(std::string s);

/// A cache directory is complete when its `.complete` marker holds `stamp`
/// (the checksum it was made from); a half-made or damaged one is not.
bool directory_complete(const std::filesystem::path& dir, std::string_view stamp);

/// Publishes a directory made under a temporary name beside `entry`: writes
/// its `.complete` marker (holding `stamp`) last, replaces whatever `entry`
/// was (a damaged entry) and renames `work` into place. Callers hold the
/// entry's FileLock, so a concurrent run never sees it half-made. Every
/// cache entry (target packages and roots, sources, kernels) is published
/// through here.
void publish_directory(const std::filesystem::path& work, const std::filesystem::path& entry, std::string_view stamp);

/// ${XDG_CACHE_HOME:-$HOME/.cache}/archmatrix, from the two values (pure).
/// With neither, <temp dir>/archmatrix-cache-<uid>: a shared directory,
/// so cache_root() checks it with require_private_directory().
std::filesystem::path cache_root(const std::optional<std::string>& xdg_cache_home,
                                 const std::optional<std::string>& home);
/// The same from the environment; throws util::Error (exit 3) if the
/// fallback under the temp directory is not ours alone.
std::filesystem::path cache_root();

/// Creates dir with mode 0700 if it is missing, then checks that it is a
/// directory (not a symlink) owned by this user with no access for others:
/// in a world-writable parent anyone could have made it first and fed us
/// kernels. Throws util::Error (exit 3) naming what is wrong.
void require_private_directory(const std::filesystem::path& dir);

}  // namespace archmatrix::util
