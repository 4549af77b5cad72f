#pragma once
// Unpacking a Debian package's files and joining the files of several
// packages into one root (prepare/target_packages.h). The archives come from
// a mirror, so any member may be hostile: every path is resolved from the
// destination's directory descriptor one component at a time and no symlink
// is ever followed (not an earlier member's, not another package's), so
// nothing is written outside the destination whatever the archive holds.

#include <filesystem>

namespace archmatrix::prepare {

/// Unpacks the data archive (data.tar.xz, .zst, .gz, ...) of the .deb at deb
/// into dest (created if missing). Directories, regular files, symlinks (kept
/// as symlinks, never followed) and hard links are made; devices, fifos and
/// sockets are not (a build root needs none); setuid/setgid bits and owners
/// are dropped. A member with an absolute path or a ".." component, one that
/// would be written through a symlink an earlier member made, and a hard
/// link whose target is outside the package or runs through a symlink are
/// refused: util::Error naming the .deb and the member, and nothing is
/// written outside dest.
void extract_deb(const std::filesystem::path& deb, const std::filesystem::path& dest);

/// Joins the unpacked package tree `from` into the root `to` (which must
/// exist): hard links of its files (copies across file systems), its
/// symlinks as they are (relative ones then resolve inside `to`). A path an
/// earlier package already put there is left as that package made it. A
/// directory of `from` where an earlier package put a symlink or a file is
/// refused (util::Error naming both trees and the path) rather than written
/// through: nothing is written outside `to`.
void join_into(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace archmatrix::prepare
