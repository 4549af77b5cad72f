#include <algorithm>
#include <set>

#include "config/axes.h"
#include "config/kernel_config.h"
#include "config/model.h"
#include "config/text_checks.h"
#include "util/fs.h"

namespace archmatrix::config {

namespace {

const std::set<std::string, std::less<>> kPredicateNames{
    // axes
    "arch", "page_size", "va_bits", "vmsplit", "paging", "release", "source",
    // guest facts (docs/protocol.md)
    "va_bits_default", "user_top", "mmap_default_top", "kernel", "kernel_release", "machine",
    "mem_total_kib", "overcommit_memory", "tmpfs_blksize", "cpus", "la57"};

Expectation load_expectation(const YamlReader& doc, const YAML::Node& n) {
  doc.expect_map(n, "an expectation", {"when", "reason", "ref"});
  Expectation e;
  e.where = doc.where(n);
  e.when_text = doc.required_string(n, "when");
  e.reason = doc.required_string(n, "reason");
  e.ref = doc.optional_string(n, "ref").value_or("");
  auto parsed = expr::parse(e.when_text);
  const YAML::Node when = n["when"];
  if (auto* err = std::get_if<expr::ParseError>(&parsed)) {
    auto w = doc.where(when);
    // Both columns are 1-based; a quoted YAML scalar starts one column later.
    const int quote = when.Tag() == "!" ? 1 : 0;
    throw util::InputError(w.file, w.line, w.col + quote + static_cast<int>(err->column) - 1,
                           "in predicate '" + e.when_text + "': " + err->message);
  }
  e.when = std::make_shared<const expr::Expr>(std::get<expr::Expr>(std::move(parsed)));
  for (const auto& id : expr::identifiers(*e.when))
    if (!is_known_predicate_name(id))
      doc.fail(when, "unknown name '" + id + "' in predicate '" + e.when_text +
                         "'; expected an axis (arch, page_size, va_bits, vmsplit, paging, "
                         "release, source) or a guest fact (see docs/protocol.md)");
  return e;
}

std::vector<Expectation> load_expectations(const YamlReader& doc, const YAML::Node& n,
                                           std::string_view what) {
  std::vector<Expectation> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  doc.expect_sequence(n, what);
  for (const auto& item : n) out.push_back(load_expectation(doc, item));
  return out;
}

std::string canonical_axis_value(const YamlReader& doc, const YAML::Node& where,
                                 const std::string& axis, const std::string& value) {
  const AxisInfo* info = find_axis(axis);
  if (!info) {
    std::string names;
    for (const auto& a : all_axes()) names += (names.empty() ? "" : ", ") + std::string(a.name);
    doc.fail(where, "unknown axis '" + axis + "'; expected one of: " + names);
  }
  auto v = normalize_axis_value(axis, value);
  if (!v)
    doc.fail(where, text::shown(value) + " is not a value of axis " + axis + "; expected " +
                        std::string(info->accepted));
  return *v;
}

// A name from the file, as a path: one the system cannot even look up (too
// long, say) is simply not there, and that is what the message says.
bool file_exists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}
bool is_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

util::Arch required_arch(const YamlReader& doc, const YAML::Node& map) {
  const std::string name = doc.required_string(map, "arch");
  auto arch = util::parse_arch(name);
  if (!arch) doc.fail(map["arch"], "unknown arch '" + name + "'; expected aarch64, armhf or x86_64");
  return *arch;
}

}  // namespace

bool is_known_predicate_name(std::string_view name) { return kPredicateNames.count(name) > 0; }

