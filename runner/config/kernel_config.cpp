#include "config/kernel_config.h"

#include <fmt/format.h>

#include <set>

#include "config/text_checks.h"
#include "util/error.h"
#include "util/sha256.h"

namespace archmatrix::config {

namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::string describe(const std::string* v) {
  if (!v) return "no such symbol (unknown to this kernel's Kconfig, or hidden by a dependency)";
  if (*v == "n") return "it not set";
  return "it =" + *v;
}

}  // namespace

std::vector<ConfigLine> parse_config_fragment(std::string_view text, const std::filesystem::path& file) {
  std::vector<ConfigLine> out;
  int n = 0;
  for (auto raw : lines_of(text)) {
    ++n;
    const std::string line = trim(raw);
    if (auto a = text::parse_config_assignment(line)) {
      out.push_back({std::string(a->symbol), std::string(a->value), file, n});
    } else if (line.empty() || line[0] == '#') {
      continue;
    } else if (line.size() > text::kMaxConfigLine) {
      throw util::InputError(file.string(), n, 0,
                             fmt::format("a line of {} characters, longer than the {} this reader accepts (Kconfig "
                                         "values such as CONFIG_CMDLINE are far shorter)",
                                         line.size(), text::kMaxConfigLine));
    } else {
      throw util::InputError(
          file.string(), n, 0,
          fmt::format("expected CONFIG_<NAME>=<y|m|n|number|\"string\">, '# CONFIG_<NAME> is not set' or a # "
                      "comment, found {}",
                      text::shown(line)));
    }
  }
  return out;
}

std::string merge_config_fragments(const std::vector<ConfigLine>& lines) {
  std::map<std::string, const ConfigLine*> last;
  std::vector<std::string> order;
  for (const auto& l : lines) {
    if (!last.count(l.symbol)) order.push_back(l.symbol);
    last[l.symbol] = &l;
  }
  std::string out;
  for (const auto& sym : order) {
    const ConfigLine& l = *last[sym];
    out += l.value == "n" ? fmt::format("# CONFIG_{} is not set\n", sym) : fmt::format("CONFIG_{}={}\n", sym, l.value);
  }
  return out;
}

std::map<std::string, std::string> parse_dot_config(std::string_view text) {
  std::map<std::string, std::string> out;
  for (auto raw : lines_of(text)) {
    const std::string line = trim(raw);
    if (auto a = text::parse_config_assignment(line)) out[std::string(a->symbol)] = std::string(a->value);
  }
  return out;
}

std::vector<std::string> config_mismatches(const std::vector<ConfigLine>& requested, std::string_view dot_config) {
  const auto have = parse_dot_config(dot_config);
  std::map<std::string, const ConfigLine*> last;
  for (const auto& l : requested) last[l.symbol] = &l;
  std::vector<std::string> out;
  for (const auto& l : requested) {
    if (last[l.symbol] != &l) continue;
    auto it = have.find(l.symbol);
    const std::string* got = it == have.end() ? nullptr : &it->second;
    // "not set" is honoured by an absent symbol too: Kconfig omits symbols
    // whose dependencies are off, and that is still off.
    if (l.value == "n" ? (!got || *got == "n") : (got && *got == l.value)) continue;
    out.push_back(fmt::format("{}:{}: CONFIG_{}={} requested, the resolved .config has {}", l.file.string(), l.line,
                              l.symbol, l.value, describe(got)));
  }
  return out;
}

namespace {
std::string inputs_text(const BuiltKernelInputs& in) {
  return fmt::format("arch {}\nsource {} {} {}\ntoolchain {}\ntarget {}\n", in.arch, in.source_package,
                     in.source_version, in.source_sha256, in.toolchain, in.make_target);
}
}  // namespace

std::string built_kernel_key(const BuiltKernelInputs& in, std::string_view dot_config) {
  return util::sha256_hex("built-kernel 1\n" + inputs_text(in) + "config\n" + std::string(dot_config)).substr(0, 32);
}

std::string built_kernel_inputs_key(const BuiltKernelInputs& in, const std::vector<std::string>& fragment_texts) {
  std::string text = "built-kernel-inputs 1\n" + inputs_text(in);
  for (const auto& f : fragment_texts) text += fmt::format("fragment {}\n{}", f.size(), f);
  return util::sha256_hex(text).substr(0, 32);
}

}  // namespace archmatrix::config
