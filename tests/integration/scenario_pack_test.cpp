// A scenario pack outside the repository (`run --scenarios DIR`) with a
// dynamically linked program: its loader and libc come from the target's
// libraries into the guest, and it runs on aarch64, armhf and x86_64 cells.
// A second pack links a shared library from a Debian package of the target
// arch (build.packages), which goes into aarch64 and armhf guests. A third
// checks what each scenario starts with: a fresh /tmp after one that filled
// it, only fds 0-2, and one scenario that does not compile costing nobody
// else their results.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

const std::string kMatrix = std::string(ARCHMATRIX_SOURCE_ROOT) + "/tests/integration/matrix.yaml";

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(ScenarioPack, ADynamicallyLinkedProgramRunsWithTheTargetsLoader) {
  const fs::path dir = scratch("pack");
  write(dir / "pack" / "dyn-hello" / "scenario.yaml",
        "name: dyn-hello\nsummary: a dynamically linked program\n"
        "build: {sources: [dyn_hello.c], link: dynamic}\nrun: {timeout: 30}\n"
        "checks:\n  loaded-by-ld-so:\n    summary: the dynamic loader ran (AT_BASE is its load address)\n");
  write(dir / "pack" / "dyn-hello" / "dyn_hello.c",
        "#include <gnu/libc-version.h>\n#include <stdio.h>\n#include <sys/auxv.h>\n"
        "int main(void) {\n"
        "  unsigned long base = getauxval(AT_BASE);\n"
        "  printf(\"ARCHMATRIX-CHECK loaded-by-ld-so %s loader at %#lx, glibc %s\\n\",\n"
        "         base ? \"PASS\" : \"FAIL\", base, gnu_get_libc_version());\n"
        "  return base ? 0 : 1;\n}\n");
  auto o = run_archmatrix({"run", "--matrix", kMatrix, "--scenarios", (dir / "pack").string(), "--scenario",
                           "dyn-hello", "--cell", "aarch64-64k-va48", "--cell", "armhf-3g1g-6.1", "--cell",
                           "x86_64-6.1", "--out", (dir / "out").string()},
                          dir / "log.txt");
  EXPECT_EQ(o.exit_code, 0) << o.log;
  const auto r = read_report(dir / "out");
  ASSERT_EQ(r["cells"].size(), 3u);
  for (const auto& c : r["cells"]) {
    ASSERT_EQ(c["scenarios"].size(), 1u) << c["id"];
    const auto& s = c["scenarios"][0];
    EXPECT_EQ(s["status"], "exit") << c["id"];
    ASSERT_EQ(s["results"].size(), 1u) << c["id"];
    EXPECT_EQ(s["results"][0]["code"], "PASS") << c["id"] << ": " << s["results"][0]["message"];
    EXPECT_NE(s["results"][0]["detail"].get<std::string>().find("glibc 2.36"), std::string::npos) << c["id"];
  }
}

// mimalloc from Debian 12's libmimalloc-dev (headers, libmimalloc.so) and
// libmimalloc2.0 (libmimalloc.so.2) of the guest's arch, not the host's.
TEST(ScenarioPack, AProgramLinksASharedLibraryFromADebianPackageOfTheTarget) {
  const fs::path dir = scratch("debian-package");
  write(dir / "pack" / "debian-mimalloc" / "scenario.yaml",
        "name: debian-mimalloc\nsummary: links mimalloc from Debian's package of the target arch\n"
        "build:\n  sources: [use_mimalloc.c]\n  link: dynamic\n"
        "  packages: [libmimalloc-dev, libmimalloc2.0]\n  link_libraries: [mimalloc]\n"
        "run: {timeout: 30}\n"
        "checks:\n  mimalloc:\n    summary: mi_malloc and mi_free work, mi_version() answers\n");
  write(dir / "pack" / "debian-mimalloc" / "use_mimalloc.c",
        "#define _GNU_SOURCE\n#include <dlfcn.h>\n#include <mimalloc.h>\n#include <string.h>\n"
        "#include \"archmatrix_check.h\"\n"
        "int main(void) {\n"
        "  Dl_info where = {0};\n"
        "  dladdr((void *)mi_version, &where);\n"
        "  char *p = mi_malloc(1 << 20);\n"
        "  int ok = p != NULL && mi_usable_size(p) >= (1 << 20);\n"
        "  if (p) memset(p, 0xa5, 1 << 20);\n"
        "  mi_free(p);\n"
        "  check(\"mimalloc\", ok, \"mimalloc %d from %s\", mi_version(),\n"
        "        where.dli_fname ? where.dli_fname : \"?\");\n"
        "  return check_failures() ? 1 : 0;\n}\n");
  std::vector<std::string> args{"run", "--matrix", kMatrix, "--scenarios", (dir / "pack").string(),
                                "--scenario", "debian-mimalloc", "--out", (dir / "out").string()};
  for (const char* cell : {"aarch64-4k-6.1", "armhf-3g1g-6.1", "aarch64-64k-va48"})
    args.insert(args.end(), {"--cell", cell});
  auto o = run_archmatrix(args, dir / "log.txt");
  EXPECT_EQ(o.exit_code, 0) << o.log;
  const auto r = read_report(dir / "out");
  ASSERT_EQ(r["cells"].size(), 3u) << o.log;
  const std::regex shown("mimalloc [0-9]{3} from /lib/[a-z0-9_-]+/libmimalloc\\.so\\.2");
  for (const auto& c : r["cells"]) {
    ASSERT_EQ(c["scenarios"].size(), 1u) << c["id"];
    const auto& s = c["scenarios"][0];
    ASSERT_EQ(s["results"].size(), 1u) << c["id"] << ": " << c["end_detail"];
    EXPECT_EQ(s["results"][0]["code"], "PASS") << c["id"] << ": " << s["results"][0]["message"];
    const std::string detail = s["results"][0]["detail"];
    EXPECT_TRUE(std::regex_search(detail, shown)) << c["id"] << ": " << detail;
  }
}