namespace {

Matrix matrix_from(const YamlReader& doc) {
  const YAML::Node& root = doc.root();
  doc.expect_map(root, "a matrix", {"defaults", "timeouts", "scenarios", "cells"});
  Matrix m;
  m.file = doc.file();
  if (const YAML::Node d = root["defaults"]; d.IsDefined()) {
    doc.expect_map(d, "defaults", {"memory", "cpus"});
    m.memory_mib = doc.optional_int(d, "memory", m.memory_mib, 128, 16384);
    m.cpus = doc.optional_int(d, "cpus", m.cpus, 1, 64);
  }
  if (const YAML::Node t = root["timeouts"]; t.IsDefined()) {
    doc.expect_map(t, "timeouts", {"boot", "no_output", "margin", "tcg_scale"});
    m.timeouts.boot_s = doc.optional_int(t, "boot", m.timeouts.boot_s, 1, 86400);
    m.timeouts.no_output_s = doc.optional_int(t, "no_output", m.timeouts.no_output_s, 10, 86400);
    m.timeouts.margin_s = doc.optional_int(t, "margin", m.timeouts.margin_s, 0, 86400);
    if (auto s = doc.optional_string(t, "tcg_scale")) {
      try {
        m.timeouts.tcg_scale = std::stod(*s);
      } catch (...) {
        m.timeouts.tcg_scale = -1;
      }
      if (!(m.timeouts.tcg_scale >= 0.1 && m.timeouts.tcg_scale <= 100))
        doc.fail(t["tcg_scale"], "expected a number from 0.1 to 100 for 'tcg_scale'");
    }
  }
  if (const YAML::Node s = root["scenarios"]; s.IsDefined() && !(s.IsScalar() && s.Scalar() == "all")) {
    m.scenarios = doc.string_or_list(s, "a scenario name");
    m.scenarios_where = doc.where(s);
    for (auto it = m.scenarios.begin(); it != m.scenarios.end(); ++it)
      if (std::find(m.scenarios.begin(), it, *it) != it) doc.fail(s, "scenario " + text::shown(*it) + " is listed twice");
  }
  const YAML::Node cells = root["cells"];
  if (!cells.IsDefined()) doc.fail(root, "missing required key 'cells'");
  doc.expect_sequence(cells, "cells");
  for (const auto& c : cells) {
    doc.expect_map(c, "a cell entry",
                   {"arch", "page_size", "va_bits", "vmsplit", "paging", "release", "source",
                    "memory", "cpus"});
    MatrixEntry e;
    e.where = doc.where(c);
    e.arch = required_arch(doc, c);
    e.memory_mib = doc.optional_int(c, "memory", 0, 128, 16384);
    e.cpus = doc.optional_int(c, "cpus", 0, 1, 64);
    for (const auto& kv : c) {
      const std::string key = kv.first.Scalar();
      if (!find_axis(key)) continue;
      // A repeated value would plan the same cells again (and multiply the
      // cartesian product): it is a mistake, said where it is.
      if (e.axes.count(key)) doc.fail(kv.first, "axis " + key + " is set twice in this cell entry");
      std::vector<std::string> written;
      for (const auto& v : doc.string_or_list(kv.second, "a value of axis " + key)) {
        auto canonical = canonical_axis_value(doc, kv.second, key, v);
        auto& values = e.axes[key];
        if (auto it = std::find(values.begin(), values.end(), canonical); it != values.end())
          doc.fail(kv.second, text::shown(v) + " repeats the value " + written[static_cast<std::size_t>(it - values.begin())] +
                                  " of axis " + key);
        values.push_back(std::move(canonical));
        written.push_back(v);
      }
    }
    m.entries.push_back(std::move(e));
  }
  if (m.entries.empty()) doc.fail(cells, "expected at least one cell");
  return m;
}

}  // namespace

Matrix load_matrix(const YamlReader& doc) {
  return doc.guarded([&] { return matrix_from(doc); });
}

