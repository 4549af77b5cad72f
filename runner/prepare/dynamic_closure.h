#pragma once
// What a dynamically linked guest program needs besides itself: its loader
// (PT_INTERP) and, transitively, every DT_NEEDED shared library, found in the
// target's library directories (the Debian cross toolchain's for aarch64 and
// armhf, never the host's for them) and ELF-checked against the guest's arch
// before they go into an initramfs.

#include <filesystem>
#include <string>
#include <vector>

#include "util/arch.h"
#include "util/error.h"

namespace archmatrix::prepare {

struct GuestFile {
  std::string guest_path;       ///< relative to the guest's root, e.g. lib/aarch64-linux-gnu/libc.so.6
  std::filesystem::path host;   ///< where its bytes come from
};

/// Why runtime_closure could not make the closure. what() is a message for
/// a scenario's build log; the fields let a caller (exec) say it its own way.
class ClosureError : public util::Error {
 public:
  enum class Kind { missing_loader, missing_library, wrong_arch };
  ClosureError(const std::string& what, Kind k, std::string missing, std::filesystem::path by,
               std::filesystem::path file = {}, std::string mismatch = {})
      : util::Error(what), kind(k), name(std::move(missing)), needed_by(std::move(by)), found(std::move(file)),
        why(std::move(mismatch)) {}
  Kind kind;
  std::string name;                 ///< the soname, or the loader's PT_INTERP path
  std::filesystem::path needed_by;  ///< the host file that needs it (the program or a library)
  std::filesystem::path found;      ///< wrong_arch: the file found for it
  std::string why;                  ///< wrong_arch: check_elf's "is ..., expected ..."
};

/// The directories target libraries come from: /usr/<triplet>/lib for a
/// cross target, the host's multiarch directories for the host's own arch.
std::vector<std::filesystem::path> target_library_dirs(util::Arch arch);

/// The loader (for an executable) and the shared libraries exe (an
/// executable or a shared library) needs, each once, found in
/// `search` (first hit wins) and checked with elf::check_elf. Libraries go to
/// lib/<triplet>/ in the guest (the loader's default path), the loader to
/// its PT_INTERP path. Throws ClosureError naming exe and what is missing or
/// wrong (a library for another arch is refused, never shipped), util::Error
/// when exe or a library is not an ELF file.
std::vector<GuestFile> runtime_closure(const std::filesystem::path& exe, util::Arch arch,
                                       const std::vector<std::filesystem::path>& search);

}  // namespace archmatrix::prepare
