// Lexer and recursive-descent parser for predicates (grammar in expr.h).
// Every error points at the token that was not what the grammar expected
// (the end of the text counting as one, at column size + 1), and says what
// would have been right there.

#include <cctype>
#include <utility>

#include "expr/expr.h"
#include "expr/node.h"

namespace archmatrix::expr {

namespace {

using detail::Node;
using detail::NodePtr;
using detail::Op;
using detail::Value;

constexpr int kMaxDepth = 100;  // '(' and '!' nesting; keeps recursion bounded

struct Token {
  enum class Type { word, string, op, and_, or_, not_, lparen, rparen, end, error };
  Type type = Type::end;
  std::string raw;   ///< as written (a string with its quotes); error: the message
  std::string text;  ///< word: as written; string: without its quotes
  Op op = Op::eq;
  std::size_t column = 0;
};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool word_start(char c) { return is_alpha(c) || is_digit(c); }
bool word_char(char c) { return word_start(c) || c == '.' || c == '-'; }

bool is_name(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return false;
  for (char c : s)
    if (!is_alpha(c) && !is_digit(c)) return false;
  return true;
}

std::string show_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 32 && u < 127) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

struct Punct {
  std::string_view text;
  Token::Type type;
  Op op;
};

// Longest first, so that "<=" is not read as "<" then "=".
constexpr Punct kPunct[] = {
    {"&&", Token::Type::and_, Op::eq}, {"||", Token::Type::or_, Op::eq},
    {"==", Token::Type::op, Op::eq},   {"!=", Token::Type::op, Op::ne},
    {"<=", Token::Type::op, Op::le},   {">=", Token::Type::op, Op::ge},
    {"<", Token::Type::op, Op::lt},    {">", Token::Type::op, Op::gt},
    {"!", Token::Type::not_, Op::eq},  {"(", Token::Type::lparen, Op::eq},
    {")", Token::Type::rparen, Op::eq},
};

// What a character that starts no token was probably meant to be.
std::string stray_char_message(std::string_view s, std::size_t i, bool after_value) {
  const char c = s[i];
  const char next = i + 1 < s.size() ? s[i + 1] : '\0';
  if (c == '&') return "'&' is not an operator; did you mean '&&'?";
  if (c == '|') return "'|' is not an operator; did you mean '||'?";
  if (c == '=' && next == '<') return "'=<' is not an operator; did you mean '<='?";
  if (c == '=' && next == '>') return "'=>' is not an operator; did you mean '>='?";
  if (c == '=') return "'=' is not an operator; did you mean '=='?";
  if (c == '-' && is_digit(next)) return "unexpected '-': negative numbers are not supported";
  std::string m = "unexpected character " + show_char(c);
  if (after_value) m += "; quote a value that contains it, as in \"2G/2G\"";
  return m;
}

// Splits the text into tokens. A lexing error becomes an error token that
// ends the list: the parser reports it only when it gets there, so of two
// errors the one further left wins, whichever kind it is.
std::vector<Token> lex(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  std::size_t value_end = std::string_view::npos;  // where the last word or string ended
  const auto add = [&](Token::Type type, std::size_t len, Op op = Op::eq) {
    std::string raw(s.substr(i, len));
    std::string text = type == Token::Type::string ? raw.substr(1, len - 2) : raw;
    out.push_back({type, std::move(raw), std::move(text), op, i + 1});
    i += len;
  };
  for (;;) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i == s.size()) break;
    const char c = s[i];
    if (c == '"' || c == '\'') {
      const std::size_t close = s.find(c, i + 1);
      if (close == std::string_view::npos) {
        out.push_back({Token::Type::error, std::string("unterminated string: no closing ") + c,
                       {}, Op::eq, i + 1});
        return out;
      }
      add(Token::Type::string, close - i + 1);
      value_end = i;
      continue;
    }
    if (word_start(c)) {
      std::size_t len = 1;
      while (i + len < s.size() && word_char(s[i + len])) ++len;
      add(Token::Type::word, len);
      value_end = i;
      continue;
    }
    bool matched = false;
    for (const auto& p : kPunct)
      if (s.substr(i, p.text.size()) == p.text) {
        add(p.type, p.text.size(), p.op);
        matched = true;
        break;
      }
    if (!matched) {
      const std::string why = stray_char_message(s, i, value_end == i);
      out.push_back({Token::Type::error, why, {}, Op::eq, i + 1});
      return out;
    }
  }
  out.push_back({Token::Type::end, {}, {}, Op::eq, s.size() + 1});
  return out;
}

