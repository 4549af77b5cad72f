#include "plan/plan.h"

#include <fnmatch.h>

#include <algorithm>
#include <set>

namespace archmatrix::plan {

namespace {

using config::AxisValues;

// More cells than any machine boots in a day; a matrix past it is a mistake
// (a pasted list, an alias), and building it would take the memory first.
constexpr std::size_t kMaxCells = 4096;

// Counting stops here, so that no product of list sizes overflows.
constexpr std::size_t kCountCap = std::size_t{1} << 40;

// How many cells an entry expands to (kCountCap when at least that many).
std::size_t product_size(const config::MatrixEntry& e) {
  std::size_t n = 1;
  for (const auto& [axis, values] : e.axes) {
    const std::size_t k = std::max<std::size_t>(values.size(), 1);
    n = n > kCountCap / k ? kCountCap : n * k;
  }
  return n;
}

// The matrix's size is counted before any cell is made.
void check_size(const config::Matrix& m) {
  std::size_t total = 0;
  const config::MatrixEntry* past = nullptr;
  for (const auto& e : m.entries) {
    total = std::min(total + product_size(e), kCountCap);
    if (total > kMaxCells && !past) past = &e;
  }
  if (past)
    throw util::InputError(past->where.file, past->where.line, past->where.col,
                           "the matrix expands to " + std::to_string(total) + (total == kCountCap ? " or more" : "") +
                               " cells; at most " + std::to_string(kMaxCells) +
                               " are allowed (this entry goes past the limit): list fewer axis values");
}

// The cartesian product of an entry's axis values, in canonical axis order.
std::vector<AxisValues> expand(const config::MatrixEntry& e) {
  std::vector<AxisValues> out{{}};
  for (const auto& axis : config::all_axes()) {
    auto it = e.axes.find(std::string(axis.name));
    if (it == e.axes.end()) continue;
    std::vector<AxisValues> next;
    for (const auto& partial : out)
      for (const auto& v : it->second) {
        AxisValues a = partial;
        a[std::string(axis.name)] = v;
        next.push_back(std::move(a));
      }
    out = std::move(next);
  }
  return out;
}

std::string cell_id(util::Arch arch, const AxisValues& requested) {
  std::string id(util::arch_info(arch).name);
  for (const auto& axis : config::all_axes()) {
    auto it = requested.find(std::string(axis.name));
    if (it != requested.end()) id += "-" + config::axis_label(axis.name, it->second);
  }
  return id;
}

std::string describe(util::Arch arch, const AxisValues& a) {
  std::string s(util::arch_info(arch).name);
  for (const auto& [k, v] : a) s += " " + k + "=" + v;
  return s;
}

bool recipe_provides(const config::KernelRecipe& k, const std::string& axis, const std::string& v) {
  auto it = k.provides.find(axis);
  if (it == k.provides.end()) {
    // Machine axes need no kernel support unless the recipe restricts them.
    const auto* info = config::find_axis(axis);
    return info && info->kind == config::AxisKind::machine;
  }
  for (const auto& p : it->second)
    if (p == v || (axis == "release" && release_matches(v, p))) return true;
  return false;
}

AxisValues effective_axes(util::Arch arch, const AxisValues& requested,
                          const config::KernelRecipe& k) {
  AxisValues a = requested;
  for (const auto& [axis, values] : k.provides)
    if (!a.count(axis) && values.size() == 1) a[axis] = values.front();
  // x86_64 boots 4-level paging unless the cell asks for 5-level: the user VA
  // size of the developer's laptop is the baseline every other cell differs from.
  if (arch == util::Arch::x86_64 && !a.count("paging")) a["paging"] = "4level";
  return a;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& id) {
  if (patterns.empty()) return true;
  for (const auto& p : patterns)
    if (fnmatch(p.c_str(), id.c_str(), 0) == 0) return true;
  return false;
}

std::vector<PlannedScenario> plan_scenarios(const config::Project& project, const Cell& cell,
                                            const Filters& filters) {
  std::vector<PlannedScenario> out;
  for (const auto& s : project.scenarios) {
    if (!filters.scenarios.empty() &&
        std::find(filters.scenarios.begin(), filters.scenarios.end(), s.name) ==
            filters.scenarios.end())
      continue;
    PlannedScenario ps{&s, false, {}};
    // An evaluation error is left for the verdict, which evaluates again with
    // the guest's facts and makes it this scenario's ERROR.
    const auto m = match_expectation(s.unsupported, "unsupported", cell, nullptr);
    if (m.match) {
      ps.unsupported = true;
      ps.unsupported_reason = expectation_reason(*m.match);
    }
    out.push_back(ps);
  }
  return out;
}

}  // namespace

bool release_matches(std::string_view axis, std::string_view release) {
  if (axis.empty() || release.substr(0, axis.size()) != axis) return false;
  if (release.size() == axis.size()) return true;
  const char next = release[axis.size()];
  return next == '.' || next == '-' || next == '+' || next == '~';
}

ExpectationMatch match_expectation(const std::vector<config::Expectation>& list, std::string_view kind,
                                   const Cell& cell, const std::map<std::string, std::string>* facts) {
  const expr::Env env = [&](std::string_view n) { return lookup_name(cell, facts, n); };
  for (const auto& e : list) {
    try {
      if (expr::evaluate(*e.when, env) == expr::Truth::true_) return {&e, {}};
    } catch (const std::exception& ex) {
      return {nullptr, std::string(kind) + ": '" + e.when_text + "' (" + e.where.file + ":" +
                           std::to_string(e.where.line) + ") cannot be evaluated: " + ex.what()};
    }
  }
  return {};
}

std::string expectation_reason(const config::Expectation& e) {
  return e.reason + (e.ref.empty() ? "" : " (" + e.ref + ")");
}

std::optional<std::string> lookup_name(const Cell& cell,
                                       const std::map<std::string, std::string>* facts,
                                       std::string_view name) {
  std::string key(name);
  if (key == "kernel") key = "kernel_release";
  if (facts) {
    if (auto it = facts->find(key); it != facts->end()) return it->second;
  }
  if (key == "arch") return std::string(util::arch_info(cell.arch).name);
  if (auto it = cell.axes.find(key); it != cell.axes.end()) return it->second;
  return std::nullopt;
}

Plan make_plan(const config::Project& project, const Filters& filters) {
  check_size(project.matrix);
  Plan plan;
  std::set<std::string> ids;
  for (const auto& entry : project.matrix.entries) {
    int runnable = 0;
    for (const auto& requested : expand(entry)) {
      const std::string id = cell_id(entry.arch, requested);
      if (auto why = config::invalid_combination(entry.arch, requested)) {
        plan.skipped.push_back({id, *why, entry.where});
        continue;
      }
      std::vector<const config::KernelRecipe*> found;
      for (const auto& k : project.kernels) {
        if (k.arch != entry.arch) continue;
        bool ok = true;
        for (const auto& [axis, v] : requested) ok = ok && recipe_provides(k, axis, v);
        if (ok) found.push_back(&k);
      }
      if (found.empty()) {
        plan.skipped.push_back({id, "no kernel recipe in kernels/ provides " +
                                        describe(entry.arch, requested), entry.where});
        continue;
      }
      // A Debian kernel is the default: built kernels exist for the settings
      // Debian does not ship. So when the cell does not name its source and
      // exactly one of its matches is a Debian kernel, that is the one.
      if (found.size() > 1 && !requested.count("source")) {
        std::vector<const config::KernelRecipe*> debian;
        for (const auto* k : found)
          if (k->source == config::KernelSource::debian) debian.push_back(k);
        if (debian.size() == 1) found = debian;
      }
      if (found.size() > 1) {
        std::string names;
        for (const auto* k : found) names += (names.empty() ? "" : ", ") + k->id;
        throw util::InputError(entry.where.file, entry.where.line, entry.where.col,
                               "cell " + id + " matches several kernel recipes (" + names +
                                   "); set release or source to choose one");
      }
      ++runnable;
      if (!ids.insert(id).second)
        throw util::InputError(entry.where.file, entry.where.line, entry.where.col,
                               "cell " + id + " is defined twice in the matrix");
      if (!matches_any(filters.cell_patterns, id)) continue;
      Cell c;
      c.id = id;
      c.arch = entry.arch;
      c.kernel = found.front();
      c.axes = effective_axes(entry.arch, requested, *c.kernel);
      c.memory_mib = entry.memory_mib ? entry.memory_mib : project.matrix.memory_mib;
      c.cpus = entry.cpus ? entry.cpus : project.matrix.cpus;
      c.scenarios = plan_scenarios(project, c, filters);
      plan.cells.push_back(std::move(c));
    }
    if (runnable == 0)
      throw util::InputError(entry.where.file, entry.where.line, entry.where.col,
                             "this entry yields no runnable cell: " +
                                 (plan.skipped.empty() ? std::string("?") : plan.skipped.back().reason));
  }
  std::sort(plan.cells.begin(), plan.cells.end(),
            [](const Cell& a, const Cell& b) { return a.id < b.id; });
  if (plan.cells.empty())
    throw util::InputError(project.matrix.file.string(), 0, 0,
                           "no cell matches the --cell filter");
  for (const auto& name : filters.scenarios)
    if (std::none_of(project.scenarios.begin(), project.scenarios.end(),
                     [&](const auto& s) { return s.name == name; }))
      throw util::InputError(project.matrix.file.string(), 0, 0,
                             "--scenario " + name + ": no such scenario in this matrix");
  return plan;
}

}  // namespace archmatrix::plan
