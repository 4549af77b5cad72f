#pragma once
// Test helper: fake `apt-get` and `apt-cache` first in PATH, so AptState and
// its callers run without a network. Their behaviour is files in dir():
//   show/<name>  the stanza `apt-cache show <name>` prints (after an update)
//   debs/<name>  the file `apt-get download <name>=<version>` leaves
//   expired      apt-get update fails with apt's "is expired" message unless
//                Acquire::Check-Valid-Until=false is given
//   log          one line per call: the tool and its arguments
// AptState still writes its sources.list with the host's Debian mirror, so
// a host without one skips (ready() is false).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "prepare/apt_sources.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace archmatrix::testing {

class FakeApt {
 public:
  explicit FakeApt(const std::string& tag) {
    namespace fs = std::filesystem;
    dir_ = fs::temp_directory_path() / ("archmatrix-fake-apt-" + tag + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "show");
    fs::create_directories(dir_ / "debs");
    script("apt-get", R"(d="$FAKE_APT_DIR"
echo "apt-get $*" >> "$d/log"
waived=no
for a in "$@"; do last="$a"; [ "$a" = Acquire::Check-Valid-Until=false ] && waived=yes; done
for a in "$@"; do
  case "$a" in
    update)
      if [ -e "$d/expired" ] && [ $waived = no ]; then
        echo "E: Release file for http://mirror.invalid/debian/dists/bookworm/InRelease is expired (invalid since 1d 2h 3min 4s). Updates for this repository will not be applied."
        exit 100
      fi
      touch "$d/updated"; exit 0;;
    download)
      name="${last%%=*}"; version="${last#*=}"
      [ -e "$d/debs/$name" ] || { echo "E: Can't find a source to download version '$version' of '$name'"; exit 100; }
      cp "$d/debs/$name" "./${name}_${version}_all.deb"; exit 0;;
  esac
done
exit 100
)");
    script("apt-cache", R"(d="$FAKE_APT_DIR"
echo "apt-cache $*" >> "$d/log"
for a in "$@"; do last="$a"; done
[ -e "$d/updated" ] && [ -e "$d/show/$last" ] && cat "$d/show/$last" && exit 0
exit 100
)");
    if (const char* p = std::getenv("PATH")) old_path_ = p;
    ::setenv("PATH", ((dir_ / "bin").string() + ":" + old_path_).c_str(), 1);
    ::setenv("FAKE_APT_DIR", dir_.c_str(), 1);
    try {
      prepare::host_debian_mirror();
      ready_ = true;
    } catch (const util::Error&) {
    }
  }
  ~FakeApt() {
    ::setenv("PATH", old_path_.c_str(), 1);
    ::unsetenv("FAKE_APT_DIR");
    std::filesystem::remove_all(dir_);
  }
  FakeApt(const FakeApt&) = delete;
  FakeApt& operator=(const FakeApt&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  /// False on a host whose apt names no Debian mirror (AptState needs one).
  bool ready() const { return ready_; }
  std::string log() const {
    std::ifstream in(dir_ / "log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  /// What `apt-cache show name` answers from now on.
  void package(const std::string& name, const std::string& stanza) const { std::ofstream(dir_ / "show" / name) << stanza; }
  /// The file `apt-get download name=...` leaves.
  void deb(const std::string& name, const std::filesystem::path& file) const {
    std::filesystem::copy_file(file, dir_ / "debs" / name, std::filesystem::copy_options::overwrite_existing);
  }

 private:
  void script(const std::string& name, const std::string& body) const {
    const auto p = dir_ / "bin" / name;
    std::ofstream(p) << "#!/bin/sh\n" << body;
    std::filesystem::permissions(p, std::filesystem::perms::owner_all);
  }

  std::filesystem::path dir_;
  std::string old_path_;
  bool ready_ = false;
};

/// A .deb built by dpkg-deb from `files` (path in the package -> contents).
inline std::filesystem::path build_deb(const std::filesystem::path& dir, const std::string& name,
                                       const std::vector<std::pair<std::string, std::string>>& files) {
  namespace fs = std::filesystem;
  const fs::path pkg = dir / (name + "-tree");
  fs::create_directories(pkg / "DEBIAN");
  std::ofstream(pkg / "DEBIAN/control") << "Package: " << name << "\nVersion: 1.0\nArchitecture: all\n"
                                        << "Maintainer: Nobody <nobody@example.org>\nDescription: test\n";
  for (const auto& [path, contents] : files) {
    fs::create_directories((pkg / path).parent_path());
    std::ofstream(pkg / path, std::ios::binary) << contents;
  }
  const fs::path deb = dir / (name + ".deb");
  const auto r = util::run_command({"dpkg-deb", "--root-owner-group", "--build", pkg.string(), deb.string()});
  if (r.exit_code != 0) throw util::Error("dpkg-deb --build failed: " + r.output);
  return deb;
}

}  // namespace archmatrix::testing
