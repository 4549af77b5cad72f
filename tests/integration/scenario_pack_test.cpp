// A scenario pack outside the repository (`run --scenarios DIR`) with a
// dynamically linked program: its loader and libc come from the target's
// libraries into the guest, and it runs on aarch64, armhf and x86_64 cells.
// A second pack links a shared library from a Debian package of the target
// arch (build.packages), which goes into aarch64 and armhf guests.

#include <gtest/gtest.h>

#include <fstream>
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
