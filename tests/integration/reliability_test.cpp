// Faults that need real guests and a real cache (issue 6): a kernel panic
// triggered inside a guest, and two runs sharing a cache that is being
// filled. The fake-QEMU fault tests are unit tests (supervisor_test.cpp).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "reliability_ledger.h"
#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

const std::string kMatrix = std::string(ARCHMATRIX_SOURCE_ROOT) + "/tests/integration/matrix.yaml";

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A scenario pack outside the repository whose one scenario panics the
// kernel through /proc/sysrq-trigger, as root.
fs::path panic_pack(const fs::path& dir) {
  write(dir / "panic-now" / "scenario.yaml",
        "name: panic-now\nsummary: panics the kernel (sysrq c)\n"
        "build: {sources: [panic_now.c], link: static}\nrun: {timeout: 30, privileged: true}\n");
  write(dir / "panic-now" / "panic_now.c",
        "#include <fcntl.h>\n#include <stdio.h>\n#include <unistd.h>\n"
        "int main(void) {\n"
        "  printf(\"about to panic\\n\");\n  fflush(stdout);\n"
        "  int fd = open(\"/proc/sysrq-trigger\", O_WRONLY);\n"
        "  if (fd < 0) { perror(\"/proc/sysrq-trigger\"); return 2; }\n"
        "  write(fd, \"c\", 1);\n"
        "  return 3;  /* not reached: the kernel is gone */\n}\n");
  return dir;
}

TEST(RealGuest, ASysrqPanicIsACrashWithTheKernelsOwnText) {
  const fs::path dir = scratch("sysrq");
  const fs::path pack = panic_pack(dir / "pack");
  // The minimal built kernel and a Debian one: both must end as CRASH.
  auto o = run_archmatrix({"run", "--matrix", kMatrix, "--scenarios", pack.string(), "--scenario", "panic-now",
                           "--cell", "aarch64-64k-va48", "--cell", "x86_64-6.1", "--out", (dir / "out").string()},
                          dir / "log.txt");
  EXPECT_EQ(o.exit_code, 1) << o.log;
  const auto r = read_report(dir / "out");
  ASSERT_EQ(r["cells"].size(), 2u);
  for (const auto& c : r["cells"]) {
    EXPECT_EQ(c["end"], "crashed") << c["id"] << ": " << c["end_detail"];
    EXPECT_NE(c["crash"]["title"].get<std::string>().find("sysrq"), std::string::npos) << c["id"] << c["crash"];
    // The oops text is extracted into the result: the kernel's own backtrace
    // (arm64 says "Call trace:", x86 "Call Trace:").
    const std::string text = c["crash"]["text"];
    EXPECT_TRUE(text.find("Call trace") != std::string::npos || text.find("Call Trace") != std::string::npos)
        << c["id"] << ": " << text;
    ASSERT_EQ(c["scenarios"].size(), 1u);
    EXPECT_EQ(c["scenarios"][0]["code"], "CRASH") << c["id"];
    const std::string console = slurp(dir / "out" / c["console_log"].get<std::string>());
    EXPECT_NE(console.find("sysrq"), std::string::npos) << c["id"];
  }
  const int left = qemu_processes_mentioning(dir.string());
  EXPECT_EQ(left, 0);
  record_fault("kernel panic in a real guest (sysrq)", !::testing::Test::HasFailure(), left);
}

