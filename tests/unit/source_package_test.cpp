#include <gtest/gtest.h>

#include "prepare/apt_sources.h"
#include "prepare/source_package.h"

namespace archmatrix::prepare {
namespace {

// The shape of `apt-cache showsrc jemalloc` in Debian 12 (trimmed).
constexpr const char* kShowsrc =
    "Package: jemalloc\n"
    "Binary: libjemalloc2, libjemalloc-dev\n"
    "Version: 5.3.0-1\n"
    "Format: 3.0 (quilt)\n"
    "Files:\n"
    " 6b7fc4a1b2d0f1e2a3b4c5d6e7f80912 2179 jemalloc_5.3.0-1.dsc\n"
    "Checksums-Sha256:\n"
    " 2db82d1e7119df3e71b7640219b6dfe84789bc0537983c3b7ac4f7189aecfeaa 736023 jemalloc_5.3.0.orig.tar.bz2\n"
    " 1f7e0c5d1e8f0bb2b0b2bd3c3e0f2c2d9d9e1b6f6c1a3c6e5f4e3d2c1b0a9f8e 2179 jemalloc_5.3.0-1.dsc\n"
    " 0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829 10572 jemalloc_5.3.0-1.debian.tar.xz\n"
    "Directory: pool/main/j/jemalloc\n";

TEST(SourcePackage, TheDscChecksumComesFromTheSourcesStanza) {
  const auto stanzas = parse_stanzas(kShowsrc);
  ASSERT_EQ(stanzas.size(), 1u);
  ASSERT_TRUE(stanzas[0].count("Checksums-Sha256"));
  EXPECT_EQ(dsc_sha256(stanzas[0].at("Checksums-Sha256")),
            "1f7e0c5d1e8f0bb2b0b2bd3c3e0f2c2d9d9e1b6f6c1a3c6e5f4e3d2c1b0a9f8e");
}

TEST(SourcePackage, NoDscInTheFieldGivesNothing) {
  EXPECT_EQ(dsc_sha256(""), "");
  EXPECT_EQ(dsc_sha256(" 2db8 736023 jemalloc_5.3.0.orig.tar.bz2\n"), "");
  EXPECT_EQ(dsc_sha256(" 2db8 736023 x.dsc.asc\n"), "");
}

}  // namespace
}  // namespace archmatrix::prepare
