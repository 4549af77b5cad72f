#include "prepare/package_tree.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;

namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

std::string errno_text() { return std::strerror(errno); }

[[noreturn]] void fail(const fs::path& deb, const std::string& what, archive* a = nullptr) {
  std::string msg = fmt::format("unpacking {}: {}", deb.string(), what);
  if (a && archive_error_string(a)) msg += std::string(": ") + archive_error_string(a);
  throw util::Error(msg);
}

// An open file descriptor, closed with its owner.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// The type bits of what is at `name` in dir, the link itself for a symlink; 0 if nothing is.
mode_t kind_at(int dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
  return st.st_mode & S_IFMT;
}

const char* kind_name(mode_t kind) {
  return kind == S_IFLNK ? "symlink" : kind == S_IFREG ? "file" : "special file";
}

// The subdirectory `name` of dir. O_NOFOLLOW: a symlink there (even one
// swapped in after kind_at looked) fails instead of being followed.
Fd open_dir_at(int dir, const std::string& name) {
  return Fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

Fd open_root(const fs::path& dir) { return Fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); }

// A member's path relative to the package root; "" for the root itself.
// Absolute paths and ".." are refused, never resolved.
std::string member_path(const fs::path& deb, const char* name) {
  if (!name) fail(deb, "a member without a name");
  const fs::path p(name);
  if (p.is_absolute()) fail(deb, fmt::format("refusing member '{}': an absolute path", name));
  for (const auto& part : p)
    if (part == "..") fail(deb, fmt::format("refusing member '{}': its path contains '..'", name));
  const std::string n = p.lexically_normal().generic_string();
  return n == "." || n == "./" ? std::string() : n;
}

std::vector<std::string> components(const std::string& rel) {
  std::vector<std::string> out;
  for (const auto& p : fs::path(rel))
    if (!p.empty() && p != ".") out.push_back(p.string());
  return out;
}

// The bytes of the .deb's data.tar* member (the .deb is an ar archive).
std::string data_member(const fs::path& deb) {
  ArchivePtr ar(archive_read_new(), archive_read_free);
  archive_read_support_format_ar(ar.get());
  if (archive_read_open_filename(ar.get(), deb.c_str(), 1 << 16) != ARCHIVE_OK)
    fail(deb, "not readable as an ar archive", ar.get());
  archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(ar.get(), &e)) == ARCHIVE_OK) {
    const char* n = archive_entry_pathname(e);
    if (!n || std::string_view(n).rfind("data.tar", 0) != 0) continue;
    std::string data;
    char buf[1 << 16];
    la_ssize_t got;
    while ((got = archive_read_data(ar.get(), buf, sizeof buf)) > 0) data.append(buf, static_cast<std::size_t>(got));
    if (got < 0) fail(deb, "reading its data archive", ar.get());
    return data;
  }
  if (r != ARCHIVE_EOF) fail(deb, "reading the ar archive", ar.get());
  fail(deb, "no data.tar member: not a Debian package");
}

// The package tree being unpacked, reached only through its root's
// descriptor: libarchive's own writer resolves paths through whatever
// symlinks earlier members made (a hard link's target included), so members
// are written here instead, one no-follow component at a time.
class Tree {
 public:
  Tree(const fs::path& deb, const fs::path& dest) : deb_(deb) {
    fs::create_directories(dest);
    root_ = open_root(dest);
    if (!root_.ok()) fail(deb, fmt::format("cannot open {}: {}", dest.string(), errno_text()));
  }

  void directory(const std::string& member, archive_entry* e) {
    const auto parts = components(member);
    const Fd dir = parent(member, parts, nullptr);
    const std::string& name = parts.back();
    const mode_t mode = (archive_entry_perm(e) & 0777) | 0700;  // ours to fill and to remove later
    if (kind_at(dir.get(), name) != S_IFDIR) {
      clear(dir.get(), name, member);  // a directory replaces an earlier file or symlink, never goes through it
      if (::mkdirat(dir.get(), name.c_str(), mode) != 0) fail(deb_, fmt::format("member '{}': {}", member, errno_text()));
    } else if (const Fd d = open_dir_at(dir.get(), name); !d.ok() || ::fchmod(d.get(), mode) != 0) {
      fail(deb_, fmt::format("member '{}': {}", member, errno_text()));
    }
  }

