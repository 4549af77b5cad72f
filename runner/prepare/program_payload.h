#pragma once
// What `archmatrix exec` sends into a guest for a user's program: the
// program itself and, when it is dynamically linked, its loader and the
// whole DT_NEEDED closure (prepare/dynamic_closure.h), found on the host in
// the user's --lib directories, then the program's own RUNPATH (absolute or
// $ORIGIN-relative, as a CMake build tree sets it), then the --package
// roots, then the cross toolchain's directories. Everything is read and ELF-checked against the
// cell's arch here, before anything boots; what cannot run there is one
// line with the exit status a shell would give (126, or 127 when there is
// no file at all).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/arch.h"

namespace archmatrix::prepare {

/// Exit statuses after a shell's: the program exists but cannot be executed
/// there (not an ELF, a script, a directory, the wrong arch, a library or the
/// loader missing), and there is no file at the path.
inline constexpr int kCannotExecute = 126, kProgramNotFound = 127;
/// archmatrix's own failure (a --lib that is not a directory): exec's 125.
inline constexpr int kExecFailed = 125;

/// Where a dynamic program's loader and libraries are looked for, in this
/// order (the program's RUNPATH directories come after lib_dirs).
struct LibrarySearch {
  std::vector<std::filesystem::path> lib_dirs;  ///< --lib, as given; each must be a directory
  std::filesystem::path package_root;           ///< the --package packages joined; empty: none
  std::vector<std::string> package_names;       ///< their names, for messages
  std::vector<std::filesystem::path> toolchain_dirs;  ///< usually target_library_dirs(arch)
};

/// One file to send into the guest.
struct PayloadFile {
  std::filesystem::path host;
  std::string guest_path;  ///< absolute
  unsigned mode = 0644;
};

struct ProgramPayload {
  std::vector<PayloadFile> files;  ///< the program first, then its loader and libraries
  std::string exec_path;           ///< the program's absolute path in the guest
};

/// The program's bytes. Throws util::Error with a one-line message naming
/// the path: kProgramNotFound when nothing is there, kCannotExecute for a
/// directory, another non-regular file, an unreadable file, a script (#!),
/// a text file or any other file that is not ELF.
std::string read_program(const std::filesystem::path& program);

/// nullopt if bytes are an executable for arch (static, or dynamic when it
/// has a PT_INTERP); otherwise elf::check_elf's line naming the found and
/// the expected machine.
std::optional<std::string> program_mismatch(std::string_view bytes, util::Arch arch);

/// The files to send for program and where to execute it. The program goes
/// to /archmatrix/exec/<its file name>, its libraries to /lib/<triplet>/
/// (the loader's default directory) under their soname, the loader to its
/// PT_INTERP path. Throws util::Error (exit_status() 126, 127 or 125) with a
/// one-line message, e.g. "libfoo.so.1 (needed by ./build/t) not found in
/// --lib build, or /usr/aarch64-linux-gnu/lib".
ProgramPayload program_payload(const std::filesystem::path& program, util::Arch arch, const LibrarySearch& search);

}  // namespace archmatrix::prepare
