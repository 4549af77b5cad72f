#pragma once
// Writes every report format of a run into its output directory, as a set.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "report/summary.h"

namespace archmatrix::report {

/// One file of a set: its name in the directory and its contents.
struct NamedFile {
  std::string name;
  std::string contents;
};

/// How a set touches the disk. Each step throws util::Error on failure;
/// tests replace one to fail at any file of the set.
struct FileSetOps {
  std::function<void(const std::filesystem::path&, std::string_view)> write;   ///< default util::write_file_atomic
  std::function<void(const std::filesystem::path&, const std::filesystem::path&)> rename;  ///< default ::rename
};

/// Replaces `files` in `dir` as a set: every new file is written first as a
/// temporary in `dir`, then all are renamed into place in order. When any
/// write or rename fails, the temporaries are removed and every file of the
/// set is as it was before, byte for byte (renamed ones are put back from
/// hard-linked copies), and the util::Error names the file. A reader sees
/// the old set or the new set; one that reads a file mid-way may see one
/// file of each.
void write_file_set(const std::filesystem::path& dir, const std::vector<NamedFile>& files,
                    const FileSetOps& ops = {});

/// Writes junit.xml, summary.md, report.html and report.json (last: diff and
/// merge read it, so it being new says the others are) into `out_dir`
/// (created if missing) with write_file_set. Throws util::Error when they
/// cannot be written; the previous reports are then intact.
void write_all_reports(const RunSummary& s, const std::filesystem::path& out_dir, const FileSetOps& ops = {});

}  // namespace archmatrix::report
