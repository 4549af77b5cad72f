// Predicates (runner/expr): parsing, canonical text, three-valued evaluation,
// value kinds (numbers, sizes, hex, versions, words) and every parse error
// with its column. Table-driven: each row names itself through SCOPED_TRACE.

#include "expr/expr.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace archmatrix::expr {

// So that failing EXPECT_EQs on Truth print words, not numbers.
inline void PrintTo(Truth t, std::ostream* os) { *os << to_string(t); }

namespace {

using Vars = std::map<std::string, std::string, std::less<>>;

Env env_of(Vars vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// An aarch64 cell after boot: axes and guest facts, as lookup_name gives them.
const Vars& cell() {
  static const Vars v{
      {"arch", "aarch64"},
      {"page_size", "16384"},
      {"va_bits", "48"},
      {"vmsplit", "2G/2G"},
      {"paging", "4level"},
      {"release", "6.12"},
      {"kernel", "6.12.48+deb13-arm64"},
      {"mem_total_kib", "2000000"},
      {"user_top", "0xffffffffffff"},
      {"tmpfs_blksize", "4K"},
      {"seven", "7"},
      {"blank", ""},
      {"spaced", "a b"},
  };
  return v;
}

Expr parsed(std::string_view text) {
  auto r = parse(text);
  if (auto* e = std::get_if<ParseError>(&r)) {
    ADD_FAILURE() << "'" << text << "' does not parse: column " << e->column << ": " << e->message;
    return std::get<Expr>(parse("false"));
  }
  return std::get<Expr>(std::move(r));
}

Truth eval(std::string_view text, const Vars& vars = cell()) {
  return evaluate(parsed(text), env_of(vars));
}

constexpr Truth T = Truth::true_;
constexpr Truth F = Truth::false_;
constexpr Truth U = Truth::unknown;

struct EvalRow {
  const char* text;
  Truth want;
};

void check_rows(const std::vector<EvalRow>& rows, const Vars& vars = cell()) {
  for (const auto& row : rows) {
    SCOPED_TRACE(row.text);
    EXPECT_EQ(eval(row.text, vars), row.want);
  }
}

// ---------------------------------------------------------------- parse_size

TEST(ExprParseSize, AcceptsDecimalBinaryUnitsAndHex) {
  const std::vector<std::pair<const char*, std::uint64_t>> rows{
      {"0", 0},
      {"1", 1},
      {"007", 7},
      {"4096", 4096},
      {"4K", 4096},
      {"16K", 16384},
      {"64K", 65536},
      {"4KiB", 4096},
      {"64KiB", 65536},
      {"1M", 1048576},
      {"3MiB", 3145728},
      {"2G", 2147483648ULL},
      {"2GiB", 2147483648ULL},
      {"1T", 1ULL << 40},
      {"1TiB", 1ULL << 40},
      {"16777215T", 16777215ULL << 40},
      {"0x1000", 4096},
      {"0X10", 16},
      {"0xfF", 255},
      {"0xffffffffffffffff", 18446744073709551615ULL},
      {"18446744073709551615", 18446744073709551615ULL},
  };
  for (const auto& [text, want] : rows) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parse_size(text), std::optional<std::uint64_t>(want));
  }
}

TEST(ExprParseSize, RejectsEverythingElse) {
  for (const char* text : {"", "K", "KiB", "4k", "4kib", "4KB", "4Ki", "4 K", " 4", "4 ", "-1",
                           "+1", "1.5K", "6.12", "0x", "0xg", "0x10K", "4level", "2G/2G",
                           "18446744073709551616", "0x10000000000000000", "16777216T",
                           "17179869184G"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parse_size(text), std::nullopt);
  }
}

// ---------------------------------------------------------------- operators and value kinds

