#include "prepare/source_package.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <sstream>

#include "prepare/apt_sources.h"
#include "prepare/apt_state.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string dsc_sha256(const std::string& checksums_field) {
  std::istringstream in(checksums_field);
  std::string sha, size, file;
  while (in >> sha >> size >> file)
    if (file.size() > 4 && file.compare(file.size() - 4, 4, ".dsc") == 0) return sha;
  return "";
}

SourcePackageFetcher::SourcePackageFetcher(fs::path cache_root, Progress progress)
    : cache_(std::move(cache_root)), progress_(std::move(progress)) {}

namespace {

bool version_greater(const std::string& a, const std::string& b) {
  return util::run_command({"dpkg", "--compare-versions", a, "gt", b}).exit_code == 0;
}

}  // namespace

SourcePackage SourcePackageFetcher::fetch(const std::string& suite, const std::string& name) {
  const fs::path dir = cache_ / "sources";
  fs::create_directories(dir / "resolved");
  util::FileLock lock(dir / (".lock-" + suite + "-src-" + util::file_safe(name)));
  const fs::path record = dir / "resolved" / (suite + "-src-" + util::file_safe(name) + ".json");
  SourcePackage src;
  src.name = name;
  bool recorded = false;
  if (fs::exists(record)) {
    try {
      const json r = json::parse(util::read_file(record));
      src.version = r.at("version");
      src.dsc_sha256 = r.at("dsc_sha256");
      recorded = true;
    } catch (const std::exception& e) {
      progress_(fmt::format("source record {} unusable ({}): resolving again", record.string(), e.what()));
    }
  }
  const AptState apt(cache_, suite, std::string(AptState::kSource), progress_);
  if (!recorded) {
    progress_(fmt::format("resolving the source package {} in Debian {}", name, suite));
    apt.update("hello");  // every suite has GNU hello's source; an unknown package is then known to be unknown
    const auto stanzas = parse_stanzas(apt.show_source(name));
    const Stanza* best = nullptr;
    for (const auto& st : stanzas)
      if (st.count("Version") && (!best || version_greater(st.at("Version"), best->at("Version")))) best = &st;
    if (!best)
      throw util::Error(fmt::format("Debian {} has no source package '{}'", suite, name), util::kExitBadInput);
    src.version = best->at("Version");
    src.dsc_sha256 = best->count("Checksums-Sha256") ? dsc_sha256(best->at("Checksums-Sha256")) : "";
    if (src.dsc_sha256.empty())
      throw util::Error(fmt::format("apt's Sources index gives no .dsc checksum for {} {}", name, src.version));
  }

  const fs::path root = dir / util::file_safe(name + "_" + src.version + "-src");
  if (!util::directory_complete(root, src.dsc_sha256)) {
    const fs::path work = dir / fmt::format(".work-{}-src-{}", util::file_safe(name), ::getpid());
    fs::remove_all(work);
    progress_(fmt::format("downloading the source of {} {}", name, src.version));
    apt.download_source(name, src.version, work / "download");
    fs::path dsc;
    for (const auto& e : fs::directory_iterator(work / "download"))
      if (e.path().extension() == ".dsc") dsc = e.path();
    if (dsc.empty()) throw util::Error(fmt::format("apt-get source {} {} left no .dsc", name, src.version));
    if (const std::string got = util::sha256_file(dsc); got != src.dsc_sha256)
      throw util::Error(fmt::format("{}: sha256 {} differs from the Sources index's {}", dsc.string(), got,
                                    src.dsc_sha256));
    progress_(fmt::format("unpacking {}", dsc.filename().string()));
    // apt checked every file against the signed Sources index, and
    // dpkg-source checks the tarballs against the .dsc again (its signature
    // needs the uploader's key, which is not on the host: a warning only).
    auto r = util::run_command({"dpkg-source", "-x", dsc.string(), (work / "tree").string()});
    if (r.exit_code != 0) throw util::Error(fmt::format("dpkg-source -x {} failed:\n{}", dsc.string(), r.output));
    util::publish_directory(work / "tree", root, src.dsc_sha256);
    fs::remove_all(work);
  }
  src.tree = root;
  if (!recorded)
    util::write_file_atomic(record, json{{"package", name}, {"version", src.version}, {"dsc_sha256", src.dsc_sha256}}
                                            .dump(2) + "\n");
  return src;
}

}  // namespace archmatrix::prepare
