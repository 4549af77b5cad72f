#include "report/attribution.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "expr/expr.h"
#include "util/text_safe.h"

namespace archmatrix::report {

namespace {

using verdict::Code;

// The preferred axis order; it decides ties, so it is the order a reader
// thinks in: the architecture first, then the memory-layout settings, then
// the kernel version.
constexpr std::array<std::string_view, 6> kAxisOrder{"arch", "page_size", "va_bits", "vmsplit", "paging", "release"};

// Facts of the guest's memory layout that attribution may use when the axes
// explain nothing; all numbers (docs/protocol.md, "Facts").
constexpr std::array<std::string_view, 4> kLayoutFacts{"va_bits_default", "tmpfs_blksize", "overcommit_memory",
                                                       "la57"};

bool is_layout_fact(std::string_view name) {
  return std::find(kLayoutFacts.begin(), kLayoutFacts.end(), name) != kLayoutFacts.end();
}

enum class Order { none, number, version };

Order order_of(std::string_view axis) {
  if (axis == "page_size" || axis == "va_bits" || is_layout_fact(axis)) return Order::number;
  if (axis == "release") return Order::version;
  return Order::none;
}

std::optional<long long> to_number(std::string_view s) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// -1, 0, 1; nullopt when the two values cannot be ordered (then no threshold
// atom is true for that cell). The predicate language's comparer, so an
// attribution means what the same text means in an expectation.
std::optional<int> compare(std::string_view axis, std::string_view a, std::string_view b) {
  if (order_of(axis) == Order::none) return std::nullopt;
  return expr::compare_values(a, b);
}

// Sort key for values within an axis: ordered axes by their order (values
// that do not parse last, by text), others by text.
bool value_less(std::string_view axis, const std::string& a, const std::string& b) {
  const auto c = compare(axis, a, b);
  if (c) return *c < 0;
  const bool pa = compare(axis, a, a).has_value(), pb = compare(axis, b, b).has_value();
  if (pa != pb) return pa;
  return a < b;
}

std::string size_text(const std::string& v) {
  auto n = to_number(v);
  if (!n || *n <= 0) return v;
  if (*n % (1024LL * 1024) == 0) return std::to_string(*n / (1024 * 1024)) + "M";
  if (*n % 1024 == 0) return std::to_string(*n / 1024) + "K";
  return v;
}

using CellValues = std::map<std::string, std::optional<std::string>>;

bool holds(const Atom& a, const CellValues& cell) {
  auto it = cell.find(a.axis);
  const std::optional<std::string>* v = it == cell.end() ? nullptr : &it->second;
  if (!v || !v->has_value()) return a.op == Atom::Op::ne;
  switch (a.op) {
    // Equality as predicates have it on ordered axes: 7 == 7.0.
    case Atom::Op::eq: {
      auto c = compare(a.axis, **v, a.value);
      return c ? *c == 0 : **v == a.value;
    }
    case Atom::Op::ne: {
      auto c = compare(a.axis, **v, a.value);
      return c ? *c != 0 : **v != a.value;
    }
    case Atom::Op::ge: {
      auto c = compare(a.axis, **v, a.value);
      return c && *c >= 0;
    }
    case Atom::Op::le: {
      auto c = compare(a.axis, **v, a.value);
      return c && *c <= 0;
    }
  }
  return false;
}

std::vector<std::string> axis_order(const std::set<std::string>& present) {
  std::vector<std::string> out;
  for (auto a : kAxisOrder)
    if (present.count(std::string(a))) out.emplace_back(a);
  for (const auto& a : present)
    if (std::find(kAxisOrder.begin(), kAxisOrder.end(), a) == kAxisOrder.end() && !is_layout_fact(a))
      out.push_back(a);
  for (auto f : kLayoutFacts)
    if (present.count(std::string(f))) out.emplace_back(f);
  return out;
}

// Every atom over the considered cells, in preference order, without those
// that are true on all of them or on none: such an atom separates nothing and
// only makes a conjunction longer.
std::vector<Atom> candidate_atoms(const std::vector<CellValues>& cells) {
  std::set<std::string> present;
  for (const auto& c : cells)
    for (const auto& [axis, v] : c) present.insert(axis);
  std::vector<Atom> atoms;
  for (const auto& axis : axis_order(present)) {
    std::vector<std::string> values;
    for (const auto& c : cells)
      if (auto it = c.find(axis); it != c.end() && it->second) values.push_back(*it->second);
    std::sort(values.begin(), values.end(), [&](const auto& a, const auto& b) { return value_less(axis, a, b); });
    values.erase(std::unique(values.begin(), values.end()), values.end());
    std::vector<Atom::Op> ops{Atom::Op::eq};
    if (order_of(axis) != Order::none) ops.insert(ops.end(), {Atom::Op::ge, Atom::Op::le});
    ops.push_back(Atom::Op::ne);
    for (auto op : ops)
      for (const auto& v : values) {
        Atom a{axis, op, v, false};
        if (op != Atom::Op::eq && op != Atom::Op::ne && !compare(axis, v, v)) continue;
        std::size_t n = 0;
        for (const auto& c : cells) n += holds(a, c) ? 1 : 0;
        if (n > 0 && n < cells.size()) atoms.push_back(std::move(a));
      }
  }
  return atoms;
}

CellValues values_of(const CellSummary& c) {
  CellValues v;
  v["arch"] = c.arch;
  for (const auto& [axis, value] : c.axes) v[axis] = value;
  return v;
}

// Fills unset axes from the guest's facts of the same name, and leaves axes
// neither set nor reported as unset, once the set of axes over all
// considered cells is known.
void complete(std::vector<CellValues>& values, const std::vector<const CellSummary*>& cells) {
  std::set<std::string> axes;
  for (const auto& v : values)
    for (const auto& [axis, value] : v) axes.insert(axis);
  for (std::size_t i = 0; i < values.size(); ++i)
    for (const auto& axis : axes) {
      if (values[i].count(axis)) continue;
      auto f = cells[i]->facts.find(axis);
      values[i][axis] = f == cells[i]->facts.end() ? std::nullopt : std::optional<std::string>(f->second);
    }
}

}  // namespace

std::string fact_note(const std::vector<Atom>& atoms) {
  std::string names;
  for (const auto& a : atoms)
    if (a.fact) names += (names.empty() ? "" : ", ") + a.axis;
  return names.empty() ? "" : " (" + names + ": a fact the guest reported, no axis of the matrix)";
}

namespace {

std::string predicate_text(const std::vector<Atom>& atoms) {
  std::string out = "fails exactly when ";
  for (std::size_t i = 0; i < atoms.size(); ++i) out += (i ? " && " : "") + atoms[i].text();
  return out + fact_note(atoms);
}

// The first atom, or pair of atoms, true exactly on the breaking cells.
std::optional<std::vector<Atom>> separating(const std::vector<CellValues>& values, const std::vector<bool>& breaks) {
  const auto atoms = candidate_atoms(values);
  // truth[i][k]: atom i on considered cell k.
  std::vector<std::vector<bool>> truth;
  for (const auto& atom : atoms) {
    std::vector<bool> t;
    for (const auto& v : values) t.push_back(holds(atom, v));
    truth.push_back(std::move(t));
  }
  for (std::size_t i = 0; i < atoms.size(); ++i)
    if (truth[i] == breaks) return std::vector<Atom>{atoms[i]};
  for (std::size_t i = 0; i < atoms.size(); ++i)
    for (std::size_t j = i + 1; j < atoms.size(); ++j) {
      bool match = true;
      for (std::size_t k = 0; k < breaks.size() && match; ++k) match = (truth[i][k] && truth[j][k]) == breaks[k];
      if (match) return std::vector<Atom>{atoms[i], atoms[j]};
    }
  return std::nullopt;
}

Attribution attribute_column(const RunSummary& s, const CheckColumn& col) {
  Attribution a;
  a.column = col;
  std::vector<const CellSummary*> cells;
  std::vector<bool> breaks;
  for (const auto& c : s.cells) {
    const auto* r = find_result(c, col);
    if (!r) continue;
    const bool breaking = r->code == Code::FAIL || r->code == Code::XFAIL;
    const bool holding = r->code == Code::PASS || r->code == Code::XPASS;
    if (!breaking && !holding) continue;
    cells.push_back(&c);
    breaks.push_back(breaking);
    (breaking ? a.breaking : a.holding).push_back(c.id);
  }
  std::sort(a.breaking.begin(), a.breaking.end());
  std::sort(a.holding.begin(), a.holding.end());
  if (cells.empty()) {
    a.text = "no PASS or FAIL outcome";
    return a;
  }
  if (a.breaking.empty()) {
    a.kind = Attribution::Kind::nowhere;
    a.text = "fails nowhere";
    return a;
  }
  if (a.holding.empty()) {
    a.kind = Attribution::Kind::everywhere;
    a.text = "fails everywhere";
    return a;
  }

  std::vector<CellValues> values;
  for (const auto* c : cells) values.push_back(values_of(*c));
  complete(values, cells);
  if (auto found = separating(values, breaks)) {
    a.kind = Attribution::Kind::predicate;
    a.atoms = std::move(*found);
    a.text = predicate_text(a.atoms);
    return a;
  }
  // The axes cannot say it: the layout facts no axis sets may.
  bool any_fact = false;
  for (std::size_t k = 0; k < cells.size(); ++k)
    for (auto f : kLayoutFacts) {
      const std::string name(f);
      if (values[k].count(name)) continue;
      auto it = cells[k]->facts.find(name);
      values[k][name] = it == cells[k]->facts.end() ? std::nullopt : std::optional<std::string>(it->second);
      any_fact = any_fact || it != cells[k]->facts.end();
    }
  if (any_fact)
    if (auto found = separating(values, breaks)) {
      for (auto& atom : *found) atom.fact = is_layout_fact(atom.axis);
      a.kind = Attribution::Kind::predicate;
      a.atoms = std::move(*found);
      a.text = predicate_text(a.atoms);
      return a;
    }
  a.kind = Attribution::Kind::unexplained;
  a.text = "no explanation by the axes or the layout facts";
  return a;
}

}  // namespace

std::string CheckColumn::name() const { return check.empty() ? scenario : scenario + "/" + check; }

std::vector<CheckColumn> check_columns(const RunSummary& s) {
  std::set<CheckColumn> seen;
  for (const auto& c : s.cells)
    for (const auto& sc : c.scenarios)
      for (const auto& r : sc.results) seen.insert({sc.scenario, r.check});
  std::vector<CheckColumn> out(seen.begin(), seen.end());
  // By name, as the console table numbers its columns ("a/b" and "a-b" sort
  // differently as pairs than as names).
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.name() < y.name(); });
  return out;
}

