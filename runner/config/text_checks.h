#pragma once
// Bounded, hand-written checks of untrusted text (names, versions, config
// fragment lines), after ninja's lexer: one pass over the characters, no
// recursion, no backtracking. No regex engine is used on input: libstdc++'s
// matcher recurses once per character and overflows the stack on a long
// value. Every check has a length bound, so an error message built from a
// rejected value stays one readable line (see shown()).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace archmatrix::config::text {

/// The longest name (scenario, check, library, package) any check accepts.
inline constexpr std::size_t kMaxName = 128;
/// The longest line of a config fragment or .config (Kconfig strings such as
/// CONFIG_CMDLINE are far shorter: the kernel's command line is at most 4 KiB).
inline constexpr std::size_t kMaxConfigLine = 4096;

/// A set of ASCII characters written as in a regex bracket: "a-z0-9._-"
/// (a '-' first or last is itself).
class Charset {
 public:
  explicit Charset(std::string_view spec);
  bool has(char c) const { return bits_[static_cast<unsigned char>(c)]; }

 private:
  bool bits_[256] = {};
};

/// True when s is 1..max_len characters, s[0] in `first`, the rest in `rest`.
bool matches(std::string_view s, const Charset& first, const Charset& rest, std::size_t max_len = kMaxName);

/// A Debian package name (policy 5.6.1): [a-z0-9][a-z0-9+.-]+, so never a
/// path ("../x") or an option ("-o...").
bool is_debian_package(std::string_view s);
/// A scenario name: [a-z0-9][a-z0-9._-]*.
bool is_scenario_name(std::string_view s);
/// A check name: [A-Za-z0-9_.-]+.
bool is_check_name(std::string_view s);
/// A shared library the scenario builds: [A-Za-z0-9_]+.
bool is_library_name(std::string_view s);
/// A library for -l<name>: [A-Za-z0-9_][A-Za-z0-9_.+-]*.
bool is_link_library(std::string_view s);
/// Dotted decimal numbers, "7", "6.12", "6.1.0": \d+(\.\d+)*, at most 32 characters.
bool is_dotted_number(std::string_view s);

/// "linux-source-<major>.<minor>" -> "<major>.<minor>"; nullopt otherwise.
std::optional<std::string_view> linux_source_release(std::string_view package);

/// "K/N" with 1..4 digits each, as numbers; nullopt otherwise.
std::optional<std::pair<int, int>> fraction(std::string_view s);

/// One assignment of a config fragment or .config, without surrounding blanks:
/// `CONFIG_<NAME>=<y|m|n|-?digits|0x hex|"string">` or `# CONFIG_<NAME> is not set`
/// (value "n"). NAME is [A-Za-z0-9_]+; a string may hold \-escapes.
struct ConfigAssignment {
  std::string_view symbol;  ///< without CONFIG_
  std::string_view value;
};
/// The assignment on `line`, or nullopt when the line is not one (comments,
/// blanks, anything else, and lines longer than kMaxConfigLine).
std::optional<ConfigAssignment> parse_config_assignment(std::string_view line);

/// `s` for an error message: quoted, non-printable bytes as '?', and cut to
/// the first 60 characters with its length when longer.
std::string shown(std::string_view s);

}  // namespace archmatrix::config::text