TEST(ExprEvaluate, EveryOperatorOnNumbers) {
  check_rows({
      {"va_bits == 48", T}, {"va_bits == 47", F},
      {"va_bits != 47", T}, {"va_bits != 48", F},
      {"va_bits < 52", T},  {"va_bits < 48", F},  {"va_bits < 39", F},
      {"va_bits <= 48", T}, {"va_bits <= 52", T}, {"va_bits <= 47", F},
      {"va_bits > 47", T},  {"va_bits > 48", F},  {"va_bits > 52", F},
      {"va_bits >= 48", T}, {"va_bits >= 39", T}, {"va_bits >= 52", F},
      // numeric, not textual: "048" is 48, and 100 > 48 although "100" < "48"
      {"va_bits == 048", T}, {"va_bits < 100", T},
  });
}

TEST(ExprEvaluate, SizesAndHexCompareAsNumbers) {
  check_rows({
      {"page_size == 16K", T},   {"page_size == 16KiB", T}, {"page_size == 16384", T},
      {"page_size == 0x4000", T}, {"page_size == 4K", F},   {"page_size != 4K", T},
      {"page_size > 4K", T},     {"page_size < 64K", T},    {"page_size >= 16K", T},
      {"page_size <= 0x3fff", F},
      {"mem_total_kib < 2M", T}, {"mem_total_kib > 1M", T},
      // a variable's value may itself be written as a size or in hex
      {"tmpfs_blksize == 4096", T}, {"tmpfs_blksize == 4K", T}, {"tmpfs_blksize < 8K", T},
      {"user_top == 0xffffffffffff", T}, {"user_top == 281474976710655", T},
      {"user_top < 256T", T}, {"user_top > 0xffffffffffff", F},
  });
}

TEST(ExprEvaluate, WordsCompareForEquality) {
  check_rows({
      {"arch == aarch64", T}, {"arch == x86_64", F}, {"arch != x86_64", T}, {"arch != aarch64", F},
      {"arch == AArch64", F},  // exact, case included
      {"paging == 4level", T}, {"paging == 5level", F},
      // a word against a number: plain text equality, never an error
      {"arch == 4K", F}, {"arch != 4K", T}, {"page_size == aarch64", F},
      {"blank == aarch64", F}, {"blank != aarch64", T},
  });
}

TEST(ExprEvaluate, QuotedStringsOnlyDelimit) {
  check_rows({
      {"vmsplit == \"2G/2G\"", T}, {"vmsplit == '2G/2G'", T}, {"vmsplit == \"3G/1G\"", F},
      {"vmsplit != '3G/1G'", T},
      {"arch == \"aarch64\"", T},
      {"spaced == 'a b'", T}, {"spaced == \"a  b\"", F},
      {"blank == ''", T}, {"blank == \"\"", T}, {"arch == ''", F},
      // what the quoted text looks like decides what it is
      {"release >= '6.12'", T}, {"release < \"6.2\"", F}, {"page_size == \"16K\"", T},
      {"tmpfs_blksize == '4K'", T},
      // a quoted text that is no number or version is a word: compared as written
      {"kernel == \"6.12.48+deb13-arm64\"", T}, {"kernel == '6.12.48+deb13-amd64'", F},
      {"page_size == \"16k\"", F},
  });
  EXPECT_EQ(eval("x == 'say \"hi\"'", {{"x", "say \"hi\""}}), T);
}

