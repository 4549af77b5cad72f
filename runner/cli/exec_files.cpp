// exec's files: --put and --get arguments checked before anything boots,
// copied into the guest before the program and back after it.

#include "cli/exec_files.h"

#include <iostream>
#include <set>

#include "util/error.h"
#include "util/text_safe.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;

// SRC[:DST]; a SRC whose name holds ':' is taken whole when it exists. The
// default DST is /tmp/<name>: writable, and never inside the read-only cwd
// share (the same absolute path often would be).
std::vector<PutSpec> parse_puts(const std::vector<std::string>& specs) {
  std::vector<PutSpec> out;
  for (const auto& spec : specs) {
    std::string src = spec, dst;
    std::error_code ec;
    if (const auto colon = spec.rfind(':'); colon != std::string::npos && !fs::exists(spec, ec))
      src = spec.substr(0, colon), dst = spec.substr(colon + 1);
    if (src.empty() || !fs::exists(src, ec))
      throw util::Error("--put " + spec + ": " + (src.empty() ? "expected SRC[:DST]" : src + " does not exist"));
    fs::path abs = fs::absolute(src).lexically_normal();
    if (abs.filename().empty()) abs = abs.parent_path();  // "dir/"
    if (dst.empty()) dst = "/tmp/" + abs.filename().string();
    dst = fs::path(dst).lexically_normal().string();
    while (dst.size() > 1 && dst.back() == '/') dst.pop_back();
    if (dst.front() != '/' || dst == "/" || abs == "/")
      throw util::Error("--put " + spec + ": expected DST to be an absolute guest path other than /");
    out.push_back({abs, dst});
  }
  return out;
}

void check_gets(const std::vector<std::string>& gets) {
  std::set<std::string> names;
  for (const auto& g : gets) {
    if (g.empty() || g.front() != '/' || fs::path(g).filename().empty())
      throw util::Error("--get " + g + ": expected the absolute path of a file in the guest");
    if (!names.insert(fs::path(g).filename().string()).second)
      throw util::Error("--get " + g + ": another --get brings back a file of the same name");
  }
}

void put_one(guest::Guest& g, const PutSpec& p) {
  const auto mode = [](const fs::path& f) { return static_cast<unsigned>(fs::status(f).permissions()) & 07777u; };
  if (!fs::is_directory(p.host)) return g.put(p.host, p.guest, mode(p.host));
  g.put_dir(p.guest, mode(p.host));
  // Pre-order, so a directory exists (with its mode) before what it holds.
  for (auto it = fs::recursive_directory_iterator(p.host); it != fs::recursive_directory_iterator(); ++it) {
    const std::string to = p.guest + "/" + it->path().lexically_relative(p.host).string();
    if (it->is_symlink() && it->is_directory()) {
      std::cerr << "archmatrix exec: warning: --put skips " << it->path().string() << " (a link to a directory)\n";
    } else if (it->is_directory()) {
      g.put_dir(to, mode(it->path()));
    } else if (it->is_regular_file()) {
      g.put(it->path(), to, mode(it->path()));
    } else {
      std::cerr << "archmatrix exec: warning: --put skips " << it->path().string() << " (not a file)\n";
    }
  }
}

// After the program: a file it did not make is a warning, its status stands.
void fetch_gets(guest::Guest& g, const std::vector<std::string>& gets, const fs::path& out) {
  if (gets.empty()) return;
  const fs::path dir = out.empty() ? fs::current_path() : out;
  fs::create_directories(dir);
  for (const auto& path : gets)
    if (auto why = g.get(path, dir / fs::path(path).filename()))
      std::cerr << ("archmatrix exec: warning: --get " + path + ": " + util::terminal_text(*why) + "\n");  // one write: cells run in threads
}

}  // namespace archmatrix::cli