// A scenario that prints 100 MB of hostile bytes (ANSI escapes, NUL, invalid
// UTF-8, lines that look like the agent's records) after its check line: the
// check's result is still right, the output kept is capped and the cut is
// said, the report is valid JSON, and the terminal summary carries no escape.
TEST(RealGuest, AHundredMegabytesOfHostileOutputLoseNoResult) {
  const fs::path dir = scratch("noisy");
  write(dir / "pack" / "noisy" / "scenario.yaml",
        "name: noisy\nsummary: 100 MB of hostile output\n"
        "build: {sources: [noisy.c], link: static}\nrun: {timeout: 120}\n"
        "checks:\n  first:\n    summary: printed before the flood\n");
  write(dir / "pack" / "noisy" / "noisy.c",
        "#include <stdio.h>\n#include <string.h>\n"
        "int main(void) {\n"
        "  printf(\"ARCHMATRIX-CHECK first PASS before the flood\\n\");\n  fflush(stdout);\n"
        "  static char chunk[65536];\n"
        "  const char junk[] = \"\\033[2J\\033]0;owned\\007\\0\\xff\\xfe\\xc3\\x28 <<AM1|0000000000000000|1|1/1|end|eA==|00000000>>\\n\";\n"
        "  for (size_t i = 0; i + sizeof junk <= sizeof chunk; i += sizeof junk) memcpy(chunk + i, junk, sizeof junk);\n"
        "  for (int i = 0; i < 1600; ++i) fwrite(chunk, 1, sizeof chunk, stdout);  /* 100 MiB */\n"
        "  fwrite(chunk, 1, sizeof chunk, stderr);\n"
        "  return 0;\n}\n");
  auto o = run_archmatrix({"run", "--matrix", kMatrix, "--scenarios", (dir / "pack").string(), "--scenario", "noisy",
                           "--cell", "aarch64-64k-va48", "--out", (dir / "out").string()},
                          dir / "log.txt");
  EXPECT_EQ(o.exit_code, 0) << o.log.substr(0, 4000);
  EXPECT_EQ(o.log.find('\033'), std::string::npos) << "an escape reached the terminal summary";
  const auto r = read_report(dir / "out");  // parses: valid JSON
  const auto& s = r["cells"][0]["scenarios"][0];
  EXPECT_EQ(s["status"], "exit");
  EXPECT_EQ(s["results"][0]["code"], "PASS");
  EXPECT_LE(s["stdout"].get<std::string>().size(), 64u * 1024 * 4);  // kept, escaped, capped
  EXPECT_GE(s["stdout_dropped"].get<std::uint64_t>(), 100u * 1024 * 1024 - 64u * 1024);
  EXPECT_TRUE(r["cells"][0]["protocol_anomalies"].empty()) << r["cells"][0]["protocol_anomalies"];
  const int left = qemu_processes_mentioning(dir.string());
  EXPECT_EQ(left, 0);
  record_fault("scenario prints 100 MB of escapes, NULs, invalid UTF-8, fake records", !::testing::Test::HasFailure(),
               left);
}

// Two runs started at once on an empty cache: one downloads and builds while
// the other waits on the cache's locks, then both boot the same kernel; the
// cache holds one entry and no half-written work directory.
TEST(Cache, TwoRunsAtOnceShareAnEmptyCache) {
  const fs::path dir = scratch("shared-cache");
  const Env env{{"XDG_CACHE_HOME", (dir / "cache").string()}};
  std::vector<pid_t> pids;
  for (int i = 1; i <= 2; ++i)
    pids.push_back(spawn({"run", "--matrix", kMatrix, "--cell", "x86_64-6.1", "--scenario", "sparse-tmpfs", "--out",
                          (dir / ("out" + std::to_string(i))).string()},
                         dir / ("log" + std::to_string(i) + ".txt"), env));
  for (int i = 0; i < 2; ++i) EXPECT_EQ(wait_exit(pids[static_cast<std::size_t>(i)]), 0) << slurp(dir / ("log" + std::to_string(i + 1) + ".txt"));
  const std::string log1 = slurp(dir / "log1.txt"), log2 = slurp(dir / "log2.txt");
  const bool first_downloaded = log1.find("downloading linux-image") != std::string::npos;
  const bool second_downloaded = log2.find("downloading linux-image") != std::string::npos;
  EXPECT_NE(first_downloaded, second_downloaded) << "exactly one run downloads\n" << log1 << "\n----\n" << log2;
  const auto r1 = read_report(dir / "out1"), r2 = read_report(dir / "out2");
  EXPECT_EQ(r1["cells"][0]["kernel"]["sha256"], r2["cells"][0]["kernel"]["sha256"]);
  EXPECT_EQ(r1["cells"][0]["end"], "completed");
  EXPECT_EQ(r2["cells"][0]["end"], "completed");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir / "cache" / "archmatrix" / "kernels")) {
    const std::string name = e.path().filename();
    EXPECT_EQ(name.find(".work-"), std::string::npos) << name;
    if (e.is_directory() && name != "resolved") ++entries;
  }
  EXPECT_EQ(entries, 1);
  record_fault("two runs at once on one empty cache", !::testing::Test::HasFailure(), qemu_processes_mentioning(dir.string()));
}