// What every scenario of the isolation pack checks first: cwd /tmp, an empty
// /tmp with room in it, and no open fd but 0, 1 and 2.
const char* const kStartChecks = R"(#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "archmatrix_check.h"

static void check_start(void) {
  char cwd[256] = "?";
  if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "?");
  int entries = 0;
  char first[256] = "";
  DIR *d = opendir("/tmp");
  for (struct dirent *e; d && (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (!entries++) snprintf(first, sizeof first, "%s", e->d_name);
  }
  if (d) closedir(d);
  struct statvfs v = {0};
  statvfs("/tmp", &v);
  check("fresh-tmp", d && !entries && !strcmp(cwd, "/tmp") && v.f_bavail > 0,
        "cwd %s, %d entries in /tmp (first '%s'), %llu blocks free", cwd, entries, first,
        (unsigned long long)v.f_bavail);
  char open_fds[1024] = "";
  int extra = 0;
  DIR *f = opendir("/proc/self/fd");
  for (struct dirent *e; f && (e = readdir(f));) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(f)) continue;
    char link[64], target[256] = "?";
    snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 1] = '\0';
    size_t used = strlen(open_fds);
    snprintf(open_fds + used, sizeof open_fds - used, " %s=%s", e->d_name, target);
    if (atoi(e->d_name) > 2) extra++;
  }
  if (f) closedir(f);
  check("only-std-fds", f && !extra, "open fds:%s", open_fds);
}
)";

