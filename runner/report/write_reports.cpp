#include "report/write_reports.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "report/html_report.h"
#include "report/json_report.h"
#include "report/junit_report.h"
#include "report/markdown_report.h"
#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::report {

namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }

void real_rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw util::Error("cannot write " + to.string() + ": rename: " + errno_text());
}

// One file of the set on its way in: the new contents under `fresh`, the
// previous file (if any) hard-linked as `kept` so a rollback can restore it.
struct Slot {
  fs::path target, fresh, kept;
  bool had_old = false, replaced = false;
};

// Puts back what was renamed and removes every temporary; never throws, as
// it runs while an error is on its way out.
void roll_back(std::vector<Slot>& slots) {
  std::error_code ec;
  for (auto& s : slots) {
    if (s.replaced) {
      if (s.had_old) fs::rename(s.kept, s.target, ec);
      else fs::remove(s.target, ec);
    }
    fs::remove(s.fresh, ec);
    if (s.had_old) fs::remove(s.kept, ec);
  }
}

// An error about a temporary names the report it stands for.
[[noreturn]] void rethrow_for(const util::Error& e, const fs::path& temporary, const fs::path& target) {
  std::string what = e.what();
  for (auto at = what.find(temporary.string()); at != std::string::npos; at = what.find(temporary.string(), at))
    what.replace(at, temporary.string().size(), target.string());
  throw util::Error(what, e.exit_status());
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_set(const fs::path& dir, const std::vector<NamedFile>& files, const FileSetOps& ops) {
  const auto write = ops.write ? ops.write : util::write_file_atomic;
  const auto rename = ops.rename ? ops.rename : real_rename;
  const std::string tag = std::to_string(::getpid());
  std::vector<Slot> slots;
  for (const auto& f : files)
    slots.push_back({dir / f.name, dir / ("." + f.name + ".new." + tag), dir / ("." + f.name + ".old." + tag)});

  // Phase 1: every new file and every backup, with nothing replaced yet.
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto& s = slots[i];
    try {
      write(s.fresh, files[i].contents);
    } catch (const util::Error& e) {
      roll_back(slots);
      rethrow_for(e, s.fresh, s.target);
    }
    if (::link(s.target.c_str(), s.kept.c_str()) == 0) {
      s.had_old = true;
    } else if (errno == EPERM || errno == EOPNOTSUPP) {
      // A file system without hard links: keep the previous file by copy.
      try {
        std::error_code ec;
        if (fs::exists(s.target, ec)) {
          write(s.kept, util::read_file(s.target));
          s.had_old = true;
        }
      } catch (const util::Error& e) {
        roll_back(slots);
        rethrow_for(e, s.kept, s.target);
      }
    } else if (errno != ENOENT) {
      const std::string why = errno_text();
      roll_back(slots);
      throw util::Error("cannot write " + s.target.string() + ": keeping the previous file: " + why);
    }
  }
  // Phase 2: renames within one directory, which need no space; should one
  // fail all the same, the renamed ones are put back.
  for (auto& s : slots) {
    try {
      rename(s.fresh, s.target);
      s.replaced = true;
    } catch (const util::Error& e) {
      roll_back(slots);
      rethrow_for(e, s.fresh, s.target);
    }
  }
  std::error_code ec;
  for (auto& s : slots)
    if (s.had_old) fs::remove(s.kept, ec);
  sync_directory(dir);
}

void write_all_reports(const RunSummary& s, const fs::path& out_dir, const FileSetOps& ops) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw util::Error(out_dir.string() + ": cannot create the report directory: " + ec.message());
  write_file_set(out_dir,
                 {{"junit.xml", junit_xml(s)},
                  {"summary.md", markdown_summary(s)},
                  {"report.html", html_report(s)},
                  {"report.json", to_json_text(s)}},
                 ops);
}

}  // namespace archmatrix::report
