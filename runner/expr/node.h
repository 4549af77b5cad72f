#pragma once
// The predicate AST behind expr::Expr. Internal to the expr module: built by
// parser.cpp, walked by expr.cpp.

#include <memory>
#include <string>
#include <vector>

#include "expr/value.h"

namespace archmatrix::expr::detail {

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  enum class Type { constant, compare, not_, and_, or_ };
  Type type = Type::constant;
  bool constant = false;          ///< constant: true or false
  std::string name;               ///< compare: the variable, always on the left
  Op op = Op::eq;                 ///< compare
  Value value;                    ///< compare: the literal on the right
  bool quoted = false;            ///< compare: the literal was written in quotes
  std::vector<NodePtr> children;  ///< not_: one; and_/or_: two or more, none of the same type
};

}  // namespace archmatrix::expr::detail
