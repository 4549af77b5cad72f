// Every loader of user files, fed a corpus of broken files through the real
// binary (issue 9, item 4): matrix.yaml, scenario.yaml, kernel recipes
// (Debian and built), config fragments, and report.json as diff, merge,
// `run --resume` and `--balance-from` read it. Whatever the file holds, the
// answer is exit 2 and one line naming the file and a line in it; never
// "internal error" (exit 3) or a crash.
//
// The corpus is made here: generic garbage (empty, null, binary, deep
// nesting, huge scalars, undefined aliases) that every loader must reject,
// and mutations of one valid file per loader, where every key and list item
// in turn is deleted or has its value replaced by null, an empty list, a
// mapping, a nested list and an undefined alias (wrong types everywhere,
// missing keys, null nodes, sequences where maps are expected). A mutation
// may still be valid (an optional key deleted): then it loads (exit 0).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "cli_input.h"

namespace archmatrix::testing {
namespace {

using Corpus = std::vector<std::pair<std::string, std::string>>;  // name, content

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

// Files no loader can take.
Corpus garbage() {
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary += static_cast<char>((i * 7919 + 13) & 0xff);
  return {
      {"empty", ""},
      {"null", "~\n"},
      {"a list", "- a\n- b\n"},
      {"a scalar", "just some text\n"},
      {"binary", binary},
      {"nul bytes", std::string("cells:\0\0\0\n", 10)},
      {"invalid utf-8", "\xff\xfe\xfd: \xc3\x28\n"},
      {"deep flow nesting", repeat("[", 100000) + repeat("]", 100000) + "\n"},
      {"deep block nesting", [] {
         std::string s;
         for (int i = 0; i < 3000; ++i) s += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
         return s;
       }()},
      {"huge scalar", "x: " + std::string(2 << 20, 'a') + "\n"},
      {"undefined alias", "cells: *nowhere\n"},
      {"unclosed", "cells: [ {arch: x86_64\n"},
      {"tab indentation", "cells:\n\t- arch: x86_64\n"},
      {"bad directive", "%YAML 9.9\n---\ncells: []\n"},
      {"complex key", "? [a, b]\n: c\n"},
  };
}

// The valid document with the entry on line `i` (the line and the more
// deeply indented ones under it) deleted or its value replaced: the
// mutations of every key ("  key: value", "- key: value") and list item.
Corpus mutations(const std::string& valid) {
  static const std::regex line_re(R"(^(\s*(?:- )?)([A-Za-z_]+:)?(.*)$)");
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < valid.size();) {
    const auto nl = valid.find('\n', start);
    lines.push_back(valid.substr(start, nl - start));
    start = nl == std::string::npos ? valid.size() : nl + 1;
  }
  // The column of a line's content (after any "- "): deeper lines are its children.
  const auto indent = [](const std::string& l) { return l.find_first_not_of(" -"); };
  Corpus out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, line_re)) continue;
    const std::string head = m[1].str() + (m[2].matched ? m[2].str() + " " : "");
    std::size_t end = i + 1;  // past the entry's children
    while (end < lines.size() && lines[end].find_first_not_of(' ') > indent(lines[i])) ++end;
    for (const std::string r : {"", "~", "[]", "{a: b}", "[[x]]", "*nowhere", "\"\""}) {
      std::string doc;
      for (std::size_t j = 0; j < lines.size(); ++j)
        if (j < i || j >= end) doc += lines[j] + "\n";
        else if (j == i && !r.empty()) doc += head + r + "\n";
      out.push_back({"line " + std::to_string(i + 1) + " -> " + (r.empty() ? "deleted" : r), doc});
    }
  }
  return out;
}

// Runs `load` on each file; each must be rejected (exit 2, located) or, when
// `may_load`, load (exit 0).
template <class Load>
void feed(const Corpus& corpus, const fs::path& file, bool may_load, Load&& load) {
  int rejected = 0;
  for (const auto& [name, content] : corpus) {
    SCOPED_TRACE(name + ":\n" + content.substr(0, 400));
    write_file(file, content);
    const Outcome o = load();
    if (may_load && o.exit_code == 0) continue;
    expect_located(o, file);
    ++rejected;
    if (::testing::Test::HasFailure()) return;  // one clear failure, not hundreds
  }
  EXPECT_GT(rejected, 0);
}

const char kMatrix[] =
    "defaults:\n  memory: 512\n  cpus: 1\n"
    "timeouts:\n  boot: 30\n  no_output: 60\n  margin: 10\n  tcg_scale: 2\n"
    "scenarios:\n  - demo\n"
    "cells:\n  - arch: x86_64\n    release: \"6.1\"\n    memory: 256\n"
    "  - arch: aarch64\n    page_size:\n      - 4K\n    release: \"6.12\"\n";