const ScenarioRow* find_scenario(const CellSummary& c, const std::string& scenario) {
  for (const auto& sc : c.scenarios)
    if (sc.scenario == scenario) return &sc;
  return nullptr;
}

const ResultRow* find_result(const CellSummary& c, const CheckColumn& col) {
  const auto* sc = find_scenario(c, col.scenario);
  if (!sc) return nullptr;
  for (const auto& r : sc->results)
    if (r.check == col.check) return &r;
  return nullptr;
}

std::string Atom::text() const {
  static constexpr std::array<std::string_view, 4> kOps{"==", ">=", "<=", "!="};
  const std::string v = axis == "page_size" ? size_text(value) : value;
  return axis + " " + std::string(kOps[static_cast<std::size_t>(op)]) + " " + v;
}

std::vector<Attribution> attribute(const RunSummary& s) {
  std::vector<Attribution> out;
  for (const auto& col : check_columns(s)) out.push_back(attribute_column(s, col));
  return out;
}

std::string attribution_text(const RunSummary& s) {
  const auto all = attribute(s);
  if (all.empty()) return "";
  std::string out = "attribution (where each check breaks, over the cells where it passed or failed):\n";
  bool any = false;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& a = all[i];
    if (a.breaking.empty()) continue;
    any = true;
    out += fmt::format("  [{}] {}: {} ({} of {} cells)\n", i + 1, util::terminal_text(a.column.name(), 1000), util::terminal_text(a.text, 1000), a.breaking.size(),
                       a.breaking.size() + a.holding.size());
  }
  if (!any) out += "  no check breaks anywhere\n";
  return out;
}

}  // namespace archmatrix::report
