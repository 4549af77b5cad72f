#pragma once
// Which Debian mirror to download from: the one this machine's apt already
// uses (no host name is ever written into the project), and reading apt's
// package metadata. Pure functions, plus one that reads /etc/apt.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace archmatrix::prepare {

/// No Debian mirror in the host's apt sources: nothing can be downloaded,
/// so the whole command stops (exit 3) instead of failing cell by cell.
class NoDebianMirror : public util::Error {
 public:
  using util::Error::Error;
};

/// The Debian archive URI (the one serving a Debian release suite such as
/// bookworm, not the security archive) named in the given apt sources texts
/// (one-line sources.list or deb822 .sources). nullopt if there is none.
std::optional<std::string> debian_mirror(const std::vector<std::string>& source_texts);

/// Reads <etc>/sources.list and <etc>/sources.list.d/*.{list,sources}, where
/// <etc> is /etc/apt, or $ARCHMATRIX_APT_ETC (for tests: another host's apt
/// configuration); throws NoDebianMirror saying so when none is configured.
std::string host_debian_mirror();

/// One stanza of `apt-cache show` output: field name -> value.
using Stanza = std::map<std::string, std::string>;
std::vector<Stanza> parse_stanzas(const std::string& text);

/// Package names of a Depends/Pre-Depends value: the first of each
/// alternative, without version constraints or architecture qualifiers.
std::vector<std::string> dependency_names(const std::string& depends);

}  // namespace archmatrix::prepare