// Every variable value against every literal: the six operators follow the
// version order, in which equal ranks are equal versions.
TEST(ExprEvaluate, VersionsCompareComponentWise) {
  struct V {
    const char* text;
    int rank;
    bool literal;  ///< can be written bare in a predicate
  };
  const std::vector<V> versions{
      {"5.15.0-130-generic", 0, false},
      {"6", 1, true}, {"6.0", 1, true}, {"6.0.0", 1, true},
      {"6.1", 2, true}, {"6.1.0", 2, true},
      {"6.1.5", 3, true},
      {"6.2", 4, true},
      {"6.12", 5, true}, {"6.12.0-rc1", 5, false},
      {"6.12.48", 6, true}, {"6.12.48+deb13-arm64", 6, false},
      {"6.19", 7, true},
      {"7", 8, true}, {"7.0", 8, true},
      {"7.0.1", 9, true},
      {"10.0", 10, true},
  };
  const std::vector<std::pair<const char*, bool (*)(int, int)>> ops{
      {"==", [](int a, int b) { return a == b; }}, {"!=", [](int a, int b) { return a != b; }},
      {"<", [](int a, int b) { return a < b; }},   {"<=", [](int a, int b) { return a <= b; }},
      {">", [](int a, int b) { return a > b; }},   {">=", [](int a, int b) { return a >= b; }},
  };
  int checked = 0;
  for (const auto& var : versions)
    for (const auto& lit : versions) {
      if (!lit.literal) continue;
      for (const auto& [op, holds] : ops) {
        const std::string text = std::string("kernel ") + op + " " + lit.text;
        SCOPED_TRACE(text + " with kernel = " + var.text);
        EXPECT_EQ(eval(text, {{"kernel", var.text}}), holds(var.rank, lit.rank) ? T : F);
        ++checked;
      }
    }
  EXPECT_EQ(checked, 17 * 14 * 6);
}

TEST(ExprEvaluate, KernelReleaseReadsAsItsLeadingVersion) {
  check_rows({
      {"kernel >= 6.12", T}, {"kernel < 6.19", T}, {"kernel >= 6.19", F}, {"kernel > 6.1", T},
      {"kernel == 6.12.48", T}, {"kernel == 6.12", F}, {"kernel < 7.0", T}, {"kernel < 7", T},
      {"kernel >= 6", T}, {"kernel > 6", T},  // an integer is a one-part version
      {"release == 6.12", T}, {"release == 6.12.0", T}, {"release >= 6.2", T},  // 12 > 2
      {"seven >= 6.12", T}, {"seven == 7.0", T}, {"seven == 7", T}, {"seven < 7.0.1", T},
  });
}

// ---------------------------------------------------------------- logic

TEST(ExprEvaluate, PrecedenceAndParentheses) {
  check_rows({
      {"true", T}, {"false", F}, {"!true", F}, {"!false", T}, {"!!true", T},
      // && binds tighter than ||
      {"true || false && false", T}, {"(true || false) && false", F},
      {"false && false || true", T}, {"false && (false || true)", F},
      {"true || true && false", T},
      // ! binds tighter than && and ||, and takes a whole comparison
      {"!false && false", F}, {"!(false && false)", T},
      {"!true || true", T}, {"!(true || true)", F},
      {"!arch == x86_64", T}, {"!arch == aarch64", F}, {"!!arch == aarch64", T},
      {"!(arch == aarch64) || va_bits == 48", T},
      {"((((arch == aarch64))))", T},
      {"arch == aarch64 && (page_size == 4K || page_size == 16K) && !(va_bits < 48)", T},
      {"arch == x86_64 || page_size == 16K && va_bits == 47", F},
      {"(arch == x86_64 || page_size == 16K) && va_bits == 48", T},
      {"a == 1 || b == 2 && c == 3", U},  // all undefined
  });
}

// Kleene's strong three-valued logic, over every pair of operands.
TEST(ExprEvaluate, UnknownPropagatesLikeKleene) {
  const std::vector<std::pair<const char*, Truth>> operands{
      {"arch == aarch64", T}, {"arch == x86_64", F}, {"user_top_fact > 1", U}};
  const auto kleene_and = [](Truth a, Truth b) {
    if (a == F || b == F) return F;
    return a == U || b == U ? U : T;
  };
  const auto kleene_or = [](Truth a, Truth b) {
    if (a == T || b == T) return T;
    return a == U || b == U ? U : F;
  };
  for (const auto& [a, ta] : operands) {
    SCOPED_TRACE(a);
    EXPECT_EQ(eval(std::string("!(") + a + ")"), ta == U ? U : ta == T ? F : T);
    for (const auto& [b, tb] : operands) {
      SCOPED_TRACE(b);
      EXPECT_EQ(eval(std::string(a) + " && " + b), kleene_and(ta, tb));
      EXPECT_EQ(eval(std::string(a) + " || " + b), kleene_or(ta, tb));
    }
  }
}

