#include "prepare/apt_sources.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string_view>

#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::prepare {

namespace {


std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool serves_release(const std::vector<std::string>& suites) {
  static const std::set<std::string, std::less<>> kReleases{"bookworm", "trixie", "forky", "sid",
                                                            "stable",   "testing", "unstable"};
  return std::any_of(suites.begin(), suites.end(), [](std::string_view s) {
    constexpr std::string_view kUpdates = "-updates";
    if (s.size() > kUpdates.size() && s.substr(s.size() - kUpdates.size()) == kUpdates) s.remove_suffix(kUpdates.size());
    return kReleases.count(s) > 0;
  });
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

std::optional<std::string> debian_mirror(const std::vector<std::string>& texts) {
  for (const auto& text : texts) {
    // deb822: stanzas of "Key: value" lines separated by blank lines.
    for (const auto& st : parse_stanzas(text)) {
      auto types = st.find("Types"), uris = st.find("URIs"), suites = st.find("Suites");
      if (types == st.end() || uris == st.end() || suites == st.end()) continue;
      const auto t = words(types->second);
      if (std::find(t.begin(), t.end(), "deb") == t.end()) continue;
      if (auto en = st.find("Enabled"); en != st.end() && en->second == "no") continue;
      if (serves_release(words(suites->second)) && !words(uris->second).empty())
        return trim_slash(words(uris->second).front());
    }
    // One-line format: deb [options] URI suite components...
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      line = line.substr(0, line.find('#'));
      auto w = words(line);
      if (w.size() < 3 || w[0] != "deb") continue;
      std::size_t uri = 1;  // skip "[arch=... signed-by=...]" options, which may span words
      if (w[1].front() == '[') {
        while (uri < w.size() && w[uri].back() != ']') ++uri;
        ++uri;
      }
      if (uri + 1 >= w.size()) continue;
      if (serves_release({w[uri + 1]})) return trim_slash(w[uri]);
    }
  }
  return std::nullopt;
}

std::string host_debian_mirror() {
  namespace fs = std::filesystem;
  const char* env = std::getenv("ARCHMATRIX_APT_ETC");
  const fs::path etc = env && *env ? fs::path(env) : fs::path("/etc/apt");
  std::vector<std::string> texts;
  const auto add = [&](const fs::path& p) {
    try {
      texts.push_back(util::read_file(p));
    } catch (...) {
    }
  };
  add(etc / "sources.list");
  std::vector<fs::path> parts;
  std::error_code ec;
  for (fs::directory_iterator it(etc / "sources.list.d", ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".list" || it->path().extension() == ".sources") parts.push_back(it->path());
  std::sort(parts.begin(), parts.end());
  for (const auto& p : parts) add(p);
  if (auto m = debian_mirror(texts)) return *m;
  throw NoDebianMirror("no Debian mirror in " + (etc / "sources.list").string() + " or " +
                       (etc / "sources.list.d").string() +
                       "/: archmatrix downloads kernels from the Debian archive this machine's apt already uses");
}

std::vector<Stanza> parse_stanzas(const std::string& text) {
  std::vector<Stanza> out;
  Stanza cur;
  std::string last;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      last.clear();
      continue;
    }
    if (line[0] == '#') continue;
    if ((line[0] == ' ' || line[0] == '\t') && !last.empty()) {
      cur[last] += "\n" + line.substr(1);
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    last = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    cur[last] = value;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::vector<std::string> dependency_names(const std::string& depends) {
  std::vector<std::string> out;
  std::istringstream in(depends);
  for (std::string item; std::getline(in, item, ',');) {
    item = item.substr(0, item.find('|'));
    item = item.substr(0, item.find('('));
    item = item.substr(0, item.find(':'));
    item.erase(0, item.find_first_not_of(" \t\n"));
    item.erase(item.find_last_not_of(" \t\n") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace archmatrix::prepare
