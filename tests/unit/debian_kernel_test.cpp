#include <gtest/gtest.h>

#include <filesystem>

#include "prepare/apt_sources.h"
#include "prepare/debian_kernel.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "fake_apt.h"

namespace archmatrix::prepare {
namespace {

std::string fixture(const std::string& name) {
  return util::read_file(std::filesystem::path(ARCHMATRIX_FIXTURES) / "apt" / name);
}

// `apt-cache show NAME` answered from a captured multi-stanza file.
std::function<std::string(const std::string&)> shower(const std::string& text) {
  return [text](const std::string& name) {
    for (const auto& st : parse_stanzas(text))
      if (st.at("Package") == name) {
        std::string out;
        for (const auto& [k, v] : st) out += k + ": " + v + "\n";
        return out;
      }
    return std::string();
  };
}

TEST(AptSources, Deb822PicksTheReleaseArchiveNotSecurity) {
  const std::string sources =
      "Types: deb\nURIs: http://security.example.invalid/debian-security\nSuites: bookworm-security\n"
      "Components: main\n\n"
      "Types: deb deb-src\nURIs: http://deb.example.invalid/debian/\nSuites: bookworm bookworm-updates\n"
      "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";
  EXPECT_EQ(debian_mirror({sources}), "http://deb.example.invalid/debian");
}

TEST(AptSources, OneLineFormatWithOptionsAndComments) {
  const std::string list =
      "# deb http://old.example.invalid/debian bookworm main\n"
      "deb http://security.example.invalid/debian-security bookworm-security main\n"
      "deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://m.example.invalid/debian bookworm main\n";
  EXPECT_EQ(debian_mirror({list}), "http://m.example.invalid/debian");
}

TEST(AptSources, DisabledStanzaAndNothingFound) {
  EXPECT_EQ(debian_mirror({"Types: deb\nURIs: http://a.example.invalid/debian\nSuites: trixie\nEnabled: no\n"}),
            std::nullopt);
  EXPECT_EQ(debian_mirror({"", "deb-src http://a.example.invalid/debian bookworm main\n"}), std::nullopt);
}

TEST(AptSources, DependencyNames) {
  EXPECT_EQ(dependency_names("dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, "
                             "linux-base-7.2 (= 7.2-1), linux-binary-7.2:arm64 (= 7.2-1)"),
            (std::vector<std::string>{"dracut", "linux-base-7.2", "linux-binary-7.2"}));
}

TEST(DebianKernel, BookwormResolvesToTheImagePackage) {
  auto pkgs = kernel_packages("linux-image-armmp", shower(fixture("bookworm-armhf.show")));
  ASSERT_EQ(pkgs.size(), 1u);
  EXPECT_EQ(pkgs[0].name, "linux-image-6.1.0-50-armmp");
  EXPECT_EQ(pkgs[0].version, "6.1.176-1");
  EXPECT_EQ(pkgs[0].sha256.size(), 64u);
}

TEST(DebianKernel, SidFollowsTheImagePackageToItsLinuxBinary) {
  auto pkgs = kernel_packages("linux-image-arm64", shower(fixture("sid-arm64.show")));
  ASSERT_EQ(pkgs.size(), 2u);
  EXPECT_EQ(pkgs[0].name, "linux-binary-7.2.13+deb14-arm64");
  EXPECT_EQ(pkgs[1].name, "linux-image-7.2.13+deb14-arm64");
}

TEST(DebianKernel, UnknownPackageAndCacheKey) {
  EXPECT_THROW(kernel_packages("linux-image-nope", shower("")), util::Error);
  const DebianKernelSpec spec{"sid", "arm64", "linux-image-arm64"};
  const std::vector<ResolvedPackage> a{{"linux-image-x", "1", "aa"}}, b{{"linux-image-x", "2", "aa"}};
  EXPECT_EQ(kernel_cache_key(spec, a), kernel_cache_key(spec, a));
  EXPECT_NE(kernel_cache_key(spec, a), kernel_cache_key(spec, b));
}

// A kernel package as apt's index describes it: the metapackage and the
// image package it depends on, whose SHA256 is that of `indexed`.
void index_kernel(const testing::FakeApt& apt, const std::filesystem::path& indexed) {
  apt.package("linux-image-arm64", "Package: linux-image-arm64\nVersion: 6.1.99-1\n"
                                   "Depends: linux-image-6.1.0-99-arm64 (= 6.1.99-1)\nSHA256: 00\n");
  apt.package("linux-image-6.1.0-99-arm64", "Package: linux-image-6.1.0-99-arm64\nVersion: 6.1.99-1\nSHA256: " +
                                                util::sha256_file(indexed) + "\n");
}

// archmatrix checks each downloaded kernel .deb against the index itself
// (as it does target packages), whatever apt did: a file that differs is
// an error naming it and both hashes, and nothing is cached from it.
TEST(DebianKernelFetch, RefusesADebWhoseSha256IsNotTheIndexs) {
  testing::FakeApt apt("kernel-sha");
  if (!apt.ready()) GTEST_SKIP() << "this host's apt names no Debian mirror";
  const auto genuine = testing::build_deb(apt.dir(), "genuine", {{"boot/vmlinuz-6.1.0-99-arm64", "genuine\n"}});
  const auto tampered = testing::build_deb(apt.dir(), "tampered", {{"boot/vmlinuz-6.1.0-99-arm64", "tampered\n"}});
  index_kernel(apt, genuine);
  apt.deb("linux-image-6.1.0-99-arm64", tampered);
  DebianKernelFetcher fetcher(apt.dir() / "cache", [](std::string_view) {});
  const DebianKernelSpec spec{"bookworm", "arm64", "linux-image-arm64"};
  std::string e;
  try {
    fetcher.fetch(spec, false);
  } catch (const util::Error& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("linux-image-6.1.0-99-arm64_6.1.99-1_all.deb"), std::string::npos) << e;
  EXPECT_NE(e.find(util::sha256_file(tampered)), std::string::npos) << e;
  EXPECT_NE(e.find(util::sha256_file(genuine)), std::string::npos) << e;
  EXPECT_FALSE(fetcher.cached(spec));

  apt.deb("linux-image-6.1.0-99-arm64", genuine);
  const KernelArtifact a = fetcher.fetch(spec, false);
  EXPECT_EQ(util::read_file(a.image), "genuine\n");
  EXPECT_EQ(a.release, "6.1.0-99-arm64");
  EXPECT_EQ(a.version, "6.1.99-1");
  // Published like every cache entry (util::publish_directory): marker last, one rename.
  EXPECT_TRUE(util::directory_complete(a.image.parent_path(), a.sha256));
}

}  // namespace
}  // namespace archmatrix::prepare