TEST(ExprEvaluate, UndefinedVariablesAreUnknownForEveryOperatorAndKind) {
  check_rows({
      {"nope == 1", U}, {"nope != 1", U}, {"nope < 4K", U}, {"nope <= 6.12", U},
      {"nope > 0x10", U}, {"nope >= 1", U}, {"nope == aarch64", U}, {"nope != '2G/2G'", U},
      {"!(nope == 1)", U}, {"!!(nope == 1)", U},
      {"nope == 1 && false", F}, {"nope == 1 || true", T},
      {"nope == 1 && true", U}, {"nope == 1 || false", U},
      // the planner's case: axes known, facts not yet
      {"arch == x86_64 && user_top_fact > 1", F},
      {"arch == aarch64 || user_top_fact > 1", T},
      {"arch == aarch64 && user_top_fact > 1", U},
      {"!(arch == aarch64 && user_top_fact > 1)", U},
  });
}

TEST(ExprEvaluate, AsksTheEnvironmentForEveryComparison) {
  std::vector<std::string> asked;
  const Env env = [&](std::string_view name) -> std::optional<std::string> {
    asked.emplace_back(name);
    return name == "a" ? std::optional<std::string>("1") : std::nullopt;
  };
  // no short-circuit: c is looked up although a == 2 is already false
  EXPECT_EQ(evaluate(parsed("a == 2 && (b == 1 || c == 1) && !(a == 1)"), env), F);
  EXPECT_EQ(asked, (std::vector<std::string>{"a", "b", "c", "a"}));
}

// ---------------------------------------------------------------- evaluation errors

TEST(ExprEvaluate, OrderingAWordIsAnErrorNamingTheVariable) {
  const std::vector<std::pair<const char*, const char*>> rows{
      {"arch < 4K", "cannot evaluate 'arch < 4K': arch is 'aarch64', a word, and '<' orders"},
      {"arch >= 6.12", "arch is 'aarch64', a word, and '>=' orders numbers and versions only"},
      {"vmsplit > 2G", "vmsplit is '2G/2G', a word"},
      {"paging <= 5", "paging is '4level', a word"},
      {"blank > 0", "blank is '', a word"},
      // evaluated although the && is already decided: errors do not hide
      {"false && arch < 4K", "arch is 'aarch64'"},
      {"arch == x86_64 && arch < 4K", "arch is 'aarch64'"},
      {"true || !(arch > 1)", "arch is 'aarch64'"},
  };
  for (const auto& [text, want] : rows) {
    SCOPED_TRACE(text);
    const Expr e = parsed(text);
    try {
      evaluate(e, env_of(cell()));
      ADD_FAILURE() << "no EvalError";
    } catch (const EvalError& err) {
      EXPECT_NE(std::string(err.what()).find(want), std::string::npos) << err.what();
      EXPECT_EQ(err.exit_status(), util::kExitBadInput);
    }
  }
}

TEST(ExprEvaluate, EvalErrorIsAnInputErrorForMain) {
  const Expr e = parsed("arch < 4K");
  EXPECT_THROW(evaluate(e, env_of(cell())), util::Error);
  EXPECT_THROW(evaluate(e, env_of(cell())), std::exception);
  // an undefined variable is no error, whatever the operator
  EXPECT_EQ(evaluate(e, env_of({})), U);
}

// ---------------------------------------------------------------- parse errors

struct ErrorRow {
  const char* text;
  std::size_t column;
  const char* message;  ///< the whole message
};

