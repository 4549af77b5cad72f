// A fuzz target for everything that reads user-written text in config/ and
// expr/ (issue 9): the YAML loaders (matrix, scenario, kernel recipe), config
// fragments and the predicate parser, driven by GoogleTest over a mutated
// corpus with a fixed seed, so a failure reproduces. The contract: every
// input either loads or throws util::Error; any other exception is a
// failure here, and a crash or a sanitizer report (ci/sanitizers.sh runs
// this under ASan+UBSan) kills the test.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "config/kernel_config.h"
#include "config/model.h"
#include "expr/expr.h"

namespace archmatrix::config {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kMatrixSeeds{
    "defaults: {memory: 512, cpus: 2}\ntimeouts: {boot: 30, no_output: 60, margin: 5, tcg_scale: 2.5}\n"
    "scenarios: [a, b]\ncells:\n  - arch: aarch64\n    page_size: [4K, 16K]\n    va_bits: 48\n"
    "    release: \"6.12\"\n    memory: 1024\n  - arch: x86_64\n    paging: [4level, 5level]\n"
    "  - arch: armhf\n    vmsplit: 2G/2G\n    source: built\n",
    "cells: [{arch: x86_64, release: '6.1'}, {arch: aarch64, page_size: 64K, va_bits: [42, 48]}]\n",
    "scenarios: all\ncells:\n  - &c {arch: x86_64}\n  - *c\n",
};

const std::vector<std::string> kScenarioSeeds{
    "name: demo\nsummary: s\ndescription: |\n  text\nseed: \"001\"\n"
    "build:\n  sources: [demo.c]\n  link: dynamic\n  link_options: [-Wl,-z,now]\n"
    "  libraries:\n    - name: helper\n      sources: helper.c\n      link_options: -s\n"
    "  packages: [zlib1g, libc6]\n  link_libraries: [z, m]\n  source_packages: [jemalloc]\n  cmake: build.cmake\n"
    "run: {timeout: 5, args: [a, b], privileged: true}\n"
    "checks:\n  one:\n    summary: s\n    xfail:\n      - when: \"page_size > 4K && arch == aarch64\"\n"
    "        reason: r\n        ref: x\n  two:\n"
    "unsupported:\n  - when: \"!(va_bits >= 48) || kernel < 6.1\"\n    reason: r\n",
    "name: demo\nsummary: s\nbuild: {sources: demo.c}\nxfail: [{when: \"true\", reason: r}]\n",
};

const std::vector<std::string> kRecipeSeeds{
    "arch: aarch64\nsource: built\nbuilt:\n  suite: trixie\n  package: linux-source-6.12\n"
    "  fragments: [extra.config]\nprovides:\n  release: \"6.12\"\n  page_size: 4K\n  va_bits: 48\n"
    "  va_bits_default: 48\ncmdline: [quiet, \"x=1\"]\n",
    "arch: x86_64\nsource: debian\ndebian: {suite: bookworm, package: linux-image-amd64}\n"
    "provides: {release: '6.1', paging: [4level, 5level]}\ncmdline: quiet\n",
    "arch: armhf\nsource: built\nbuilt: {suite: bookworm, package: linux-source-6.1}\n"
    "provides: {release: '6.1', vmsplit: 2G/2G}\n",
};

const std::vector<std::string> kFragmentSeeds{
    "CONFIG_64BIT=y\n# CONFIG_MODULES is not set\nCONFIG_NR_CPUS=0x40\nCONFIG_LOG_BUF_SHIFT=-1\n"
    "CONFIG_CMDLINE=\"console=ttyS0 \\\"q\\\"\"\n# a comment\n\n  CONFIG_X=m  \r\n",
};

const std::vector<std::string> kPredicateSeeds{
    "page_size > 4K && arch == aarch64",
    "!(va_bits >= 48) || kernel < 6.12.1",
    "vmsplit == \"2G/2G\" && (release != '6.1' || true)",
    "mem_total_kib >= 0x1000 && overcommit_memory != 2",
    "((((arch == x86_64))))",
};

// Pieces that make YAML and predicates interesting when inserted.
const std::vector<std::string> kTokens{
    "[", "]", "{", "}", ":", ": ", "- ", "\n", "\n  ", "  ", "~", "*a", "&a ", "!!str ", "!!binary ", "'", "\"",
    "#", "? ", ",", "|", ">", "\t", std::string(1, '\0'), "\xff", "\xc3", "%YAML 1.2\n---\n", "---\n", "...\n",
    "&&", "||", "!", "(", ")", "==", "<=", "0x", "4K", "6.12", "-1", "99999999999999999999", "CONFIG_", "=",
    "\\", "arch", "page_size", "cells", "build", "sources", "provides", "release", "linux-source-"};

class Mutator {
 public:
  explicit Mutator(std::uint32_t seed) : rng_(seed) {}