struct Failure {
  ParseError error;
};

NodePtr make_node(Node n) { return std::make_shared<const Node>(std::move(n)); }

// One && or || node over the parts, splicing in parts that are the same
// operator (from parentheses), so that the tree, and so the canonical text,
// does not depend on how a chain was grouped.
NodePtr join(Node::Type type, const std::vector<NodePtr>& parts) {
  if (parts.size() == 1) return parts[0];
  Node n;
  n.type = type;
  for (const auto& p : parts) {
    if (p->type == type)
      n.children.insert(n.children.end(), p->children.begin(), p->children.end());
    else
      n.children.push_back(p);
  }
  return make_node(std::move(n));
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  NodePtr parse_all() {
    if (peek().type == Token::Type::end)
      fail(peek(), "empty predicate; expected a comparison such as 'arch == aarch64'");
    NodePtr e = parse_or(0);
    if (peek().type != Token::Type::end) fail_after_operand(peek(), nullptr);
    return e;
  }

 private:
  enum class Operand { comparison, constant, group };

  [[noreturn]] static void fail(const Token& at, std::string message) {
    throw Failure{{at.column, std::move(message)}};
  }

  static std::string describe(const Token& t) {
    if (t.type == Token::Type::end) return "the end";
    return t.type == Token::Type::string ? t.raw : "'" + t.raw + "'";
  }

  // The next token; reaching a lexing error reports it.
  const Token& peek() const {
    const Token& t = t_[pos_];
    if (t.type == Token::Type::error) fail(t, t.raw);
    return t;
  }

  const Token& take() {
    const Token& t = peek();
    if (t.type != Token::Type::end) ++pos_;
    prev_ = &t;
    return t;
  }

  NodePtr parse_or(int depth) {
    std::vector<NodePtr> parts{parse_and(depth)};
    while (peek().type == Token::Type::or_) {
      take();
      parts.push_back(parse_and(depth));
    }
    return join(Node::Type::or_, parts);
  }

  NodePtr parse_and(int depth) {
    std::vector<NodePtr> parts{parse_unary(depth)};
    while (peek().type == Token::Type::and_) {
      take();
      parts.push_back(parse_unary(depth));
    }
    return join(Node::Type::and_, parts);
  }

  NodePtr parse_unary(int depth) {
    const Token& t = peek();
    if (depth >= kMaxDepth)
      fail(t, "nested too deeply: more than " + std::to_string(kMaxDepth) + " '(' and '!'");
    switch (t.type) {
      case Token::Type::not_: {
        take();
        Node n;
        n.type = Node::Type::not_;
        n.children.push_back(parse_unary(depth + 1));
        return make_node(std::move(n));
      }
      case Token::Type::lparen: {
        const Token& open = take();
        NodePtr inner = parse_or(depth + 1);
        if (peek().type != Token::Type::rparen) fail_after_operand(peek(), &open);
        take();
        last_ = Operand::group;
        return inner;
      }
      case Token::Type::word:
      case Token::Type::string:
        return parse_comparison();
      default:
        fail(t, "expected a comparison" + (prev_ ? " after " + describe(*prev_) : std::string()) +
                    ", found " + describe(t));
    }
  }

  NodePtr parse_comparison() {
    const Token& first = take();
    if (first.type != Token::Type::word || !is_name(first.text)) value_on_left(first);
    Node n;
    if (first.text == "true" || first.text == "false") {
      n.constant = first.text == "true";
      last_ = Operand::constant;
      return make_node(std::move(n));
    }
    const Token& op = peek();
    if (op.type != Token::Type::op)
      fail(op, "expected a comparison operator (==, !=, <, <=, >, >=) after '" + first.text +
                   "', found " + describe(op) + "; a name alone is not a predicate" +
                   (first.text == "not" ? " (write '!' for 'not')" : ""));
    take();
    const Token& v = peek();
    if (v.type != Token::Type::word && v.type != Token::Type::string)
      fail(v, "expected a value after '" + op.raw + "', found " + describe(v));
    take();
    n.type = Node::Type::compare;
    n.name = first.text;
    n.op = op.op;
    n.quoted = v.type == Token::Type::string;
    if (n.quoted) {
      n.value = detail::read_quoted(v.text);
    } else {
      auto read = detail::read_bare(v.text);
      if (auto* why = std::get_if<std::string>(&read)) fail(v, *why);
      n.value = std::get<Value>(std::move(read));
    }
    if (detail::orders(n.op) && n.value.kind == Value::Kind::word)
      fail(v, "'" + op.raw + "' orders numbers and versions, but " + describe(v) +
                  " is a word; words compare only with == and !=");
    last_ = Operand::comparison;
    return make_node(std::move(n));
  }

  // A comparison must start with a name; say how to turn it around when it
  // is `VALUE OP NAME`.
  [[noreturn]] void value_on_left(const Token& first) const {
    if (first.type == Token::Type::string && is_name(first.text))
      fail(first, "expected a name, found the value " + describe(first) +
                      "; names are written without quotes");
    const Token& op = peek();
    const Token& after = t_[pos_ + (op.type == Token::Type::end ? 0 : 1)];
    if (op.type == Token::Type::op && after.type == Token::Type::word && is_name(after.text))
      fail(first, "the name goes on the left; write it as: " + after.text + " " +
                      std::string(detail::op_text(detail::mirrored(op.op))) + " " + first.raw);
    if (first.type == Token::Type::string || is_digit(first.text[0]))
      fail(first, "expected a name, found the value " + describe(first) +
                      "; a comparison is written NAME OP VALUE, as in 'page_size > 4K'");
    fail(first, describe(first) +
                    " is not a name; names are letters, digits and '_', starting with a letter "
                    "or '_'");
  }

  // After a complete operand came `t`, which neither continues the predicate
  // nor closes the group opened at `open` (if any).
  [[noreturn]] void fail_after_operand(const Token& t, const Token* open) const {
    if (t.type == Token::Type::op) {
      if (last_ == Operand::constant)
        fail(t, "'true' and 'false' are constants, not names: they cannot be compared");
      fail(t, "comparisons do not chain: join them with '&&' or '||'");
    }
    if (t.type == Token::Type::rparen && !open) fail(t, "unbalanced ')': there is no '(' to close");
    std::string hint;
    if (t.type == Token::Type::word && (t.text == "and" || t.text == "AND"))
      hint = " (write '&&' for 'and')";
    if (t.type == Token::Type::word && (t.text == "or" || t.text == "OR"))
      hint = " (write '||' for 'or')";
    if (open)
      fail(t, "expected '&&', '||' or ')' to close the '(' at column " +
                  std::to_string(open->column) + ", found " + describe(t) + hint);
    fail(t, "expected '&&', '||' or the end, found " + describe(t) + hint);
  }

  std::vector<Token> t_;
  std::size_t pos_ = 0;
  const Token* prev_ = nullptr;
  Operand last_ = Operand::comparison;
};

}  // namespace

std::variant<Expr, ParseError> parse(std::string_view text) {
  try {
    return Expr(Parser(lex(text)).parse_all());
  } catch (const Failure& f) {
    return f.error;
  }
}

}  // namespace archmatrix::expr