TEST(ExprParseError, EveryErrorWithItsColumn) {
  const std::vector<ErrorRow> rows{
      // nothing to parse
      {"", 1, "empty predicate; expected a comparison such as 'arch == aarch64'"},
      {"   ", 4, "empty predicate; expected a comparison such as 'arch == aarch64'"},
      // a name alone
      {"arch", 5, "expected a comparison operator (==, !=, <, <=, >, >=) after 'arch', found the "
                  "end; a name alone is not a predicate"},
      {"arch && va_bits == 48", 6, "expected a comparison operator (==, !=, <, <=, >, >=) after "
                                   "'arch', found '&&'; a name alone is not a predicate"},
      {"(la57)", 6, "expected a comparison operator (==, !=, <, <=, >, >=) after 'la57', found "
                    "')'; a name alone is not a predicate"},
      {"not arch == x86_64", 5, "expected a comparison operator (==, !=, <, <=, >, >=) after "
                                "'not', found 'arch'; a name alone is not a predicate (write '!' "
                                "for 'not')"},
      // the value on the left
      {"4K < page_size", 1, "the name goes on the left; write it as: page_size > 4K"},
      {"6.12 <= kernel", 1, "the name goes on the left; write it as: kernel >= 6.12"},
      {"'2G/2G' == vmsplit", 1, "the name goes on the left; write it as: vmsplit == '2G/2G'"},
      {"va_bits == 48 && 47 != va_bits", 18,
       "the name goes on the left; write it as: va_bits != 47"},
      {"4K < 8K", 1, "expected a name, found the value '4K'; a comparison is written NAME OP "
                     "VALUE, as in 'page_size > 4K'"},
      {"\"arch\" == aarch64", 1, "expected a name, found the value \"arch\"; names are written "
                                 "without quotes"},
      {"'2G/2G' == 1", 1, "expected a name, found the value '2G/2G'; a comparison is written NAME "
                          "OP VALUE, as in 'page_size > 4K'"},
      // names
      {"kernel.release >= 6", 1, "'kernel.release' is not a name; names are letters, digits and "
                                 "'_', starting with a letter or '_'"},
      {"x86-64 == 1", 1, "'x86-64' is not a name; names are letters, digits and '_', starting "
                         "with a letter or '_'"},
      // the value after the operator
      {"page_size >=", 13, "expected a value after '>=', found the end"},
      {"page_size >= && x == 1", 14, "expected a value after '>=', found '&&'"},
      {"page_size == )", 14, "expected a value after '==', found ')'"},
      {"page_size == == 4K", 14, "expected a value after '==', found '=='"},
      {"page_size < > 4K", 13, "expected a value after '<', found '>'"},
      {"page_size == (4K)", 14, "expected a value after '==', found '('"},
      {"page_size == !4K", 14, "expected a value after '==', found '!'"},
      // ordering against a word
      {"arch < aarch64", 8, "'<' orders numbers and versions, but 'aarch64' is a word; words "
                            "compare only with == and !="},
      {"paging >= 4level", 11, "'>=' orders numbers and versions, but '4level' is a word; words "
                               "compare only with == and !="},
      {"vmsplit > \"2G/2G\"", 11, "'>' orders numbers and versions, but \"2G/2G\" is a word; "
                                  "words compare only with == and !="},
      {"page_size <= '16k'", 14, "'<=' orders numbers and versions, but '16k' is a word; words "
                                 "compare only with == and !="},
      // malformed numbers, sizes, versions
      {"page_size == 4k", 14, "'4k' is not a size; write binary units as K, M, G, T or KiB, MiB, "
                              "GiB, TiB (4K = 4096)"},
      {"page_size == 4KB", 14, "'4KB' is not a size; write binary units as K, M, G, T or KiB, "
                               "MiB, GiB, TiB (4K = 4096)"},
      {"mem == 2gib", 8, "'2gib' is not a size; write binary units as K, M, G, T or KiB, MiB, "
                         "GiB, TiB (4K = 4096)"},
      {"x == 0xZZ", 6, "'0xZZ' is not a hexadecimal number"},
      {"x == 0x", 6, "'0x' is not a hexadecimal number"},
      {"x == 0x10000000000000000", 6, "'0x10000000000000000' does not fit in 64 bits"},
      {"x == 18446744073709551616", 6, "'18446744073709551616' does not fit in 64 bits"},
      {"x == 16777216T", 6, "'16777216T' does not fit in 64 bits"},
      {"kernel >= 6.99999999999999999999", 11,
       "'6.99999999999999999999' has a version component that does not fit in 64 bits"},
      {"kernel >= 6.12.", 11, "'6.12.' is not a version; write numbers separated by single dots, "
                              "as in 6.12"},
      {"kernel >= 6..12", 11, "'6..12' is not a version; write numbers separated by single dots, "
                              "as in 6.12"},
      // characters that start no token
      {"arch = aarch64", 6, "'=' is not an operator; did you mean '=='?"},
      {"va_bits =< 48", 9, "'=<' is not an operator; did you mean '<='?"},
      {"va_bits => 48", 9, "'=>' is not an operator; did you mean '>='?"},
      {"a == 1 & b == 2", 8, "'&' is not an operator; did you mean '&&'?"},
      {"a == 1 | b == 2", 8, "'|' is not an operator; did you mean '||'?"},
      {"vmsplit == 2G/2G", 14, "unexpected character '/'; quote a value that contains it, as in "
                               "\"2G/2G\""},
      {"kernel == 6.12.48+deb13", 18, "unexpected character '+'; quote a value that contains "
                                      "it, as in \"2G/2G\""},
      {"a == 1 @", 8, "unexpected character '@'"},
      {"a == -1", 6, "unexpected '-': negative numbers are not supported"},
      {"a == \xc3\xa9", 6, "unexpected character byte 0xc3"},
      {"a == 1 # comment", 8, "unexpected character '#'"},
      {"vmsplit == \"2G/2G", 12, "unterminated string: no closing \""},
      {"vmsplit == '2G/2G", 12, "unterminated string: no closing '"},
      {"vmsplit == '2G/2G\"", 12, "unterminated string: no closing '"},
      // of two errors, the one further left
      {"arch = aarch64 && @", 6, "'=' is not an operator; did you mean '=='?"},
      {"arch && x = 1", 6, "expected a comparison operator (==, !=, <, <=, >, >=) after 'arch', "
                           "found '&&'; a name alone is not a predicate"},
      // operands missing around && || !
      {"a == 1 &&", 10, "expected a comparison after '&&', found the end"},
      {"a == 1 || ", 11, "expected a comparison after '||', found the end"},
      {"&& a == 1", 1, "expected a comparison, found '&&'"},
      {"a == 1 && || b == 2", 11, "expected a comparison after '&&', found '||'"},
      {"a == 1 && && b == 2", 11, "expected a comparison after '&&', found '&&'"},
      {"!", 2, "expected a comparison after '!', found the end"},
      {"a == 1 && !", 12, "expected a comparison after '!', found the end"},
      {"==", 1, "expected a comparison, found '=='"},
      {"== 1", 1, "expected a comparison, found '=='"},
      // parentheses
      {"()", 2, "expected a comparison after '(', found ')'"},
      {"(a == 1", 8, "expected '&&', '||' or ')' to close the '(' at column 1, found the end"},
      {"a == 1 && ((b == 2) || c == 3", 30,
       "expected '&&', '||' or ')' to close the '(' at column 11, found the end"},
      {"(a == 1 b == 2)", 9, "expected '&&', '||' or ')' to close the '(' at column 1, found 'b'"},
      {"a == 1)", 7, "unbalanced ')': there is no '(' to close"},
      {"(a == 1)) || b == 2", 9, "unbalanced ')': there is no '(' to close"},
      // what may follow a comparison
      {"a == 1 b == 2", 8, "expected '&&', '||' or the end, found 'b'"},
      {"a == 1 \"x\"", 8, "expected '&&', '||' or the end, found \"x\""},
      {"a == 1 (b == 2)", 8, "expected '&&', '||' or the end, found '('"},
      {"a == 1 !b == 2", 8, "expected '&&', '||' or the end, found '!'"},
      {"a == 1 and b == 2", 8, "expected '&&', '||' or the end, found 'and' (write '&&' for "
                               "'and')"},
      {"(a == 1 or b == 2)", 9, "expected '&&', '||' or ')' to close the '(' at column 1, found "
                                "'or' (write '||' for 'or')"},
      {"a == \"1\"b == 2", 9, "expected '&&', '||' or the end, found 'b'"},
      {"1 < a < 3", 1, "the name goes on the left; write it as: a > 1"},
      {"a < 1 < 3", 7, "comparisons do not chain: join them with '&&' or '||'"},
      {"(a == 1) == 2", 10, "comparisons do not chain: join them with '&&' or '||'"},
      {"true == 1", 6, "'true' and 'false' are constants, not names: they cannot be compared"},
      {"!false != 1", 8, "'true' and 'false' are constants, not names: they cannot be compared"},
      {"true false", 6, "expected '&&', '||' or the end, found 'false'"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.text);
    auto r = parse(row.text);
    const auto* err = std::get_if<ParseError>(&r);
    if (!err) {
      ADD_FAILURE() << "parsed as " << to_string(std::get<Expr>(r));
      continue;
    }
    EXPECT_EQ(err->column, row.column);
    EXPECT_EQ(err->message, row.message);
  }
}

