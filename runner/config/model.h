#pragma once
// Plain, validated descriptions of what the user asked for. Produced by the
// loaders in this module from YAML; nothing downstream sees yaml-cpp.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/axes.h"
#include "config/yaml_reader.h"
#include "expr/expr.h"
#include "util/arch.h"

namespace archmatrix::config {

/// "Known to fail (or not to apply) where `when` holds", with why and a reference.
struct Expectation {
  std::string when_text;
  std::shared_ptr<const expr::Expr> when;
  std::string reason;
  std::string ref;
  Location where;
};

struct CheckSpec {
  std::string name;
  std::string summary;
  std::vector<Expectation> xfail;
};

enum class Linkage { static_exe, dynamic_exe };

/// A shared library a scenario builds from its own sources (build.libraries),
/// shipped into its guests at lib/<triplet>/lib<name>.so.
struct LibrarySpec {
  std::string name;                       ///< lib<name>.so
  std::vector<std::string> sources;       ///< relative to the scenario's dir
  std::vector<std::string> link_options;  ///< e.g. -Wl,-Ttext-segment=0x41000000
};

struct ScenarioSpec {
  std::string name;
  std::filesystem::path dir;  ///< absolute
  std::filesystem::path file; ///< its scenario.yaml
  Location name_where;         ///< of its `name:` value
  std::string summary;
  std::string description;
  std::string seed;
  std::vector<std::string> sources;  ///< relative to dir
  Linkage link = Linkage::static_exe;
  std::vector<std::string> link_options;  ///< build.link_options, e.g. -no-pie
  std::vector<LibrarySpec> libraries;  ///< needs link: dynamic
  /// build.packages: Debian binary packages of the target arch (bookworm,
  /// the cross toolchain's glibc generation) whose headers and shared
  /// libraries the program builds and runs with; needs link: dynamic.
  std::vector<std::string> packages;
  /// build.link_libraries: names given to target_link_libraries of the
  /// program, after its objects (-l<name>).
  std::vector<std::string> link_libraries;
  /// build.source_packages: Debian source packages (bookworm) the scenario's
  /// own build step (build_cmake) builds for the target, e.g. jemalloc.
  std::vector<std::string> source_packages;
  /// build.cmake: a CMake file of the scenario's directory, included by the
  /// guest build after the program's target is made (images/target).
  std::string build_cmake;
  int timeout_s = 60;
  std::vector<std::string> args;
  bool privileged = false;             ///< run as root instead of uid 65534
  std::vector<CheckSpec> checks;       ///< empty: judged by its exit status
  std::vector<Expectation> xfail;      ///< for a scenario without checks
  std::vector<Expectation> unsupported;  ///< decided at plan time from axes
};

enum class KernelSource { debian, built };

struct KernelRecipe {
  std::string id;               ///< the file's stem, e.g. debian-bookworm-arm64
  std::filesystem::path file;
  util::Arch arch = util::Arch::x86_64;
  KernelSource source = KernelSource::debian;
  std::string suite;            ///< the Debian suite the kernel (debian) or its source (built) comes from
  std::string package;          ///< debian: the metapackage, e.g. linux-image-arm64;
                                ///< built: the source package, e.g. linux-source-6.12
  /// built: fragments beyond the arch's base and one per kernel axis value,
  /// as file names in kernels/fragments/<arch>/ (see prepare/kernel_config.h).
  std::vector<std::string> extra_fragments;
  /// built: every fragment, in order: <arch>/base.config, one per kernel axis
  /// value (<arch>/<axis label>.config, e.g. aarch64/16k.config), then extras.
  std::vector<std::filesystem::path> fragments;
  /// Kernel axes this kernel has, canonical values (release, page_size,
  /// va_bits, vmsplit, source). A machine axis may list several values it
  /// supports, e.g. paging: [4level, 5level].
  std::map<std::string, std::vector<std::string>> provides;
  /// The window unhinted mmap() uses when the kernel's VA size is larger
  /// (52-bit kernels keep 48 or 47 bits by default); empty = same as va_bits.
  std::string va_bits_default;
  std::vector<std::string> cmdline;  ///< extra kernel command line arguments
};

struct Timeouts {
  int boot_s = 120;       ///< QEMU start to the agent's hello
  int no_output_s = 60;   ///< silence on the console (the agent beats every 5 s)
  int margin_s = 60;      ///< added to boot + the scenarios' own timeouts for the overall bound
  double tcg_scale = 1.0; ///< multiplies every timeout (emulation is slower than hardware)
};

/// One `cells:` entry: an arch and, per axis, one or more values (their product).
struct MatrixEntry {
  util::Arch arch = util::Arch::x86_64;
  std::map<std::string, std::vector<std::string>> axes;  ///< canonical values
  int memory_mib = 0;  ///< 0: the matrix default
  int cpus = 0;        ///< 0: the matrix default
  Location where;
};

struct Matrix {
  std::filesystem::path file;
  std::vector<MatrixEntry> entries;
  std::vector<std::string> scenarios;  ///< empty: every scenario found
  Location scenarios_where;            ///< of the `scenarios:` list
  int memory_mib = 1024;
  int cpus = 1;
  Timeouts timeouts;
};

/// Loaders. Each throws util::InputError (file:line:col: what was expected).
Matrix load_matrix(const YamlReader& doc);
ScenarioSpec load_scenario(const YamlReader& doc, const std::filesystem::path& dir);
/// fragments_root: kernels/fragments, where a built recipe's config fragments live.
KernelRecipe load_kernel_recipe(const YamlReader& doc, const std::string& id,
                                const std::filesystem::path& fragments_root);

/// Identifiers a predicate may use: the axes, `arch`, and the guest facts.
bool is_known_predicate_name(std::string_view name);

}  // namespace archmatrix::config