const char kScenario[] =
    "name: demo\nsummary: s\ndescription: d\nseed: \"001\"\n"
    "build:\n  sources:\n    - demo.c\n  link: dynamic\n  link_options:\n    - -Wl,-z,now\n"
    "  libraries:\n    - name: helper\n      sources:\n        - helper.c\n      link_options:\n        - -s\n"
    "  packages:\n    - zlib1g\n  link_libraries:\n    - z\n"
    "run:\n  timeout: 5\n  args:\n    - a\n  privileged: false\n"
    "checks:\n  one:\n    summary: s\n    xfail:\n      - when: \"page_size > 4K\"\n        reason: r\n"
    "        ref: x\n  two:\n"
    "unsupported:\n  - when: \"arch == armhf\"\n    reason: r\n";

const char kDebianRecipe[] =
    "arch: x86_64\nsource: debian\ndebian:\n  suite: bookworm\n  package: linux-image-amd64\n"
    "provides:\n  release: \"6.1\"\n  page_size: 4K\n  paging:\n    - 4level\n    - 5level\ncmdline:\n  - quiet\n";

const char kBuiltRecipe[] =
    "arch: aarch64\nsource: built\nbuilt:\n  suite: trixie\n  package: linux-source-6.12\n"
    "  fragments:\n    - extra.config\n"
    "provides:\n  release: \"6.12\"\n  page_size: 4K\n  va_bits: 48\n  va_bits_default: 48\n"
    "cmdline:\n  - quiet\n";

// A small project of its own: kernels/ with the two recipes and their
// fragments, an empty scenarios/, a pack with the demo scenario.
struct Project {
  fs::path dir, root, matrix, pack;
  explicit Project(const std::string& name) : dir(scratch(name)) {
    root = dir / "project";
    fs::create_directories(root / "scenarios");
    write_file(root / "kernels" / "debian-demo.yaml", kDebianRecipe);
    write_file(root / "kernels" / "built-demo.yaml", kBuiltRecipe);
    const fs::path frag = root / "kernels" / "fragments" / "aarch64";
    write_file(frag / "base.config", "CONFIG_64BIT=y\n# CONFIG_MODULES is not set\n");
    write_file(frag / "4k.config", "CONFIG_ARM64_4K_PAGES=y\n");
    write_file(frag / "va48.config", "CONFIG_ARM64_VA_BITS_48=y\n");
    write_file(frag / "extra.config", "CONFIG_CMDLINE=\"console=ttyAMA0\"\nCONFIG_NR_CPUS=0x40\n");
    matrix = dir / "matrix.yaml";
    write_file(matrix, kMatrix);
    pack = dir / "pack";
    write_file(pack / "demo" / "demo.c", "int main(void) { return 0; }\n");
    write_file(pack / "demo" / "helper.c", "int helper(void) { return 0; }\n");
    write_file(pack / "demo" / "scenario.yaml", kScenario);
  }
  Outcome list() const {
    return testing::list(dir, {"--root", root.string(), "--matrix", matrix.string(), "--scenarios", pack.string()});
  }
};

TEST(BrokenFiles, TheValidProjectLoads) {
  const Project p("broken-valid");
  const auto o = p.list();
  ASSERT_EQ(o.exit_code, 0) << o.log;
  EXPECT_NE(o.log.find("x86_64-6.1  kernel=debian-demo"), std::string::npos) << o.log;
  EXPECT_NE(o.log.find("aarch64-4k-6.12  kernel=built-demo"), std::string::npos) << o.log;
}

TEST(BrokenFiles, MatrixGarbage) {
  const Project p("broken-matrix-garbage");
  feed(garbage(), p.matrix, false, [&] { return p.list(); });
}

TEST(BrokenFiles, MatrixMutations) {
  const Project p("broken-matrix");
  feed(mutations(kMatrix), p.matrix, true, [&] { return p.list(); });
}

TEST(BrokenFiles, ScenarioGarbage) {
  const Project p("broken-scenario-garbage");
  feed(garbage(), p.pack / "demo" / "scenario.yaml", false, [&] { return p.list(); });
}

TEST(BrokenFiles, ScenarioMutations) {
  const Project p("broken-scenario");
  feed(mutations(kScenario), p.pack / "demo" / "scenario.yaml", true, [&] { return p.list(); });
}

TEST(BrokenFiles, KernelRecipeGarbage) {
  const Project p("broken-recipe-garbage");
  feed(garbage(), p.root / "kernels" / "debian-demo.yaml", false, [&] { return p.list(); });
}

TEST(BrokenFiles, DebianRecipeMutations) {
  const Project p("broken-debian-recipe");
  feed(mutations(kDebianRecipe), p.root / "kernels" / "debian-demo.yaml", true, [&] { return p.list(); });
}

TEST(BrokenFiles, BuiltRecipeMutations) {
  const Project p("broken-built-recipe");
  feed(mutations(kBuiltRecipe), p.root / "kernels" / "built-demo.yaml", true, [&] { return p.list(); });
}