  void file(const std::string& member, archive_entry* e, archive* in) {
    const auto parts = components(member);
    const Fd dir = parent(member, parts, nullptr);
    clear(dir.get(), parts.back(), member);
    const Fd out(::openat(dir.get(), parts.back().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          archive_entry_perm(e) & 0777));  // no setuid/setgid in a build root
    if (!out.ok()) fail(deb_, fmt::format("member '{}': {}", member, errno_text()));
    const void* block;
    std::size_t size;
    la_int64_t offset;
    int r;
    while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK)
      write_at(out.get(), static_cast<const char*>(block), size, offset, member);
    if (r != ARCHIVE_EOF) fail(deb_, "reading its data archive", in);
    // A sparse file can end in a hole no block covers.
    if (archive_entry_size_is_set(e) && ::ftruncate(out.get(), archive_entry_size(e)) != 0)
      fail(deb_, fmt::format("member '{}': {}", member, errno_text()));
    const timespec ts[2] = {{0, UTIME_OMIT}, mtime_of(e)};
    ::futimens(out.get(), ts);
  }

  void symlink(const std::string& member, archive_entry* e) {
    const char* target = archive_entry_symlink(e);
    if (!target || !*target) fail(deb_, fmt::format("member '{}': a symlink without a target", member));
    const auto parts = components(member);
    const Fd dir = parent(member, parts, nullptr);
    clear(dir.get(), parts.back(), member);
    // Whatever it points to, it is only ever stored, never followed.
    if (::symlinkat(target, dir.get(), parts.back().c_str()) != 0)
      fail(deb_, fmt::format("member '{}': {}", member, errno_text()));
    const timespec ts[2] = {{0, UTIME_OMIT}, mtime_of(e)};
    ::utimensat(dir.get(), parts.back().c_str(), ts, AT_SYMLINK_NOFOLLOW);
  }

  // A hard link's data, if an archive carries any, is its target's content:
  // it is not written (it would go into the target).
  void hard_link(const std::string& member, const std::string& target) {
    const auto parts = components(member), tparts = components(target);
    if (tparts.empty()) fail(deb_, fmt::format("refusing member '{}': a hard link to the package root", member));
    if (parts == tparts) return;
    const Fd tdir = parent(member, tparts, &target);
    const mode_t k = kind_at(tdir.get(), tparts.back());
    if (k == 0) fail(deb_, fmt::format("refusing member '{}': its hard-link target '{}' is not in the package", member, target));
    if (k == S_IFDIR) fail(deb_, fmt::format("refusing member '{}': its hard-link target '{}' is a directory", member, target));
    const Fd dir = parent(member, parts, nullptr);
    clear(dir.get(), parts.back(), member);
    // flags 0: a target that is a symlink is linked itself, not followed.
    if (::linkat(tdir.get(), tparts.back().c_str(), dir.get(), parts.back().c_str(), 0) != 0)
      fail(deb_, fmt::format("member '{}': linking to '{}': {}", member, target, errno_text()));
  }

 private:
  static timespec mtime_of(archive_entry* e) {
    if (!archive_entry_mtime_is_set(e)) return {0, UTIME_OMIT};
    return {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  }

  void write_at(int fd, const char* p, std::size_t n, la_int64_t off, const std::string& member) const {
    while (n > 0) {
      const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) fail(deb_, fmt::format("writing member '{}': {}", member, errno_text()));
      p += w;
      n -= static_cast<std::size_t>(w);
      off += w;
    }
  }

  // Makes room for a new entry `name` in dir: a later member replaces an
  // earlier file or symlink (as tar does), never a directory.
  void clear(int dir, const std::string& name, const std::string& member) const {
    const mode_t k = kind_at(dir, name);
    if (k == 0) return;
    if (k == S_IFDIR) fail(deb_, fmt::format("refusing member '{}': a directory of that name is already there", member));
    if (::unlinkat(dir, name.c_str(), 0) != 0) fail(deb_, fmt::format("member '{}': {}", member, errno_text()));
  }

  // The directory holding the last of `parts`. For a member's own path
  // (link_target null) missing directories are made; for a hard link's
  // target they must exist. A symlink or a file on the way is refused.
  Fd parent(const std::string& member, const std::vector<std::string>& parts, const std::string* link_target) const {
    Fd dir(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
    std::string at;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      at += (at.empty() ? "" : "/") + parts[i];
      mode_t k = kind_at(dir.get(), parts[i]);
      if (k == 0 && !link_target) {
        if (::mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
          fail(deb_, fmt::format("member '{}': making {}: {}", member, at, errno_text()));
        k = S_IFDIR;
      }
      const std::string subject = link_target ? fmt::format("its hard-link target '{}'", *link_target) : "it";
      if (k == 0) fail(deb_, fmt::format("refusing member '{}': {} is not in the package", member, subject));
      if (k == S_IFLNK)
        fail(deb_, fmt::format("refusing member '{}': {} would be {} through the symlink {}", member, subject,
                               link_target ? "reached" : "written", at));
      Fd next = k == S_IFDIR ? open_dir_at(dir.get(), parts[i]) : Fd();
      if (!next.ok())
        fail(deb_, fmt::format("refusing member '{}': {} would be under {}, which is not a directory", member, subject,
                               at));
      dir = std::move(next);
    }
    return dir;
  }

  fs::path deb_;
  Fd root_;
};

