#include "prepare/apt_state.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "prepare/apt_sources.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/subprocess.h"
#include "util/text_safe.h"

namespace archmatrix::prepare {

namespace fs = std::filesystem;

namespace {

constexpr const char* kKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

using util::tail;

}  // namespace

AptState::AptState(fs::path cache_root, std::string suite, std::string deb_arch, Progress progress)
    : cache_(std::move(cache_root)), suite_(std::move(suite)), deb_arch_(std::move(deb_arch)),
      progress_(std::move(progress)) {}

fs::path AptState::dir() const { return cache_ / "apt" / (suite_ + "-" + deb_arch_); }

std::vector<std::string> AptState::argv(const std::string& tool, const std::vector<std::string>& args) const {
  const fs::path d = dir();
  std::vector<std::string> v{tool};
  if (tool == "apt-get") v.push_back("-q");
  const std::vector<std::string> opts{
      "Dir::Etc::SourceList=" + (d / "sources.list").string(),
      "Dir::Etc::SourceParts=" + (d / "sources.list.d").string(),
      "Dir::Etc::Preferences=" + (d / "preferences").string(),
      "Dir::Etc::PreferencesParts=" + (d / "preferences.d").string(),
      "Dir::State=" + (d / "state").string(),
      "Dir::State::Status=" + (d / "status").string(),
      "Dir::Cache=" + (d / "cache").string(),
      "APT::Sandbox::User=root",
      "Acquire::Languages=none",
      "APT::Get::List-Cleanup=false"};
  for (const auto& o : opts) v.insert(v.end(), {"-o", o});
  if (deb_arch_ != kSource)
    v.insert(v.end(), {"-o", "APT::Architecture=" + deb_arch_, "-o", "APT::Architectures=" + deb_arch_});
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

void AptState::prepare() const {
  const fs::path d = dir();
  for (const char* sub : {"sources.list.d", "preferences.d", "state/lists/partial", "cache/archives/partial"})
    fs::create_directories(d / sub);
  if (!fs::exists(d / "status")) util::write_file_atomic(d / "status", "");
  // Earlier versions kept the expired-Release waiver here for good; it is now
  // decided at each update.
  fs::remove(d / "allow-expired");
  const std::string line = fmt::format("{} [signed-by={}] {} {} main\n", deb_arch_ == kSource ? "deb-src" : "deb",
                                       kKeyring, host_debian_mirror(), suite_);
  util::write_file_atomic(d / "sources.list", line);
}

void AptState::update(const std::string& probe_package) const {
  fs::create_directories(dir());
  // Debian kernels and kernel sources of one suite share this state, and so
  // may two runs: one apt-get update at a time.
  util::FileLock lock(dir().string() + ".lock");
  prepare();
  // A mirror in the middle of a sync can fail one index; what matters is
  // whether apt then knows the package, so check that and retry.
  std::string last;
  bool waive = false;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    std::vector<std::string> args{"update"};
    if (waive) args.insert(args.begin(), {"-o", "Acquire::Check-Valid-Until=false", "-o", "Acquire::Check-Date=false"});
    last = util::run_command(argv("apt-get", args)).output;
    if (!(deb_arch_ == kSource ? show_source(probe_package) : show(probe_package)).empty()) return;
    // Mirrors that serve a stored snapshot of the archive can carry a
    // Release file past its Valid-Until date. The signature is still
    // checked; only the freshness window is waived, for this update of this
    // suite only (the next one checks it again: a mirror stale once is not
    // trusted stale for good), and said.
    const bool expired = last.find("is expired") != std::string::npos ||
                         last.find("is not valid yet") != std::string::npos;
    if (expired && !waive) {
      waive = true;
      progress_(fmt::format("the {} Release file on this mirror is outside its Valid-Until window; using it "
                            "anyway (its signature is still verified)", suite_));
      continue;
    }
    progress_(fmt::format("apt-get update for {} {} failed (attempt {}); retrying", suite_, deb_arch_, attempt));
    std::this_thread::sleep_for(std::chrono::seconds(5 * attempt));
  }
  throw util::Error(fmt::format("apt could not fetch the {} {} package index with {}:\n{}", suite_, deb_arch_,
                                probe_package, tail(last)));
}

namespace {

// apt-get with `args` in `where`; apt checks what it fetches against the
// hashes of the signed index. Throws util::Error saying `what` failed.
void fetch_into(const AptState& apt, const std::vector<std::string>& args, const fs::path& where,
                const std::string& what) {
  fs::create_directories(where);
  util::CommandOptions co;
  co.cwd = where;
  auto r = util::run_command(apt.argv("apt-get", args), co);
  if (r.exit_code != 0) throw util::Error(fmt::format("downloading {} failed:\n{}", what, tail(r.output)));
}

}  // namespace

std::string AptState::show(const std::string& name) const {
  auto r = util::run_command(argv("apt-cache", {"show", "--no-all-versions", name}));
  return r.exit_code == 0 ? r.output : std::string();
}

fs::path AptState::download(const std::string& name, const std::string& version, const std::string& sha256,
                           const fs::path& where) const {
  if (sha256.empty())
    throw util::Error(fmt::format("apt's {} {} index gives no SHA256 for {} {}", suite_, deb_arch_, name, version));
  fetch_into(*this, {"download", name + "=" + version}, where, name + " " + version);
  std::vector<fs::path> debs;
  for (const auto& f : fs::directory_iterator(where)) debs.push_back(f.path());
  if (debs.size() != 1)
    throw util::Error(fmt::format("apt-get download {} {} left {} files in {}, expected one .deb", name, version,
                                  debs.size(), where.string()));
  if (const std::string got = util::sha256_file(debs.front()); got != sha256)
    throw util::Error(fmt::format("{}: sha256 {}, but apt's {} {} index says {}", debs.front().string(), got, suite_,
                                  deb_arch_, sha256));
  return debs.front();
}

std::string AptState::show_source(const std::string& name) const {
  auto r = util::run_command(argv("apt-cache", {"showsrc", "--only-source", name}));
  return r.exit_code == 0 ? r.output : std::string();
}

void AptState::download_source(const std::string& name, const std::string& version, const fs::path& where) const {
  fetch_into(*this, {"source", "--download-only", name + "=" + version}, where,
             "the source of " + name + " " + version);
}

}  // namespace archmatrix::prepare
