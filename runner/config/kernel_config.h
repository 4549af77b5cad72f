#pragma once
// Kernel .config arithmetic for built kernels (pure, no processes): reading
// config fragments, merging them into the KCONFIG_ALLCONFIG file that
// `make allnoconfig` starts from, checking that every line a fragment asked
// for survived Kconfig's dependency resolution (a symbol whose dependency is
// missing is silently dropped by Kconfig; here it is an error naming the
// fragment's file and line), and the content address of a built kernel.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace archmatrix::config {

/// One assignment of a fragment: CONFIG_<symbol>=<value>, or
/// "# CONFIG_<symbol> is not set" (value "n").
struct ConfigLine {
  std::string symbol;  ///< without the CONFIG_ prefix
  std::string value;   ///< y, m, n, a number or a quoted string, as written
  std::filesystem::path file;
  int line = 0;
};

/// Parses a fragment. Blank lines and other comments are skipped; anything
/// else throws util::InputError naming file:line and what was expected.
std::vector<ConfigLine> parse_config_fragment(std::string_view text, const std::filesystem::path& file);

/// The merged fragment text: one line per symbol, the last fragment to set a
/// symbol wins (the order is base, axis values, extras).
std::string merge_config_fragments(const std::vector<ConfigLine>& lines);

/// The resolved .config as symbol -> value ("n" for "is not set"; symbols
/// absent from the file are absent here).
std::map<std::string, std::string> parse_dot_config(std::string_view text);

/// One message per requested line the resolved .config does not honour,
/// "<file>:<line>: CONFIG_X=y requested, the resolved .config has <what>".
/// Only the last assignment of each symbol counts.
std::vector<std::string> config_mismatches(const std::vector<ConfigLine>& requested, std::string_view dot_config);

/// What decides a built kernel's bits.
struct BuiltKernelInputs {
  std::string arch;            ///< archmatrix arch name
  std::string source_package;  ///< linux-source-6.12
  std::string source_version;  ///< its Debian version
  std::string source_sha256;   ///< of the .deb, from the signed index
  std::string toolchain;       ///< the cross compiler's and linker's --version lines
  std::string make_target;     ///< Image, zImage, bzImage
};

/// Content address of the kernel built from inputs and a resolved .config.
std::string built_kernel_key(const BuiltKernelInputs& in, std::string_view dot_config);

/// Address of the inputs before Kconfig runs (fragment texts instead of the
/// resolved .config): lets a later run find its kernel without configuring.
std::string built_kernel_inputs_key(const BuiltKernelInputs& in, const std::vector<std::string>& fragment_texts);

}  // namespace archmatrix::config