namespace {

ScenarioSpec scenario_from(const YamlReader& doc, const std::filesystem::path& dir) {
  const YAML::Node& root = doc.root();
  doc.expect_map(root, "a scenario",
                 {"name", "summary", "description", "seed", "build", "run", "checks", "xfail",
                  "unsupported"});
  ScenarioSpec s;
  s.dir = std::filesystem::absolute(dir);
  s.file = doc.file();
  s.name = doc.required_string(root, "name");
  s.name_where = doc.where(root["name"]);
  if (s.name != dir.filename().string())
    doc.fail(root["name"], "scenario name " + text::shown(s.name) + " must equal its directory name '" +
                               dir.filename().string() + "'");
  if (!text::is_scenario_name(s.name))
    doc.fail(root["name"], "expected a scenario name of [a-z0-9._-] characters");
  s.summary = doc.required_string(root, "summary");
  s.description = doc.optional_string(root, "description").value_or("");
  s.seed = doc.optional_string(root, "seed").value_or("");

  const YAML::Node build = doc.required(root, "build");
  doc.expect_map(build, "build",
                 {"sources", "link", "link_options", "libraries", "packages", "link_libraries", "source_packages", "cmake"});
  s.sources = doc.string_or_list(doc.required(build, "sources"), "a source file");
  for (const auto& src : s.sources)
    if (!file_exists(s.dir / src))
      doc.fail(build["sources"], "source file " + text::shown(src) + " does not exist in " + s.dir.string());
  const std::string link = doc.optional_string(build, "link").value_or("static");
  if (link == "static") s.link = Linkage::static_exe;
  else if (link == "dynamic") s.link = Linkage::dynamic_exe;
  else doc.fail(build["link"], "expected 'static' or 'dynamic' for link, found " + text::shown(link));
  if (const YAML::Node o = build["link_options"]; o.IsDefined()) s.link_options = doc.string_or_list(o, "a linker option");
  if (const YAML::Node libs = build["libraries"]; libs.IsDefined()) {
    if (!libs.IsSequence()) doc.fail(libs, "expected libraries: a list of {name, sources, link_options}");
    if (s.link != Linkage::dynamic_exe) doc.fail(libs, "shared libraries need link: dynamic");
    for (const auto& l : libs) {
      doc.expect_map(l, "a library", {"name", "sources", "link_options"});
      LibrarySpec lib;
      lib.name = doc.required_string(l, "name");
      if (!text::is_library_name(lib.name))
        doc.fail(l["name"], "expected a library name of [A-Za-z0-9_] characters, found " + text::shown(lib.name));
      lib.sources = doc.string_or_list(doc.required(l, "sources"), "a source file");
      for (const auto& src : lib.sources)
        if (!file_exists(s.dir / src))
          doc.fail(l["sources"], "source file " + text::shown(src) + " does not exist in " + s.dir.string());
      if (const YAML::Node o = l["link_options"]; o.IsDefined()) lib.link_options = doc.string_or_list(o, "a linker option");
      s.libraries.push_back(std::move(lib));
    }
  }
  if (const YAML::Node pkgs = build["packages"]; pkgs.IsDefined()) {
    if (s.link != Linkage::dynamic_exe) doc.fail(pkgs, "Debian packages need link: dynamic");
    for (auto& p : doc.string_or_list(pkgs, "a Debian package name")) {
      if (!text::is_debian_package(p))
        doc.fail(pkgs, "expected a Debian package name ([a-z0-9+.-]), found " + text::shown(p));
      if (std::find(s.packages.begin(), s.packages.end(), p) == s.packages.end()) s.packages.push_back(std::move(p));
    }
  }
  if (const YAML::Node ll = build["link_libraries"]; ll.IsDefined()) {
    s.link_libraries = doc.string_or_list(ll, "a library name");
    for (const auto& l : s.link_libraries)
      if (!text::is_link_library(l))
        doc.fail(ll, "expected a library name for -l<name> ([A-Za-z0-9_.+-]), found " + text::shown(l));
  }

  if (const YAML::Node sp = build["source_packages"]; sp.IsDefined()) {
    for (auto& p : doc.string_or_list(sp, "a Debian source package name")) {
      if (!text::is_debian_package(p))
        doc.fail(sp, "expected a Debian source package name ([a-z0-9+.-]), found " + text::shown(p));
      if (std::find(s.source_packages.begin(), s.source_packages.end(), p) == s.source_packages.end())
        s.source_packages.push_back(std::move(p));
    }
    if (!build["cmake"].IsDefined())
      doc.fail(sp, "source packages are built by the scenario's own build step: add 'cmake: <file>' (a CMake file in " +
                       s.dir.string() + ")");
  }
  if (const YAML::Node cm = build["cmake"]; cm.IsDefined()) {
    s.build_cmake = doc.scalar(cm, "a CMake file of the scenario's directory");
    if (s.build_cmake.find("..") != std::string::npos || (!s.build_cmake.empty() && s.build_cmake[0] == '/'))
      doc.fail(cm, "expected a file inside the scenario's directory, found " + text::shown(s.build_cmake));
    if (!is_file(s.dir / s.build_cmake))
      doc.fail(cm, "build step " + text::shown(s.build_cmake) + " does not exist in " + s.dir.string());
  }

  if (const YAML::Node run = root["run"]; run.IsDefined()) {
    doc.expect_map(run, "run", {"timeout", "args", "privileged"});
    s.timeout_s = doc.optional_int(run, "timeout", s.timeout_s, 1, 86400);
    s.privileged = doc.optional_bool(run, "privileged", false);
    if (const YAML::Node a = run["args"]; a.IsDefined() && !(a.IsSequence() && a.size() == 0)) {
      s.args = doc.string_or_list(a, "an argument");
      for (const auto& arg : s.args)
        if (arg.empty() || arg.find_first_of(" \t\n") != std::string::npos)
          doc.fail(a, "arguments may not be empty or contain white space: " + text::shown(arg));
    }
  }
  if (const YAML::Node checks = root["checks"]; checks.IsDefined()) {
    if (!checks.IsMap()) doc.fail(checks, "expected checks (a mapping of check name to its spec)");
    for (const auto& kv : checks) {
      CheckSpec c;
      c.name = kv.first.Scalar();
      if (!text::is_check_name(c.name))
        doc.fail(kv.first, "expected a check name of [A-Za-z0-9_.-] characters, found " + text::shown(c.name));
      if (std::any_of(s.checks.begin(), s.checks.end(), [&](const CheckSpec& o) { return o.name == c.name; }))
        doc.fail(kv.first, "check " + text::shown(c.name) + " is defined twice");
      if (!kv.second.IsNull()) {
        doc.expect_map(kv.second, "a check", {"summary", "xfail"});
        c.summary = doc.optional_string(kv.second, "summary").value_or("");
        c.xfail = load_expectations(doc, kv.second["xfail"], "xfail");
      }
      s.checks.push_back(std::move(c));
    }
  }
  s.xfail = load_expectations(doc, root["xfail"], "xfail");
  if (!s.xfail.empty() && !s.checks.empty())
    doc.fail(root["xfail"], "a scenario with checks declares xfail per check, not at the top level");
  s.unsupported = load_expectations(doc, root["unsupported"], "unsupported");
  return s;
}

}  // namespace

