#pragma once
// exec's files (README, "Run your own program"): `--put SRC[:DST]` and
// `--get GUESTPATH`. Bad arguments are util::Error with one line, thrown
// before anything boots (exec reports them with status 125).

#include <filesystem>
#include <string>
#include <vector>

#include "guest/guest.h"

namespace archmatrix::cli {

/// One --put: a host file or directory and where it goes in the guest.
struct PutSpec {
  std::filesystem::path host;  ///< absolute
  std::string guest;           ///< absolute, normal, not "/"
};

/// SRC[:DST] each; DST defaults to /tmp/<name of SRC>. Throws when a SRC
/// does not exist or a DST is not absolute.
std::vector<PutSpec> parse_puts(const std::vector<std::string>& specs);
/// Each GUESTPATH absolute, no two with the same file name (they land side by side).
void check_gets(const std::vector<std::string>& gets);
/// Copies a file, or a directory tree with every mode kept (links to
/// directories and special files are skipped with a warning on stderr).
void put_one(guest::Guest& g, const PutSpec& p);
/// Brings each file back into `out` ("" : the current directory); a file the
/// program did not make is a warning on stderr, not an error.
void fetch_gets(guest::Guest& g, const std::vector<std::string>& gets, const std::filesystem::path& out);

}  // namespace archmatrix::cli
