#include "util/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "util/error.h"

namespace archmatrix::util {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

std::string fmt_mode(mode_t m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "mode %04o", static_cast<unsigned>(m & 07777));
  return buf;
}

void write_all(int fd, std::string_view data, const fs::path& shown) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("cannot write " + shown.string() + ": " + errno_text());
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view contents) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp = dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                              std::to_string(rd()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write " + path.string() + ": " + errno_text());
  try {
    write_all(fd, contents, path);
    if (::fsync(fd) != 0) throw Error("cannot write " + path.string() + ": fsync: " + errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw Error("cannot write " + path.string() + ": " + errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw Error("cannot write " + path.string() + ": " + why);
  }
  // The rename is durable only once the directory entry is.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string() + ": " + errno_text());
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read " + path.string());
  return ss.str();
}

std::string file_tail(const fs::path& path, std::size_t lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path.string() + ")";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff want = std::min<std::streamoff>(size, 64 * 1024);
  in.seekg(size - want);
  std::string text(static_cast<std::size_t>(want), '\0');
  in.read(text.data(), want);
  text.resize(static_cast<std::size_t>(in.gcount()));
  std::size_t pos = text.size(), n = 0;
  if (pos > 0 && text.back() == '\n') --pos;
  while (pos > 0 && n < lines) {
    const std::size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    pos = nl;
    ++n;
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

FileLock::FileLock(const fs::path& lock_file) {
  fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open lock " + lock_file.string() + ": " + errno_text());
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const std::string why = errno_text();
    ::close(fd_);
    throw Error("cannot lock " + lock_file.string() + ": " + why);
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

std::string file_safe(std::string s) {
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '+')) c = '_';
  return s;
}

bool directory_complete(const fs::path& dir, std::string_view stamp) {
  std::ifstream in(dir / ".complete", std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str() == stamp;
}

void publish_directory(const fs::path& work, const fs::path& entry, std::string_view stamp) {
  write_file_atomic(work / ".complete", stamp);
  fs::remove_all(entry);
  fs::rename(work, entry);
}

fs::path cache_root(const std::optional<std::string>& xdg, const std::optional<std::string>& home) {
  if (xdg && !xdg->empty() && fs::path(*xdg).is_absolute()) return fs::path(*xdg) / "archmatrix";
  if (home && !home->empty()) return fs::path(*home) / ".cache" / "archmatrix";
  return fs::temp_directory_path() / ("archmatrix-cache-" + std::to_string(::getuid()));
}

void require_private_directory(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error("cannot create the cache directory " + dir.string() + ": " + errno_text());
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) throw Error("cannot use the cache directory " + dir.string() + ": " + errno_text());
  std::string wrong;
  if (S_ISLNK(st.st_mode))
    wrong = "it is a symbolic link";
  else if (!S_ISDIR(st.st_mode))
    wrong = "it is not a directory";
  else if (st.st_uid != ::getuid())
    wrong = "it belongs to uid " + std::to_string(st.st_uid) + ", not to this user (" + std::to_string(::getuid()) + ")";
  else if ((st.st_mode & 077) != 0)
    wrong = fmt_mode(st.st_mode) + ": others may write or read it";
  if (!wrong.empty())
    throw Error("refusing the cache directory " + dir.string() + ": " + wrong +
                "; set XDG_CACHE_HOME or HOME to a directory of your own");
}

fs::path cache_root() {
  const auto env = [](const char* n) -> std::optional<std::string> {
    const char* v = std::getenv(n);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto xdg = env("XDG_CACHE_HOME"), home = env("HOME");
  fs::path root = cache_root(xdg, home);
  if (root == cache_root(std::nullopt, std::nullopt)) require_private_directory(root);  // the shared temp directory
  return root;
}

}  // namespace archmatrix::util
