#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace archmatrix::util {
namespace {

namespace fs = std::filesystem;

TEST(Subprocess, ExitCodeAndMergedOutputInOrder) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; echo out2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.output, "out\nerr\nout2\n");
}

TEST(Subprocess, ArgumentsAreNeverSplitByAShell) {
  auto r = run_command({"printf", "[%s]", "a b", "$(echo no)", ";ls"});
  EXPECT_EQ(r.output, "[a b][$(echo no)][;ls]");
}

TEST(Subprocess, ExtraEnvironmentAndWorkingDirectory) {
  CommandOptions o;
  o.cwd = "/";
  o.extra_env = {{"AM_TEST_VAR", "42"}};
  auto r = run_command({"sh", "-c", "echo $AM_TEST_VAR $(pwd)"}, o);
  EXPECT_EQ(r.output, "42 /\n");
}

TEST(Subprocess, MissingProgramNamesIt) {
  try {
    run_command({"no-such-program-archmatrix"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-program-archmatrix"), std::string::npos);
  }
}

TEST(Subprocess, QuoteArgvIsCopyPasteable) {
  EXPECT_EQ(quote_argv({"qemu-system-arm", "-append", "console=ttyAMA0 panic=-1", "it's"}),
            "qemu-system-arm -append 'console=ttyAMA0 panic=-1' 'it'\\''s'");
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Fs, AtomicWriteReplacesAndKeepsTheOldFileOnFailure) {
  const fs::path d = fs::temp_directory_path() / ("am-fs-" + std::to_string(::getpid()));
  fs::create_directories(d);
  write_file_atomic(d / "r.json", "old");
  write_file_atomic(d / "r.json", "new");
  EXPECT_EQ(read_file(d / "r.json"), "new");
  if (::geteuid() != 0) {  // root ignores directory permissions
    fs::permissions(d, fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_THROW(write_file_atomic(d / "r.json", "newer"), Error);
    fs::permissions(d, fs::perms::owner_all);
    EXPECT_EQ(read_file(d / "r.json"), "new");
  }
  EXPECT_THROW(write_file_atomic(d / "missing-dir" / "r.json", "x"), Error);
  EXPECT_EQ(read_file(d / "r.json"), "new");
  for (const auto& e : fs::directory_iterator(d)) EXPECT_EQ(e.path().filename(), "r.json") << "temp file left";
  fs::remove_all(d);
}

TEST(Fs, FileLockExcludesASecondHolder) {
  // The second holder is another process (util-linux's flock), as a second
  // archmatrix run would be; -n makes it fail at once instead of waiting.
  const fs::path lock = fs::temp_directory_path() / ("am-lock-" + std::to_string(::getpid()));
  {
    FileLock held(lock);
    EXPECT_NE(run_command({"flock", "-n", lock.string(), "true"}).exit_code, 0) << "got the lock while it was held";
  }
  EXPECT_EQ(run_command({"flock", "-n", lock.string(), "true"}).exit_code, 0) << "lock not released";
  fs::remove(lock);
}

TEST(Fs, CacheRootFollowsXdg) {
  EXPECT_EQ(cache_root(std::string("/x/cache"), std::string("/home/u")), fs::path("/x/cache/archmatrix"));
  EXPECT_EQ(cache_root(std::nullopt, std::string("/home/u")), fs::path("/home/u/.cache/archmatrix"));
  EXPECT_EQ(cache_root(std::string("relative"), std::string("/home/u")), fs::path("/home/u/.cache/archmatrix"));
}

}  // namespace
}  // namespace archmatrix::util
