#pragma once
// Predicates over a cell's axes and guest facts, as written in scenario and
// check expectations ("XFAIL/UNSUPPORTED where ..."), after LLVM lit's
// XFAIL:/REQUIRES: expressions:
//
//   predicate  := or
//   or         := and ( '||' and )*
//   and        := unary ( '&&' unary )*
//   unary      := '!' unary | '(' or ')' | 'true' | 'false' | comparison
//   comparison := NAME ( '==' | '!=' | '<' | '<=' | '>' | '>=' ) VALUE
//
// NAME is [A-Za-z_][A-Za-z0-9_]* and always stands on the left. VALUE is a
// number (16384, 0x4000, 16K, 16KiB; binary units K M G T), a version (6.12,
// two or more dotted numbers), a bare word (aarch64, x86_64, 4level) or a
// quoted string ("2G/2G", '6.12'); quotes only delimit, what the text looks
// like decides what it is. A bare name with no comparison is an error.
//
// Comparison: two numbers compare as numbers; a version against a version or
// a number compares component-wise (6.1 < 6.12 < 6.19 < 7 == 7.0); anything
// else is string equality, and only == and != apply to it. A variable's value
// is a number if it reads as one, else a version if it starts with one
// ("6.12.48+deb13-arm64" is 6.12.48), else a word.
//
// Pure: no I/O. Variables come from the caller through an Env.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/error.h"

namespace archmatrix::expr {

namespace detail {
struct Node;  // the AST, defined in expr/node.h
}

/// A parsed predicate: immutable, cheap to copy (shares its tree).
class Expr {
 public:
  explicit Expr(std::shared_ptr<const detail::Node> root) : root_(std::move(root)) {}
  const detail::Node& root() const { return *root_; }

 private:
  std::shared_ptr<const detail::Node> root_;
};

/// Where and why a predicate does not parse. `column` is 1-based within the
/// predicate text (text.size() + 1 when the text ended too soon); `message`
/// says what was expected and what was found, without the column.
struct ParseError {
  std::size_t column;
  std::string message;
};

/// Parses a predicate. Rejects, with a ParseError, besides syntax errors:
/// a value on the left ("4K < page_size"), a bare name, '<'/'<='/'>'/'>='
/// against a word, malformed numbers ("4k", "4KB", "0xZZ") and numbers that
/// do not fit in 64 bits.
std::variant<Expr, ParseError> parse(std::string_view text);

/// Three-valued truth (Kleene): unknown stands for "depends on a variable
/// that is not known yet".
enum class Truth { false_, true_, unknown };

/// Looks a variable up by name: its value as text, or nullopt when undefined.
using Env = std::function<std::optional<std::string>(std::string_view name)>;

/// Thrown by evaluate() when a comparison cannot be made with the value a
/// variable has, e.g. `arch < 4K` where arch is "aarch64" (ordering needs a
/// number or a version on both sides). Bad input: exit status 2 if uncaught.
class EvalError : public util::Error {
 public:
  explicit EvalError(const std::string& what) : util::Error(what, util::kExitBadInput) {}
};

/// Evaluates against `env`. A comparison with an undefined variable is
/// unknown; unknown && false = false, unknown || true = true, !unknown =
/// unknown. Every comparison is evaluated (no short-circuit), so a type error
/// is reported whatever the other operands are. Throws EvalError.
Truth evaluate(const Expr& e, const Env& env);

/// The variable names the predicate uses, each once, in order of first use.
std::vector<std::string> identifiers(const Expr& e);

/// Canonical text, for reports: single spaces around operators, values as
/// written (quoted only when they must be), parentheses only where needed
/// ("!(a == 1)" keeps its own). parse(to_string(e)) gives back the same text.
std::string to_string(const Expr& e);

/// "true", "false" or "unknown".
std::string_view to_string(Truth t);

/// Orders two values by the comparison rules above, each read as a
/// variable's value is (number, else version, "6.12.48+deb13-arm64" being
/// 6.12.48): -1, 0 or 1, or nullopt when either is a word. The one version
/// comparer: report attribution orders axis values with it, so its
/// thresholds mean what the same predicate means in a scenario.
std::optional<int> compare_values(std::string_view a, std::string_view b);

/// A size or count: decimal digits with an optional binary unit (K, M, G, T,
/// KiB, MiB, GiB, TiB, spelt exactly so), or 0x-prefixed hex. "4K" -> 4096,
/// "2G" -> 2147483648, "0x1000" -> 4096. nullopt for anything else, signs,
/// spaces, lowercase units and values above 2^64-1 included.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace archmatrix::expr
