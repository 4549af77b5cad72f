#pragma once
// Values in predicates and how they compare: what a literal or a variable's
// text reads as (number, version or word), shared by the parser and the
// evaluator. Internal to the expr module; the rules are stated in expr.h.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace archmatrix::expr::detail {

enum class Op { eq, ne, lt, le, gt, ge };

/// "==", "!=", "<", "<=", ">", ">=".
std::string_view op_text(Op op);
/// True for <, <=, >, >=: the operators that need an order, not just equality.
bool orders(Op op);
/// The operator that keeps the meaning when the operands swap sides (< -> >).
Op mirrored(Op op);

/// A classified value. `text` is what was written (quotes removed), which is
/// what words compare by.
struct Value {
  enum class Kind { number, version, word };
  Kind kind = Kind::word;
  std::uint64_t number = 0;            ///< kind number
  std::vector<std::uint64_t> version;  ///< kind version: 6.12.48 -> {6, 12, 48}
  std::string text;
};

/// A literal written bare in a predicate (a run of [A-Za-z0-9_.-] that starts
/// with [A-Za-z0-9_]): its value, or why it is malformed ("4k", "0xZZ", a
/// number above 2^64-1). Digit-led text that is no number, size or version
/// ("4level") is a word.
std::variant<Value, std::string> read_bare(std::string_view text);

/// A quoted literal: a number or version if the whole text is one, else a word.
Value read_quoted(std::string_view text);

/// A variable's value: a number if the whole text is one, else a version if
/// it starts with one ("6.12.48+deb13-arm64" -> 6.12.48), else a word.
Value read_variable(std::string_view text);

/// -1, 0 or 1 when both are numbers or versions (a number being a one-part
/// version against a version); nullopt when either is a word.
std::optional<int> order(const Value& a, const Value& b);

/// Whether `a op b` holds; nullopt when `op` orders and either side is a word.
std::optional<bool> compare(const Value& a, Op op, const Value& b);

}  // namespace archmatrix::expr::detail
