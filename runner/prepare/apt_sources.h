#pragma once
// Which Debian mirror to download from: the one this machine's apt already
// uses (no host name is ever written into the project), and reading apt's
// package metadata. Pure functions, plus one that reads /etc/apt.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace archmatrix::prepare {

/// The Debian archive URI (the one serving a Debian release suite such as
/// bookworm, not the security archive) named in the given apt sources texts
/// (one-line sources.list or deb822 .sources). nullopt if there is none.
std::optional<std::string> debian_mirror(const std::vector<std::string>& source_texts);

/// Reads /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources};
/// throws util::Error saying so when no Debian mirror is configured.
std::string host_debian_mirror();

/// One stanza of `apt-cache show` output: field name -> value.
using Stanza = std::map<std::string, std::string>;
std::vector<Stanza> parse_stanzas(const std::string& text);

/// Package names of a Depends/Pre-Depends value: the first of each
/// alternative, without version constraints or architecture qualifiers.
std::vector<std::string> dependency_names(const std::string& depends);

}  // namespace archmatrix::prepare
