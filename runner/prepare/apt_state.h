#pragma once
// A private apt state directory for one Debian suite and architecture:
// <cache>/apt/<suite>-<arch>/. apt-get and apt-cache run against it with
// options only, so the host's package set, sources and suites are never
// touched, and the mirror is the one the host's own sources already name.
// Indexes are signed (debian-archive-keyring) and downloads are checked
// against them by apt itself.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace archmatrix::prepare {

class AptState {
 public:
  using Progress = std::function<void(std::string_view)>;
  /// The deb_arch of a state that knows the suite's source packages
  /// (deb-src) instead of one architecture's binary packages.
  static constexpr std::string_view kSource = "source";
  AptState(std::filesystem::path cache_root, std::string suite, std::string deb_arch, Progress progress);

  const std::string& suite() const { return suite_; }
  const std::string& deb_arch() const { return deb_arch_; }
  std::filesystem::path dir() const;

  /// argv for `tool` (apt-get or apt-cache) with this state's options, then args.
  std::vector<std::string> argv(const std::string& tool, const std::vector<std::string>& args) const;

  /// Writes the state's sources.list and directories; then `apt-get update`
  /// until apt knows probe_package. Survives a mirror in sync (retries) and a
  /// Release file past its Valid-Until date (waived for this update only,
  /// said, the signature still checked; the next update checks the window
  /// again). Throws util::Error after the last attempt.
  void update(const std::string& probe_package) const;

  /// `apt-cache show --no-all-versions name`: the candidate's stanza, or ""
  /// when apt knows no such package.
  std::string show(const std::string& name) const;

  /// `apt-get download name=version` into dir (new or empty) and the .deb it
  /// left, once its sha256 is `sha256`, the value of the signed index (apt
  /// checks it too; archmatrix does not rely on that). Throws util::Error
  /// with apt's output, or naming the file and both hashes.
  std::filesystem::path download(const std::string& name, const std::string& version, const std::string& sha256,
                                 const std::filesystem::path& dir) const;

  /// For a kSource state: `apt-cache showsrc --only-source name`, the source
  /// stanzas ("" when apt knows no such source package).
  std::string show_source(const std::string& name) const;

  /// For a kSource state: `apt-get source --download-only name=version` into
  /// dir (the .dsc and its tarballs, each checked by apt against the signed
  /// Sources index); throws util::Error with apt's output.
  void download_source(const std::string& name, const std::string& version, const std::filesystem::path& dir) const;

 private:
  void prepare() const;

  std::filesystem::path cache_;
  std::string suite_, deb_arch_;
  Progress progress_;
};

}  // namespace archmatrix::prepare
