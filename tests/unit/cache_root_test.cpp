// With neither HOME nor XDG_CACHE_HOME the cache falls back to the temp
// directory, where another user could have made it first and fed us
// kernels (issue 9, item 12): it must be ours alone (0700, our uid, not a
// symlink), or archmatrix refuses it with exit 3.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "util/error.h"
#include "util/fs.h"

namespace archmatrix::util {
namespace {

namespace fs = std::filesystem;

class CacheRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() / ("am-cacheroot-" + std::to_string(::getpid()));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
    for (const char* n : {"HOME", "XDG_CACHE_HOME", "TMPDIR"})
      if (const char* v = std::getenv(n)) saved_.emplace_back(n, v);
    ::unsetenv("HOME");
    ::unsetenv("XDG_CACHE_HOME");
    ::setenv("TMPDIR", tmp_.c_str(), 1);  // the "shared" temp directory of this test
  }
  void TearDown() override {
    ::unsetenv("TMPDIR");
    for (const auto& [n, v] : saved_) ::setenv(n.c_str(), v.c_str(), 1);
    fs::remove_all(tmp_);
  }
  fs::path expected() const { return tmp_ / ("archmatrix-cache-" + std::to_string(::getuid())); }
  int refusal(const std::string& what) {
    try {
      cache_root();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      return e.exit_status();
    }
    return 0;
  }
  fs::path tmp_;
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(CacheRootTest, WithoutHomeTheCacheIsAPrivateDirectoryOfThisUser) {
  const fs::path root = cache_root();
  EXPECT_EQ(root, expected());
  struct stat st {};
  ASSERT_EQ(::lstat(root.c_str(), &st), 0) << root;
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(st.st_uid, ::getuid());
  EXPECT_EQ(cache_root(), root);  // the second call accepts what the first made
}

TEST_F(CacheRootTest, ADirectoryOthersCanWriteIsRefused) {
  fs::create_directory(expected());
  ::chmod(expected().c_str(), 0777);
  EXPECT_EQ(refusal("others may write"), kExitHostError);
}

TEST_F(CacheRootTest, ASymlinkPlantedThereIsRefused) {
  fs::create_directory(tmp_ / "elsewhere");
  ::chmod((tmp_ / "elsewhere").c_str(), 0700);
  fs::create_directory_symlink(tmp_ / "elsewhere", expected());
  EXPECT_EQ(refusal("symbolic link"), kExitHostError);
}

TEST_F(CacheRootTest, ADirectoryOfAnotherUserIsRefused) {
  if (::getuid() != 0) GTEST_SKIP() << "needs root to make a directory owned by someone else";
  fs::create_directory(expected());
  ::chmod(expected().c_str(), 0700);
  ASSERT_EQ(::chown(expected().c_str(), 65534, 65534), 0);
  EXPECT_EQ(refusal("belongs to uid 65534"), kExitHostError);
}

TEST_F(CacheRootTest, HomeAndXdgAreUsedAsTheyAre) {
  EXPECT_EQ(cache_root(std::string("/x/cache"), std::nullopt), fs::path("/x/cache/archmatrix"));
  EXPECT_EQ(cache_root(std::nullopt, std::string("/home/u")), fs::path("/home/u/.cache/archmatrix"));
}

}  // namespace
}  // namespace archmatrix::util
