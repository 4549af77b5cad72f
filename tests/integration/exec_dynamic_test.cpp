// `archmatrix exec` with a dynamically linked aarch64 program (issue 10,
// "Dynamic programs"): the program links a shared library of the user's own
// build tree, given with --lib, and libc; the loader and libc come from the
// cross toolchain. One boot, on a built 64K-page kernel (about a second once
// it is in the cache): the program's output and its exit status come back,
// and it reports the guest's page size, not the host's.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

constexpr const char* kCell = "aarch64-64k-va48";

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

TEST(ExecDynamic, AProgramWithItsOwnLibraryFromLibRunsInTheGuest) {
  const fs::path dir = scratch("exec-dynamic");
  write(dir / "greet.c",
        "#include <stdio.h>\n#include <unistd.h>\n"
        "int greet(const char *who) { return printf(\"hello %s, pages of %ld\\n\", who, sysconf(_SC_PAGESIZE)); }\n");
  write(dir / "main.c",
        "#include <stdio.h>\nint greet(const char *who);\n"
        "int main(int argc, char **argv) { greet(argc > 1 ? argv[1] : \"nobody\"); fflush(stdout);\n"
        "  fputs(\"to stderr\\n\", stderr); return 7; }\n");
  fs::create_directories(dir / "build/lib");
  const std::string cc = "aarch64-linux-gnu-gcc -O1 ";
  const fs::path lib = dir / "build/lib/libgreet.so.1", prog = dir / "build/greeter";
  if (std::system((cc + "-shared -fPIC -Wl,-soname,libgreet.so.1 -o " + lib.string() + " " + (dir / "greet.c").string() +
                   " && " + cc + "-o " + prog.string() + " " + (dir / "main.c").string() + " " + lib.string())
                      .c_str()) != 0)
    GTEST_SKIP() << "aarch64-linux-gnu-gcc could not build the program";

  const fs::path out = dir / "stdout", err = dir / "stderr";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int n = ::open("/dev/null", O_RDONLY);
    ::dup2(n, 0), ::dup2(o, 1), ::dup2(e, 2);
    ::execl(ARCHMATRIX_BIN, ARCHMATRIX_BIN, "exec", "--cell", kCell, "--lib", (dir / "build/lib").c_str(), "--",
            prog.c_str(), "world", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const int status = wait_exit(pid);
  EXPECT_EQ(status, 7) << slurp(err).substr(0, 2000);
  EXPECT_EQ(slurp(out), "hello world, pages of 65536\n");
  EXPECT_EQ(slurp(err), "to stderr\n");
  EXPECT_EQ(qemu_processes_mentioning("archmatrix-exec-"), 0);
}

}  // namespace
}  // namespace archmatrix::testing