TEST(ExprParseError, NestingIsBounded) {
  const std::string ok = std::string(99, '(') + "a == 1" + std::string(99, ')');
  EXPECT_EQ(eval(ok, {{"a", "1"}}), T);
  const std::string bangs = std::string(99, '!') + "true";
  EXPECT_EQ(eval(bangs), F);

  const std::string deep = std::string(100, '(') + "a == 1" + std::string(100, ')');
  auto r = parse(deep);
  ASSERT_TRUE(std::holds_alternative<ParseError>(r));
  EXPECT_EQ(std::get<ParseError>(r).column, 101u);
  EXPECT_EQ(std::get<ParseError>(r).message, "nested too deeply: more than 100 '(' and '!'");

  auto r2 = parse(std::string(100000, '!') + "true");
  ASSERT_TRUE(std::holds_alternative<ParseError>(r2));
  EXPECT_EQ(std::get<ParseError>(r2).column, 101u);
}

TEST(ExprParse, AcceptsWhatTheLanguageAllows) {
  for (const char* text : {
           "arch==aarch64", "arch == aarch64", "\tarch\t==\taarch64\n", "a==1&&b!=2||!(c<3)",
           "_x1 == y", "X == 1", "paging == 4level", "paging == 5level", "x == 6.12-rc1",
           "x == a.b-c_d", "x == 'a b'", "x == \"\"", "x == ''", "x == true", "x == and",
           "true", "false", "!(true)", "(true) && (false)", "kernel >= 7",
           "x >= 0x0", "x < 1TiB", "x == 'é'", "x == \"it's\"",
       }) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(std::holds_alternative<Expr>(parse(text)));
  }
}

