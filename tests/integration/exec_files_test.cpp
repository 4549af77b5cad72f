// `archmatrix exec`'s files on a real guest (built aarch64 64K kernel, ~1 s
// boot): the host's current directory is the program's cwd, at the same
// path, read-only (a write fails with EROFS); --put copies a directory with
// its modes, --get brings a file back byte-exact into --out's cell directory, and a --get of
// a file the program did not make is a warning that leaves its status alone.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kCell = "aarch64-64k-va48";

constexpr const char* kProgram = R"(
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char buf[65536];
  if (argc == 4 && !strcmp(argv[1], "cwd")) {  /* cwd FIXTURE NEWFILE */
    if (!getcwd(buf, sizeof buf)) return 2;
    printf("cwd=%s\n", buf);
    FILE *f = fopen(argv[2], "r");
    if (!f) { printf("open %s: %s\n", argv[2], strerror(errno)); return 3; }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    printf("%s", buf);
    int fd = open(argv[3], O_WRONLY | O_CREAT, 0644);
    printf("write: %s\n", fd < 0 ? strerror(errno) : "allowed");
    return fd < 0 && errno == EROFS ? 0 : 4;
  }
  if (argc >= 4 && !strcmp(argv[1], "copy")) {  /* copy SRC DST PATH... (modes of PATHs) */
    for (int i = 4; i < argc; i++) {
      struct stat st;
      if (stat(argv[i], &st) != 0) printf("%s: %s\n", argv[i], strerror(errno));
      else printf("%s %s %o\n", argv[i], S_ISDIR(st.st_mode) ? "dir" : "file", st.st_mode & 07777);
    }
    int in = open(argv[2], O_RDONLY), out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) { printf("copy: %s\n", strerror(errno)); return 5; }
    for (ssize_t r; (r = read(in, buf, sizeof buf)) > 0;)
      if (write(out, buf, (size_t)r) != r) return 6;
    return close(out) == 0 ? 0 : 7;
  }
  return 1;
}
)";

struct Exec {
  int status = -1;
  std::string out, err;
};

class ExecFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch("exec-files"));
    built_ = build_static_program(*dir_, kProgram);
  }
  static void TearDownTestSuite() { delete dir_; }

  // archmatrix exec run from `cwd`, stdout and stderr apart.
  static Exec exec(const fs::path& cwd, std::vector<std::string> args) {
    args.insert(args.begin(), {ARCHMATRIX_BIN, "exec", "--matrix", ARCHMATRIX_SOURCE_ROOT "/tests/integration/matrix.yaml",
                               "--cell", kCell});
    const fs::path out = *dir_ / "stdout", err = *dir_ / "stderr";
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int n = ::open("/dev/null", O_RDONLY);
      ::dup2(n, 0), ::dup2(o, 1), ::dup2(e, 2);
      if (::chdir(cwd.c_str()) != 0) ::_exit(127);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    Exec r;
    r.status = wait_exit(pid);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  static fs::path* dir_;
  static bool built_;
};
fs::path* ExecFiles::dir_ = nullptr;
bool ExecFiles::built_ = false;

TEST_F(ExecFiles, TheCwdIsSharedReadOnlyAtTheSamePath) {
  ASSERT_TRUE(built_) << "aarch64-linux-gnu-gcc -static failed";
  const fs::path project = *dir_ / "project";
  fs::create_directories(project / "fixtures");
  std::ofstream(project / "fixtures" / "input.txt") << "fixture line 1\nfixture line 2\n";
  // The program runs as uid 65534: it reads what "others" may read on the host.
  for (const auto& p : {*dir_, project, project / "fixtures"}) fs::permissions(p, fs::perms(0755));
  const Exec r = exec(project, {"--", (*dir_ / "prog").string(), "cwd", "fixtures/input.txt", "new.txt"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "cwd=" + project.string() + "\nfixture line 1\nfixture line 2\nwrite: Read-only file system\n");
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(fs::exists(project / "new.txt"));
}

// A directory closed to others (mktemp -d makes 0700 ones) cannot be the
// unprivileged program's cwd: 126 and a line that says what to do.
TEST_F(ExecFiles, ACwdClosedToOthersIs126WithAHint) {
  ASSERT_TRUE(built_);
  const fs::path closed = *dir_ / "closed";
  fs::create_directories(closed);
  fs::permissions(closed, fs::perms(0700));
  const Exec r = exec(closed, {"--", (*dir_ / "prog").string(), "cwd", "x", "y"});
  EXPECT_EQ(r.status, 126) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("chdir " + closed.string() + ": Permission denied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod o+rx"), std::string::npos) << r.err;
  // As root it is the program's cwd like any other.
  const Exec root = exec(closed, {"--root", "--", (*dir_ / "prog").string(), "cwd", "x", "y"});
  EXPECT_NE(root.out.find("cwd=" + closed.string()), std::string::npos) << root.out << root.err;
}

TEST_F(ExecFiles, PutADirectoryGetAFileBackAndAMissingGetIsAWarning) {
  ASSERT_TRUE(built_);
  const fs::path data = *dir_ / "data", back = *dir_ / "back";
  fs::create_directories(data / "sub");
  fs::create_directories(data / "empty");
  std::string bytes;
  for (int i = 0; i < 300 * 1024; ++i) bytes += static_cast<char>((i * 131) ^ (i >> 9));  // several 64 KiB chunks
  std::ofstream(data / "a.bin", std::ios::binary) << bytes;
  std::ofstream(data / "sub" / "run.sh") << "#!/bin/sh\n";
  fs::permissions(data, fs::perms(0751));
  fs::permissions(data / "a.bin", fs::perms(0604));
  fs::permissions(data / "sub", fs::perms(0705));
  fs::permissions(data / "sub" / "run.sh", fs::perms(0705));
  fs::permissions(data / "empty", fs::perms(0700));
  const Exec r = exec(*dir_, {"--put", data.string() + ":/opt/data", "--get", "/tmp/back.bin", "--get",
                              "/tmp/never-made", "--out", back.string(), "--", (*dir_ / "prog").string(), "copy",
                              "/opt/data/a.bin", "/tmp/back.bin", "/opt/data", "/opt/data/a.bin", "/opt/data/sub",
                              "/opt/data/sub/run.sh", "/opt/data/empty"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out,
            "/opt/data dir 751\n/opt/data/a.bin file 604\n/opt/data/sub dir 705\n/opt/data/sub/run.sh file 705\n"
            "/opt/data/empty dir 700\n");
  // With --out there are reports, and fetched files go beside the cell's.
  const fs::path got = back / "cells" / kCell / "files";
  ASSERT_TRUE(fs::exists(got / "back.bin")) << r.err;
  EXPECT_TRUE(slurp(got / "back.bin") == bytes) << fs::file_size(got / "back.bin") << " bytes came back";
  EXPECT_TRUE(fs::exists(back / "report.json"));
  EXPECT_EQ(r.err, "archmatrix exec: warning: --get /tmp/never-made: No such file or directory\n");
  EXPECT_FALSE(fs::exists(got / "never-made"));
  EXPECT_FALSE(fs::exists(got / "never-made.part"));
}

}  // namespace
}  // namespace archmatrix::testing
