#pragma once
// Test helper: a small in-memory project (no YAML, no files) for plan and verdict tests.

#include <memory>

#include "config/project.h"
#include "util/error.h"

namespace archmatrix::testing {

inline config::Expectation expect_when(const std::string& text, const std::string& reason = "known") {
  auto parsed = expr::parse(text);
  if (!std::holds_alternative<expr::Expr>(parsed)) throw util::Error("bad test predicate: " + text);
  config::Expectation e;
  e.when_text = text;
  e.when = std::make_shared<const expr::Expr>(std::get<expr::Expr>(std::move(parsed)));
  e.reason = reason;
  return e;
}

inline config::KernelRecipe recipe(const std::string& id, util::Arch arch,
                                   std::map<std::string, std::vector<std::string>> provides) {
  config::KernelRecipe k;
  k.id = id;
  k.arch = arch;
  k.suite = "bookworm";
  k.package = "linux-image-x";
  k.provides = std::move(provides);
  k.provides["source"] = {"debian"};
  return k;
}

inline config::Project small_project() {
  config::Project p;
  p.matrix.file = "m.yaml";
  config::MatrixEntry arm;
  arm.arch = util::Arch::aarch64;
  arm.axes["page_size"] = {"4096", "16384"};
  p.matrix.entries.push_back(arm);
  config::MatrixEntry x86;
  x86.arch = util::Arch::x86_64;
  p.matrix.entries.push_back(x86);
  p.kernels.push_back(recipe("arm4k", util::Arch::aarch64, {{"release", {"6.1"}}, {"page_size", {"4096"}}, {"va_bits", {"48"}}}));
  p.kernels.push_back(recipe("arm16k", util::Arch::aarch64, {{"release", {"6.12"}}, {"page_size", {"16384"}}, {"va_bits", {"52"}}}));
  p.kernels.back().va_bits_default = "47";
  p.kernels.push_back(recipe("amd64", util::Arch::x86_64, {{"release", {"6.1"}}, {"page_size", {"4096"}}, {"paging", {"4level", "5level"}}}));
  config::ScenarioSpec plain;
  plain.name = "plain";
  p.scenarios.push_back(plain);
  config::ScenarioSpec checked;
  checked.name = "sparse";
  checked.checks.push_back({"blksize", "", {}});
  checked.checks.push_back({"hardcoded", "", {expect_when("page_size > 4K", "tmpfs block = page")}});
  p.scenarios.push_back(checked);
  return p;
}

}  // namespace archmatrix::testing