// ---------------------------------------------------------------- canonical text

TEST(ExprToString, CanonicalFormRoundTrips) {
  const std::vector<std::pair<const char*, const char*>> rows{
      {"arch==aarch64", "arch == aarch64"},
      {"  a  ==  1 &&b!=2  ", "a == 1 && b != 2"},
      {"a<1||a<=2||a>3||a>=4", "a < 1 || a <= 2 || a > 3 || a >= 4"},
      {"(a == 1)", "a == 1"},
      {"((a == 1))", "a == 1"},
      // same-operator groups are flattened, other groups keep what they need
      {"(a == 1 && b == 2) && c == 3", "a == 1 && b == 2 && c == 3"},
      {"a == 1 && (b == 2 && c == 3)", "a == 1 && b == 2 && c == 3"},
      {"a == 1 || (b == 2 || c == 3)", "a == 1 || b == 2 || c == 3"},
      {"(a == 1 && b == 2) || c == 3", "a == 1 && b == 2 || c == 3"},
      {"a == 1 && (b == 2 || c == 3)", "a == 1 && (b == 2 || c == 3)"},
      {"(a == 1 || b == 2) && (c == 3 || d == 4)", "(a == 1 || b == 2) && (c == 3 || d == 4)"},
      // negation keeps its parentheses except around constants and negations
      {"!a == 1", "!(a == 1)"},
      {"!(a == 1)", "!(a == 1)"},
      {"!(a == 1 || b == 2)", "!(a == 1 || b == 2)"},
      {"!(a == 1 && b == 2) || c == 3", "!(a == 1 && b == 2) || c == 3"},
      {"!!true", "!!true"},
      {"!(!false)", "!!false"},
      {"!!a == 1", "!!(a == 1)"},
      // values as written; quotes only where needed, double when possible
      {"page_size >= 16K", "page_size >= 16K"},
      {"page_size == 0x4000", "page_size == 0x4000"},
      {"page_size == 16KiB", "page_size == 16KiB"},
      {"vmsplit == '2G/2G'", "vmsplit == \"2G/2G\""},
      {"kernel >= '6.12'", "kernel >= 6.12"},
      {"x == \"aarch64\"", "x == aarch64"},
      {"x == '4K'", "x == 4K"},
      {"x == \"4k\"", "x == \"4k\""},
      {"x == \"-1\"", "x == \"-1\""},
      {"x == \".5\"", "x == \".5\""},
      {"x == '6.12.48+deb13-arm64'", "x == \"6.12.48+deb13-arm64\""},
      {"x == 'a b'", "x == \"a b\""},
      {"x == ''", "x == \"\""},
      {"x == 'say \"hi\"'", "x == 'say \"hi\"'"},
      {"x == \"6.12.\"", "x == \"6.12.\""},
      {"x == \"99999999999999999999\"", "x == \"99999999999999999999\""},
  };
  for (const auto& [text, want] : rows) {
    SCOPED_TRACE(text);
    const std::string canonical = to_string(parsed(text));
    EXPECT_EQ(canonical, want);
    EXPECT_EQ(to_string(parsed(canonical)), canonical) << "does not round-trip";
  }
}