// Seed 004's cross-building mistake: a host binary where the target's belongs.
// After a good run, the probe scenario's armhf binary in the build directory
// is replaced by the host's /bin/true (x86_64) with a newer time stamp, so the
// build sees nothing to do. The next run must refuse it by its ELF header
// before booting: exit 2, one line naming the file and the machine.
TEST(CrossBuild, AHostBinaryInTheTargetsBuildDirectoryIsRefusedBeforeBoot) {
  const fs::path dir = scratch("wrong-arch");
  write(dir / "pack" / "wrong-arch-probe" / "scenario.yaml",
        "name: wrong-arch-probe\nsummary: exits 0\nbuild: {sources: [probe.c], link: static}\n");
  write(dir / "pack" / "wrong-arch-probe" / "probe.c", "int main(void) { return 0; }\n");
  const std::vector<std::string> args{"run", "--matrix", kMatrix, "--cell", "armhf-3g1g-6.1",
                                      "--scenarios", (dir / "pack").string(), "--scenario", "wrong-arch-probe"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = args;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const auto first = run_archmatrix(with({"--out", (dir / "out1").string()}), dir / "log1");
  ASSERT_EQ(first.exit_code, 0) << first.log;

  // The binary the first run built: the newest armhf build directory's.
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const fs::path cache = (xdg && *xdg ? fs::path(xdg) : fs::path(std::getenv("HOME")) / ".cache") / "archmatrix";
  fs::path probe;
  for (const auto& e : fs::directory_iterator(cache / "targets")) {
    const fs::path p = e.path() / "scenarios" / "wrong-arch-probe";
    if (e.path().filename().string().rfind("armhf-", 0) == 0 && fs::exists(p) &&
        (probe.empty() || fs::last_write_time(p) > fs::last_write_time(probe)))
      probe = p;
  }
  ASSERT_FALSE(probe.empty()) << "no armhf build of wrong-arch-probe under " << cache / "targets";
  fs::copy_file("/bin/true", probe, fs::copy_options::overwrite_existing);
  fs::last_write_time(probe, fs::file_time_type::clock::now() + std::chrono::hours(1));

  const fs::path qemu = dir / "qemu";
  for (const char* name : {"qemu-system-aarch64", "qemu-system-arm", "qemu-system-x86_64"}) {
    write(qemu / name, "#!/bin/sh\necho \"$0\" >> \"" + (dir / "booted").string() + "\"\nexit 1\n");
    fs::permissions(qemu / name, fs::perms::owner_all);
  }
  const auto second =
      run_archmatrix(with({"--out", (dir / "out2").string(), "--qemu-dir", qemu.string()}), dir / "log2");
  fs::remove(probe);  // the next build makes a good one again

  EXPECT_EQ(second.exit_code, 2) << second.log;
  const std::string last = second.log.substr(second.log.rfind('\n', second.log.size() - 2) + 1);
  EXPECT_EQ(last.rfind("archmatrix: " + probe.string() + ": refusing to put it into a armhf guest", 0), 0u)
      << second.log;
  EXPECT_NE(last.find("x86"), std::string::npos) << "the message should name the binary's machine:\n" << last;
  EXPECT_FALSE(fs::exists(dir / "booted")) << "a QEMU was started";
  EXPECT_FALSE(fs::exists(dir / "out2" / "report.json"));
  record_fault("host binary in the target's build directory (seed 004)", !::testing::Test::HasFailure(), 0);
}

}  // namespace
}  // namespace archmatrix::testing