ScenarioSpec load_scenario(const YamlReader& doc, const std::filesystem::path& dir) {
  return doc.guarded([&] { return scenario_from(doc, dir); });
}

namespace {

KernelRecipe kernel_recipe_from(const YamlReader& doc, const std::string& id,
                                const std::filesystem::path& fragments_root) {
  const YAML::Node& root = doc.root();
  doc.expect_map(root, "a kernel recipe", {"arch", "source", "debian", "built", "provides", "cmdline"});
  KernelRecipe k;
  k.id = id;
  k.file = doc.file();
  k.arch = required_arch(doc, root);
  const std::string source = doc.required_string(root, "source");
  if (source == "debian") {
    k.source = KernelSource::debian;
    const YAML::Node d = root["debian"];
    if (!d.IsDefined()) doc.fail(root, "a debian kernel recipe needs a 'debian' section");
    doc.expect_map(d, "debian", {"suite", "package"});
    k.suite = doc.required_string(d, "suite");
    if (k.suite != "bookworm" && k.suite != "trixie" && k.suite != "sid")
      doc.fail(d["suite"], "expected suite bookworm, trixie or sid, found " + text::shown(k.suite));
    k.package = doc.required_string(d, "package");
    // It names a cache directory and is an apt-get argument: never a path or an option.
    if (!text::is_debian_package(k.package))
      doc.fail(d["package"], "expected a Debian package name ([a-z0-9][a-z0-9+.-]+, Debian policy 5.6.1), found " +
                                 text::shown(k.package));
  } else if (source == "built") {
    k.source = KernelSource::built;
    const YAML::Node b = root["built"];
    if (!b.IsDefined()) doc.fail(root, "a built kernel recipe needs a 'built' section (suite, package)");
    doc.expect_map(b, "built", {"suite", "package", "fragments"});
    k.suite = doc.required_string(b, "suite");
    if (k.suite != "bookworm" && k.suite != "trixie" && k.suite != "sid")
      doc.fail(b["suite"], "expected suite bookworm, trixie or sid, found " + text::shown(k.suite));
    k.package = doc.required_string(b, "package");
    if (!text::linux_source_release(k.package))
      doc.fail(b["package"], "expected a Debian kernel source package, linux-source-<major>.<minor>, found " +
                                 text::shown(k.package));
    if (const YAML::Node f = b["fragments"]; f.IsDefined() && !(f.IsSequence() && f.size() == 0))
      for (const auto& name : doc.string_or_list(f, "a fragment file name")) k.extra_fragments.push_back(name);
  } else {
    doc.fail(root["source"], "expected source debian or built, found " + text::shown(source));
  }
  k.provides["source"] = {source};
  const YAML::Node p = doc.required(root, "provides");
  doc.expect_map(p, "provides",
                 {"release", "page_size", "va_bits", "va_bits_default", "vmsplit", "paging"});
  for (const auto& kv : p) {
    const std::string key = kv.first.Scalar();
    if (key == "va_bits_default") {
      k.va_bits_default = canonical_axis_value(doc, kv.second, "va_bits", doc.scalar(kv.second, key));
      continue;
    }
    for (const auto& v : doc.string_or_list(kv.second, "a value of axis " + key))
      k.provides[key].push_back(canonical_axis_value(doc, kv.second, key, v));
  }
  if (!k.provides.count("release")) doc.fail(p, "missing required key 'release' in provides");
  if (k.source == KernelSource::built) {
    // The release a source package builds is in its name; a recipe cannot claim another.
    const std::string from_package = k.package.substr(std::string("linux-source-").size());
    for (const auto& r : k.provides["release"])
      if (from_package != r && from_package.rfind(r + ".", 0) != 0)
        doc.fail(p["release"], "release " + r + " does not match the source package " + k.package +
                                   " (it builds " + from_package + ")");
    AxisValues one;
    for (const auto& [axis, values] : k.provides) {
      if (values.size() != 1 && axis != "source")
        doc.fail(p[axis], "a built kernel has one value of " + axis + " (one .config), found a list");
      if (axis != "source" && axis != "release") one[axis] = values.front();
    }
    if (auto why = invalid_combination(k.arch, one)) doc.fail(p, "this kernel cannot exist: " + *why);
    // Kconfig's defaults must never decide an axis silently: a built kernel
    // names every kernel axis of its arch, and each value has its fragment.
    std::vector<std::string> axes;
    if (k.arch == util::Arch::aarch64) axes = {"page_size", "va_bits"};
    if (k.arch == util::Arch::armhf) axes = {"vmsplit"};
    const std::filesystem::path dir = fragments_root / std::string(util::arch_info(k.arch).name);
    const auto need = [&](const std::filesystem::path& f, const YAML::Node& at, const std::string& what) {
      if (!is_file(f))
        doc.fail(at, "no config fragment " + f.string() + " (" + what + ")");
      k.fragments.push_back(f);
      parse_config_fragment(util::read_file(f), f);  // a malformed line is bad input now, not at build time
    };
    need(dir / "base.config", root["arch"], "the minimal config every built kernel of this arch starts from");
    for (const auto& axis : axes) {
      auto it = k.provides.find(axis);
      if (it == k.provides.end() || !p[axis].IsDefined())
        doc.fail(p, "a built " + std::string(util::arch_info(k.arch).name) + " kernel must say its " + axis +
                        " (provides: " + axis + ": ...), so that no Kconfig default decides it");
      need(dir / (axis_label(axis, it->second.front()) + ".config"), p[axis],
           "the fragment for " + axis + " " + it->second.front());
    }
    for (const auto& extra : k.extra_fragments) need(dir / extra, root["built"]["fragments"], "listed in fragments");
  }
  if (!k.provides.count("page_size")) k.provides["page_size"] = {"4096"};
  if (const YAML::Node c = root["cmdline"]; c.IsDefined() && !(c.IsSequence() && c.size() == 0))
    k.cmdline = doc.string_or_list(c, "a kernel argument");
  return k;
}

}  // namespace

KernelRecipe load_kernel_recipe(const YamlReader& doc, const std::string& id,
                                const std::filesystem::path& fragments_root) {
  return doc.guarded([&] { return kernel_recipe_from(doc, id, fragments_root); });
}

}  // namespace archmatrix::config