TEST(BrokenFiles, ConfigFragments) {
  const Project p("broken-fragment");
  const Corpus corpus{
      {"no value", "CONFIG_A=y\nCONFIG_B\n"},
      {"no name", "CONFIG_=y\n"},
      {"a word", "CONFIG_A=yes\n"},
      {"unterminated string", "CONFIG_A=\"abc\n"},
      {"text after the string", "CONFIG_A=\"a\"b\"\n"},
      {"a lone 0x", "CONFIG_A=0x\n"},
      {"bad hex", "CONFIG_A=0xZZ\n"},
      {"half a not-set", "CONFIG_B=y\nCONFIG_A is not set\n"},
      {"binary", "\x7f" "ELF\x02\x01\x01\n"},
      {"a long line", "CONFIG_CMDLINE=\"" + std::string(100000, 'x') + "\"\n"},
      {"a long name", "CONFIG_" + std::string(100000, 'A') + "=y\n"},
      {"a long number", "CONFIG_A=" + std::string(100000, '1') + "\n"},
      {"a nul byte", std::string("CONFIG_A=y\0\n", 12)},
  };
  feed(corpus, p.root / "kernels" / "fragments" / "aarch64" / "extra.config", false, [&] { return p.list(); });
}

// ---- report.json -------------------------------------------------------------

fs::path golden() { return fs::path(ARCHMATRIX_SOURCE_ROOT) / "tests/fixtures/golden/report.json"; }

Corpus json_garbage() {
  Corpus c = garbage();
  c.push_back({"json null", "null"});
  c.push_back({"json array", "[1, 2]"});
  c.push_back({"json deep nesting", repeat("[", 100000) + repeat("]", 100000)});
  c.push_back({"deeply nested schema", "{\"schema\": " + repeat("[", 100000) + repeat("]", 100000) + "}"});
  c.push_back({"schema as a string", "{\"schema\": \"1\"}"});
  c.push_back({"truncated", slurp(golden()).substr(0, 5000)});
  return c;
}

// The golden report with one member replaced by a wrong value or removed:
// every top-level member, every member of the first cell, of its kernel and
// of its first scenario and result.
Corpus json_mutations() {
  using nlohmann::json;
  const json valid = json::parse(slurp(golden()));
  std::vector<json::json_pointer> at;
  const auto members = [&](const std::string& base) {
    for (const auto& [k, v] : valid.at(json::json_pointer(base)).items()) at.emplace_back(base + "/" + k);
  };
  members("");
  members("/cells/0");
  members("/cells/0/kernel");
  members("/cells/0/scenarios/0");
  members("/cells/0/scenarios/0/results/0");
  const std::vector<json> wrong{nullptr, json::array(), json::object({{"a", 1}})};
  Corpus out;
  for (const auto& p : at) {
    for (const auto& w : wrong) {
      json doc = valid;
      doc[p] = w;
      out.push_back({p.to_string() + " -> " + w.dump(), doc.dump(1)});
    }
    json doc = valid;
    doc.at(p.parent_pointer()).erase(p.back());
    out.push_back({p.to_string() + " removed", doc.dump(1)});
  }
  return out;
}

TEST(BrokenFiles, ReportJsonForDiff) {
  const fs::path d = scratch("broken-json-diff");
  const fs::path file = d / "report.json";
  const auto diff = [&] { return run_archmatrix({"diff", golden().string(), file.string()}, d / "log"); };
  feed(json_garbage(), file, false, diff);
  int loaded = 0;
  for (const auto& [name, content] : json_mutations()) {
    SCOPED_TRACE(name);
    write_file(file, content);
    const Outcome o = diff();
    if (o.exit_code == 0 || o.exit_code == 1) {
      ++loaded;  // still a report (a string that may be any string): compared
      continue;
    }
    expect_located(o, file);
    if (HasFailure()) return;
  }
  EXPECT_LT(loaded, 25);  // the members a reader ignores (totals, failed) and optional ones
}

TEST(BrokenFiles, ReportJsonForMerge) {
  const fs::path d = scratch("broken-json-merge");
  const fs::path file = d / "report.json";
  feed(json_garbage(), file, false, [&] {
    return run_archmatrix({"merge", "--out", (d / "out").string(), golden().string(), file.string()}, d / "log");
  });
}

TEST(BrokenFiles, ReportJsonForResumeAndBalanceFrom) {
  const Project p("broken-json-resume");
  const fs::path resume = p.dir / "earlier";
  const fs::path file = resume / "report.json";
  feed(json_garbage(), file, false, [&] {
    return run_archmatrix({"run", "--root", p.root.string(), "--matrix", p.matrix.string(), "--scenarios",
                           p.pack.string(), "--resume",
                           resume.string(), "--qemu-dir", (p.dir / "no-qemu").string()},
                          p.dir / "log");
  });
  feed(json_garbage(), file, false, [&] {
    return testing::list(p.dir, {"--root", p.root.string(), "--matrix", p.matrix.string(), "--scenarios",
                                 p.pack.string(), "--shard", "1/2",
                                 "--balance-from", file.string()});
  });
}

}  // namespace
}  // namespace archmatrix::testing