TEST(ExprToString, Truth) {
  EXPECT_EQ(to_string(T), "true");
  EXPECT_EQ(to_string(F), "false");
  EXPECT_EQ(to_string(U), "unknown");
}

// ---------------------------------------------------------------- identifiers

TEST(ExprIdentifiers, EachNameOnceInOrderOfFirstUse) {
  const std::vector<std::pair<const char*, std::vector<std::string>>> rows{
      {"true", {}},
      {"!false || true", {}},
      {"arch == aarch64", {"arch"}},
      {"page_size >= 16K && (kernel < 6.19 || !la57 == 1) && page_size != 64K",
       {"page_size", "kernel", "la57"}},
      {"b == 1 || a == 2 || b == 3 || c == 4", {"b", "a", "c"}},
      // words on the right are values, not names
      {"arch == x86_64 && paging == va_bits", {"arch", "paging"}},
  };
  for (const auto& [text, want] : rows) {
    SCOPED_TRACE(text);
    EXPECT_EQ(identifiers(parsed(text)), want);
  }
}

TEST(ExprIdentifiers, CopiesShareTheTree) {
  const Expr a = parsed("arch == aarch64 && va_bits >= 48");
  const Expr b = a;  // NOLINT(performance-unnecessary-copy-initialization): the point
  EXPECT_EQ(&a.root(), &b.root());
  EXPECT_EQ(to_string(b), "arch == aarch64 && va_bits >= 48");
  EXPECT_EQ(evaluate(b, env_of(cell())), T);
}

}  // namespace
}  // namespace archmatrix::expr
