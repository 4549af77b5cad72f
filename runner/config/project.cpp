#include "config/project.h"

#include <algorithm>
#include <map>

#include "config/text_checks.h"

namespace archmatrix::config {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path());
  if (ec) throw util::InputError(dir.string(), 0, 0, "cannot list directory: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Project load_project(const fs::path& matrix_file, const std::vector<fs::path>& scenario_dirs,
                     const fs::path& kernels_dir) {
  Project p;
  p.matrix = load_matrix(YamlReader::load_file(matrix_file));

  std::map<std::string, ScenarioSpec> found;
  for (const auto& dir : scenario_dirs) {
    if (!fs::is_directory(dir))
      throw util::InputError(dir.string(), 0, 0, "is not a directory of scenarios");
    for (const auto& sub : sorted_entries(dir)) {
      const fs::path yaml = sub / "scenario.yaml";
      if (!fs::is_regular_file(yaml)) continue;
      ScenarioSpec s = load_scenario(YamlReader::load_file(yaml), sub);
      if (auto it = found.find(s.name); it != found.end())
        throw util::InputError(yaml.string(), s.name_where.line, s.name_where.col,
                               "scenario '" + s.name + "' is already defined by " +
                                   it->second.file.string());
      found.emplace(s.name, std::move(s));
    }
  }
  if (p.matrix.scenarios.empty()) {
    for (auto& [name, s] : found) p.scenarios.push_back(std::move(s));
  } else {
    for (const auto& name : p.matrix.scenarios) {
      auto it = found.find(name);
      if (it == found.end())
        throw util::InputError(p.matrix.file.string(), p.matrix.scenarios_where.line, p.matrix.scenarios_where.col,
                               "scenario " + text::shown(name) + " is not in any scenario directory");
      p.scenarios.push_back(it->second);
    }
    std::sort(p.scenarios.begin(), p.scenarios.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  }

  for (const auto& f : sorted_entries(kernels_dir)) {
    if (f.extension() != ".yaml") continue;
    p.kernels.push_back(load_kernel_recipe(YamlReader::load_file(f), f.stem().string(), kernels_dir / "fragments"));
  }
  return p;
}

}  // namespace archmatrix::config
