#include "expr/expr.h"

#include <algorithm>

#include "expr/node.h"

namespace archmatrix::expr {

namespace {

using detail::Node;

bool bare_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// A quoted literal loses its quotes in the canonical form when the bare text
// would lex as one token and read as the same kind of value: "6.12" -> 6.12,
// but "2G/2G" and "4k" (an error when bare) keep them.
bool reads_the_same_bare(const detail::Value& v) {
  const std::string& t = v.text;
  if (t.empty() || t[0] == '.' || t[0] == '-' || !std::all_of(t.begin(), t.end(), bare_char))
    return false;
  const auto bare = detail::read_bare(t);
  const auto* b = std::get_if<detail::Value>(&bare);
  return b && b->kind == v.kind;
}

std::string literal_text(const Node& n) {
  const std::string& t = n.value.text;
  if (!n.quoted || reads_the_same_bare(n.value)) return t;
  const char q = t.find('"') == std::string::npos ? '"' : '\'';
  return q + t + q;
}

std::string comparison_text(const Node& n) {
  return n.name + " " + std::string(detail::op_text(n.op)) + " " + literal_text(n);
}

std::string text_of(const Node& n) {
  switch (n.type) {
    case Node::Type::constant: return n.constant ? "true" : "false";
    case Node::Type::compare: return comparison_text(n);
    case Node::Type::not_: {
      // `!a == 1` would parse the same, but reads as (!a) == 1: keep the
      // parentheses around everything but a constant or another negation.
      const Node& c = *n.children[0];
      const bool bare = c.type == Node::Type::constant || c.type == Node::Type::not_;
      return bare ? "!" + text_of(c) : "!(" + text_of(c) + ")";
    }
    case Node::Type::and_:
    case Node::Type::or_: {
      const bool is_and = n.type == Node::Type::and_;
      std::string s;
      for (const auto& c : n.children) {
        if (!s.empty()) s += is_and ? " && " : " || ";
        // Only an || inside an && needs parentheses: the parser flattens
        // same-operator chains, and && binds tighter than ||.
        s += is_and && c->type == Node::Type::or_ ? "(" + text_of(*c) + ")" : text_of(*c);
      }
      return s;
    }
  }
  return {};
}

std::string_view kind_name(const detail::Value& v) {
  switch (v.kind) {
    case detail::Value::Kind::number: return "a number";
    case detail::Value::Kind::version: return "a version";
    case detail::Value::Kind::word: return "a word";
  }
  return "a value";
}

Truth evaluate_comparison(const Node& n, const Env& env) {
  const auto raw = env(n.name);
  if (!raw) return Truth::unknown;
  const detail::Value v = detail::read_variable(*raw);
  const auto holds = detail::compare(v, n.op, n.value);
  if (!holds) {
    // The parser rejects ordering against a word literal, so it is the
    // variable's value that is the word here.
    throw EvalError("cannot evaluate '" + comparison_text(n) + "': " + n.name + " is '" + *raw +
                    "', " + std::string(kind_name(v)) + ", and '" +
                    std::string(detail::op_text(n.op)) +
                    "' orders numbers and versions only (words compare with == and !=)");
  }
  return *holds ? Truth::true_ : Truth::false_;
}

Truth evaluate_node(const Node& n, const Env& env) {
  switch (n.type) {
    case Node::Type::constant: return n.constant ? Truth::true_ : Truth::false_;
    case Node::Type::compare: return evaluate_comparison(n, env);
    case Node::Type::not_: {
      const Truth t = evaluate_node(*n.children[0], env);
      return t == Truth::unknown ? t : t == Truth::true_ ? Truth::false_ : Truth::true_;
    }
    case Node::Type::and_:
    case Node::Type::or_: {
      // Kleene logic: the dominant value (false for &&, true for ||) wins
      // over unknown. All operands are evaluated so that a type error shows
      // whatever the values of the others.
      const Truth dominant = n.type == Node::Type::and_ ? Truth::false_ : Truth::true_;
      const Truth neutral = n.type == Node::Type::and_ ? Truth::true_ : Truth::false_;
      Truth result = neutral;
      for (const auto& c : n.children) {
        const Truth t = evaluate_node(*c, env);
        if (t == dominant) result = dominant;
        else if (t == Truth::unknown && result == neutral) result = Truth::unknown;
      }
      return result;
    }
  }
  return Truth::unknown;
}

void collect_names(const Node& n, std::vector<std::string>& out) {
  if (n.type == Node::Type::compare &&
      std::find(out.begin(), out.end(), n.name) == out.end())
    out.push_back(n.name);
  for (const auto& c : n.children) collect_names(*c, out);
}

}  // namespace

Truth evaluate(const Expr& e, const Env& env) { return evaluate_node(e.root(), env); }

std::vector<std::string> identifiers(const Expr& e) {
  std::vector<std::string> out;
  collect_names(e.root(), out);
  return out;
}

std::string to_string(const Expr& e) { return text_of(e.root()); }

std::string_view to_string(Truth t) {
  switch (t) {
    case Truth::false_: return "false";
    case Truth::true_: return "true";
    case Truth::unknown: return "unknown";
  }
  return "?";
}

}  // namespace archmatrix::expr