// One scenario fills /tmp to ENOSPC and leaves its files there; the next
// (and the built-in sparse-tmpfs, whose checks a full /tmp made FAIL) must
// start with an empty one. A third does not compile: it is ERROR with the
// compiler's line, and the others still run. The guest has 512 MiB, so its
// /tmp (half of it) fills in seconds rather than the 85 s that 1 GiB took
// under TCG on a loaded 2-core host.
TEST(ScenarioPack, EachScenarioStartsFreshAndABrokenOneIsOnlyItsOwnError) {
  const fs::path dir = scratch("isolation");
  const std::string checks = "checks:\n  fresh-tmp: {summary: an empty /tmp as cwd}\n"
                             "  only-std-fds: {summary: only fds 0 1 2 open}\n";
  write(dir / "pack" / "a-fill-tmp" / "scenario.yaml",
        "name: a-fill-tmp\nsummary: fills /tmp\nbuild: {sources: [fill.c]}\nrun: {timeout: 120}\n" + checks +
            "  filled: {summary: /tmp was written until ENOSPC}\n");
  write(dir / "pack" / "a-fill-tmp" / "fill.c",
        std::string(kStartChecks) +
            "#include <errno.h>\n#include <fcntl.h>\n"
            "int main(void) {\n  check_start();\n"
            "  static char block[1 << 20];\n  memset(block, 0x5a, sizeof block);\n"
            "  int fd = open(\"/tmp/filler\", O_WRONLY | O_CREAT, 0644);\n"
            "  unsigned long long total = 0;\n  int err = 0;\n"
            "  for (size_t chunk = sizeof block; fd >= 0 && chunk; chunk /= 2) {\n"
            "    for (;;) { ssize_t w = write(fd, block, chunk); if (w <= 0) { err = errno; break; } total += w; }\n"
            "  }\n"
            "  int fd2 = open(\"/tmp/left-behind\", O_WRONLY | O_CREAT, 0644);\n"
            "  check(\"filled\", fd >= 0 && err == ENOSPC && total > 0, \"%llu bytes, then %s\", total, strerror(err));\n"
            "  (void)fd2;\n  return check_failures() ? 1 : 0;\n}\n");
  write(dir / "pack" / "b-after-fill" / "scenario.yaml",
        "name: b-after-fill\nsummary: runs after a-fill-tmp\nbuild: {sources: [after.c]}\nrun: {timeout: 30}\n" +
            checks);
  write(dir / "pack" / "b-after-fill" / "after.c",
        std::string(kStartChecks) + "int main(void) { check_start(); return check_failures() ? 1 : 0; }\n");
  write(dir / "pack" / "c-broken" / "scenario.yaml",
        "name: c-broken\nsummary: does not compile\nbuild: {sources: [broken.c]}\n");
  write(dir / "pack" / "c-broken" / "broken.c", "int main(void) {\n  int x = 1\n  return x;\n}\n");

  write(dir / "matrix.yaml",
        "defaults: {memory: 512, cpus: 1}\n"
        "timeouts: {boot: 120, no_output: 60, margin: 60, tcg_scale: 1}\n"
        "cells:\n  - arch: x86_64\n    release: \"6.1\"\n");
  auto o = run_archmatrix({"run", "--matrix", (dir / "matrix.yaml").string(), "--scenarios", (dir / "pack").string(), "--scenario",
                           "a-fill-tmp", "--scenario", "b-after-fill", "--scenario", "c-broken", "--scenario",
                           "sparse-tmpfs", "--cell", "x86_64-6.1", "--out", (dir / "out").string()},
                          dir / "log.txt");
  EXPECT_EQ(o.exit_code, 1) << o.log;  // c-broken is an ERROR
  const auto r = read_report(dir / "out");
  ASSERT_EQ(r["cells"].size(), 1u) << o.log;
  const auto& cell = r["cells"][0];
  EXPECT_EQ(cell["end"], "completed") << cell["end_detail"];
  // Every fact the agent sends has a value (one it cannot read is left out).
  for (const auto& [key, value] : cell["facts"].items()) EXPECT_NE(value, "") << key;
  std::map<std::string, std::string> codes;
  for (const auto& s : cell["scenarios"])
    for (const auto& res : s["results"]) {
      const std::string id = s["scenario"].get<std::string>() + "/" + res["check"].get<std::string>();
      codes[id] = res["code"];
      if (s["scenario"] == "c-broken") {
        EXPECT_EQ(res["code"], "ERROR");
        const std::string m = res["message"];
        EXPECT_NE(m.find("did not build for x86_64"), std::string::npos) << m;
        EXPECT_NE(m.find("broken.c:3:"), std::string::npos) << m;
        EXPECT_NE(m.find("error:"), std::string::npos) << m;
      } else {
        EXPECT_EQ(res["code"], "PASS") << id << ": " << res["message"] << " " << res["detail"];
      }
    }
  for (const char* id : {"a-fill-tmp/fresh-tmp", "a-fill-tmp/only-std-fds", "a-fill-tmp/filled",
                         "b-after-fill/fresh-tmp", "b-after-fill/only-std-fds", "c-broken/"})
    EXPECT_TRUE(codes.count(id)) << id;
  EXPECT_GE(codes.size(), 7u);  // and sparse-tmpfs's checks
}

// A package apt does not know is bad input: one line naming the scenario,
// the package, the suite and the arch; nothing boots.
TEST(ScenarioPack, AnUnknownDebianPackageIsBadInput) {
  const fs::path dir = scratch("unknown-package");
  write(dir / "pack" / "no-such-package" / "scenario.yaml",
        "name: no-such-package\nsummary: s\n"
        "build: {sources: [main.c], link: dynamic, packages: [libno-such-package-archmatrix]}\n");
  write(dir / "pack" / "no-such-package" / "main.c", "int main(void) { return 0; }\n");
  auto o = run_archmatrix({"run", "--matrix", kMatrix, "--scenarios", (dir / "pack").string(), "--scenario",
                           "no-such-package", "--cell", "armhf-3g1g-6.1", "--out", (dir / "out").string()},
                          dir / "log.txt");
  EXPECT_EQ(o.exit_code, 2) << o.log;
  EXPECT_NE(o.log.find("scenario no-such-package: Debian bookworm has no package libno-such-package-archmatrix "
                       "for armhf"),
            std::string::npos)
      << o.log;
  EXPECT_EQ(qemu_processes_mentioning((dir / "out").string()), 0);
}

}  // namespace
}  // namespace archmatrix::testing
