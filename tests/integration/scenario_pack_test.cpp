// A scenario pack outside the repository (`run --scenarios DIR`) with a
// dynamically linked program: its loader and libc come from the target's
// libraries into the guest, and it runs on aarch64, armhf and x86_64 cells.

#include <gtest/gtest.h>

#include <fstream>

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

}  // namespace
}  // namespace archmatrix::testing