  std::string mutate(std::string s, const std::vector<std::string>& seeds) {
    const int rounds = 1 + pick(4);
    for (int r = 0; r < rounds; ++r) {
      const std::size_t at = s.empty() ? 0 : static_cast<std::size_t>(pick(static_cast<int>(s.size()) + 1));
      switch (pick(7)) {
        case 0:  // flip a byte
          if (!s.empty()) s[at % s.size()] = static_cast<char>(pick(256));
          break;
        case 1:
        case 2:  // insert a token
          s.insert(at, kTokens[static_cast<std::size_t>(pick(static_cast<int>(kTokens.size())))]);
          break;
        case 3:  // delete a range
          s.erase(at, static_cast<std::size_t>(pick(16)));
          break;
        case 4: {  // duplicate a range, sometimes many times
          const std::string part = s.substr(at, static_cast<std::size_t>(pick(24)));
          const int times = pick(4) == 0 ? 200 : 1;
          for (int i = 0; i < times; ++i) s.insert(at, part);
          break;
        }
        case 5: {  // splice in the tail of another seed
          const auto& other = seeds[static_cast<std::size_t>(pick(static_cast<int>(seeds.size())))];
          s = s.substr(0, at) + other.substr(static_cast<std::size_t>(pick(static_cast<int>(other.size()) + 1)));
          break;
        }
        default:  // a long run of one character
          s.insert(at, std::string(static_cast<std::size_t>(pick(3000)), "a1.[{ \"-"[pick(8)]));
      }
    }
    return s;
  }

  int pick(int n) { return n <= 0 ? 0 : std::uniform_int_distribution<int>(0, n - 1)(rng_); }

 private:
  std::mt19937 rng_;
};

std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 600)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (u >= 0x20 && u < 0x7f) out += c;
    else out += "\\x" + std::string(1, "0123456789abcdef"[u >> 4]) + "0123456789abcdef"[u & 15];
  }
  return out;
}

// Runs f on input: returning or throwing util::Error is fine, anything else fails.
template <class F>
void expect_loads_or_input_error(const std::string& what, const std::string& input, F&& f) {
  try {
    f();
  } catch (const util::Error&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": " << typeid(e).name() << ": " << e.what() << "\ninput: \"" << printable(input)
                  << "\"";
  }
}

// Mutates each seed `n` times and feeds the results to `load`.
template <class F>
void fuzz(const std::string& what, const std::vector<std::string>& seeds, int n, std::uint32_t seed, F&& load) {
  Mutator m(seed);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n && !::testing::Test::HasFailure(); ++i) {
    const auto& base = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const std::string input = i < static_cast<int>(seeds.size()) ? base : m.mutate(base, seeds);
    expect_loads_or_input_error(what, input, [&] { load(input); });
    // A guard for slow machines and sanitizers, not the normal end.
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(20)) break;
  }
}

class FuzzConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("am-fuzz-" + std::to_string(::getpid()));
    for (const char* f : {"demo/demo.c", "demo/helper.c", "demo/build.cmake", "fragments/aarch64/base.config",
                          "fragments/aarch64/4k.config", "fragments/aarch64/va48.config",
                          "fragments/aarch64/extra.config", "fragments/armhf/base.config",
                          "fragments/armhf/2g2g.config", "fragments/armhf/3g1g.config"}) {
      fs::create_directories((dir_ / f).parent_path());
      std::ofstream(dir_ / f) << (fs::path(f).extension() == ".config" ? "CONFIG_X=y\n" : "\n");
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FuzzConfig, MatrixLoader) {
  fuzz("matrix", kMatrixSeeds, 1500, 1, [](const std::string& text) {
    load_matrix(YamlReader::load_string(text, "matrix.yaml"));
  });
}

TEST_F(FuzzConfig, ScenarioLoader) {
  fuzz("scenario", kScenarioSeeds, 1500, 2, [&](const std::string& text) {
    load_scenario(YamlReader::load_string(text, "scenario.yaml"), dir_ / "demo");
  });
}

TEST_F(FuzzConfig, KernelRecipeLoader) {
  fuzz("recipe", kRecipeSeeds, 1500, 3, [&](const std::string& text) {
    load_kernel_recipe(YamlReader::load_string(text, "k.yaml"), "k", dir_ / "fragments");
  });
}

TEST_F(FuzzConfig, ConfigFragmentsAndDotConfig) {
  fuzz("fragment", kFragmentSeeds, 3000, 4, [](const std::string& text) {
    const auto lines = parse_config_fragment(text, "f.config");
    // What parses is merged, and the merge reads back as the same assignments.
    const auto merged = merge_config_fragments(lines);
    if (!config_mismatches(parse_config_fragment(merged, "m.config"), merged).empty())
      throw std::logic_error("a merged fragment does not satisfy itself");
    parse_dot_config(text);
  });
}

TEST_F(FuzzConfig, PredicateParser) {
  Mutator values(5);
  fuzz("predicate", kPredicateSeeds, 10000, 6, [&](const std::string& text) {
    auto parsed = expr::parse(text);
    const auto* e = std::get_if<expr::Expr>(&parsed);
    if (!e) {
      if (std::get<expr::ParseError>(parsed).column > text.size() + 1) throw std::logic_error("column past the end");
      return;
    }
    // The canonical text parses back to itself.
    const std::string canon = expr::to_string(*e);
    auto again = expr::parse(canon);
    if (!std::holds_alternative<expr::Expr>(again) || expr::to_string(std::get<expr::Expr>(again)) != canon)
      throw std::logic_error("to_string does not round-trip: " + canon);
    const std::vector<std::string> pool{"4096", "6.12.48+deb13-arm64", "aarch64", "", "0x10", "-", "99999999999999999999"};
    const expr::Env env = [&](std::string_view) -> std::optional<std::string> {
      const int i = values.pick(static_cast<int>(pool.size()) + 1);
      if (i == static_cast<int>(pool.size())) return std::nullopt;
      return pool[static_cast<std::size_t>(i)];
    };
    expr::evaluate(*e, env);  // EvalError is a util::Error
  });
}

}  // namespace
}  // namespace archmatrix::config