// Copies the regular file `name` of `from` into `to` (a hard link cannot
// cross file systems).
void copy_at(int from, int to, const std::string& name, mode_t mode, const fs::path& shown) {
  const Fd in(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  const Fd out(::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!in.ok() || !out.ok()) throw util::Error(fmt::format("copying {}: {}", shown.string(), errno_text()));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw util::Error(fmt::format("copying {}: {}", shown.string(), errno_text()));
    if (n == 0) return;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out.get(), buf + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw util::Error(fmt::format("copying {}: {}", shown.string(), errno_text()));
      done += w;
    }
  }
}

// Joins the directory `from` (at `rel` below the package tree) into `to`,
// both reached through descriptors opened without following symlinks.
void join_dir(int from, int to, const fs::path& rel, const fs::path& from_root, const fs::path& to_root) {
  const auto error = [&](const fs::path& p) {
    return util::Error(fmt::format("joining {} into {}: {}: {}", from_root.string(), to_root.string(), p.string(),
                                   errno_text()));
  };
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(::fcntl(from, F_DUPFD_CLOEXEC, 0)), ::closedir);
  if (!d) throw error(rel);
  while (const dirent* de = ::readdir(d.get())) {
    const std::string name = de->d_name;
    if (name == "." || name == ".." || (rel.empty() && name == ".complete")) continue;
    const fs::path shown = rel / name;
    struct stat st {};
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw error(shown);
    const mode_t there = kind_at(to, name);
    if (S_ISDIR(st.st_mode)) {
      if (there != 0 && there != S_IFDIR)
        throw util::Error(fmt::format("joining {} into {}: {} is a directory in this package but a {} in an earlier "
                                      "one; refusing to write through it",
                                      from_root.string(), to_root.string(), shown.string(), kind_name(there)));
      if (there == 0 && ::mkdirat(to, name.c_str(), (st.st_mode & 0777) | 0700) != 0) throw error(shown);
      const Fd sub_from = open_dir_at(from, name), sub_to = open_dir_at(to, name);
      if (!sub_from.ok() || !sub_to.ok()) throw error(shown);
      join_dir(sub_from.get(), sub_to.get(), shown, from_root, to_root);
    } else if (there != 0) {
      continue;  // the first package's file stays
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
      const ssize_t n = ::readlinkat(from, name.c_str(), target.data(), target.size());
      if (n < 0 || static_cast<std::size_t>(n) >= target.size()) throw error(shown);
      target.resize(static_cast<std::size_t>(n));
      if (::symlinkat(target.c_str(), to, name.c_str()) != 0) throw error(shown);
    } else if (S_ISREG(st.st_mode)) {
      if (::linkat(from, name.c_str(), to, name.c_str(), 0) != 0) copy_at(from, to, name, st.st_mode & 0777, shown);
    }
  }
}

}  // namespace

void extract_deb(const fs::path& deb, const fs::path& dest) {
  const std::string data = data_member(deb);
  ArchivePtr tar(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(tar.get());
  archive_read_support_filter_all(tar.get());
  if (archive_read_open_memory(tar.get(), data.data(), data.size()) != ARCHIVE_OK)
    fail(deb, "its data archive is not a tar archive", tar.get());
  Tree tree(deb, dest);
  archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(tar.get(), &e)) == ARCHIVE_OK) {
    const std::string rel = member_path(deb, archive_entry_pathname(e));
    if (rel.empty()) continue;  // "./", the package root: dest itself
    if (const char* link = archive_entry_hardlink(e)) {
      tree.hard_link(rel, member_path(deb, link));
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR: tree.directory(rel, e); break;
      case AE_IFREG: tree.file(rel, e, tar.get()); break;
      case AE_IFLNK: tree.symlink(rel, e); break;
      default: break;  // devices, fifos, sockets: a build root needs none
    }
  }
  if (r != ARCHIVE_EOF) fail(deb, "reading its data archive", tar.get());
}

void join_into(const fs::path& from, const fs::path& to) {
  const Fd f = open_root(from), t = open_root(to);
  if (!f.ok() || !t.ok())
    throw util::Error(fmt::format("joining {} into {}: {}", from.string(), to.string(), errno_text()));
  join_dir(f.get(), t.get(), fs::path(), from, to);
}

}  // namespace archmatrix::prepare
