#pragma once
// Hand-made runs for the report tests: a seven-cell run with every result
// code, a crashed cell, a wrong guest, a cell that was not planned, and guest
// output that tries to break every format (<script>, "]]>", ANSI escapes, a
// NUL byte, invalid UTF-8). The golden files in tests/fixtures/golden/ are
// made from golden_run().

#include <initializer_list>
#include <string>
#include <utility>

#include "report/summary.h"

namespace archmatrix::report::testing {

using verdict::Code;

/// Guest output meant to break every format it is put in.
inline std::string hostile_output() {
  return std::string("mmap of 1.8 GiB failed\n<script>alert(1)</script>\n") +
         "<script>document.title='pwned';document.body.setAttribute('data-pwned','1')</script>\n" +
         "<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">\n" +
         "end of CDATA ]]> here | pipe `tick` *star* [link](x)\n" + "\x1b[31mred\x1b[0m and \x1b]0;title\x07 osc\n" +
         std::string("NUL\0byte ", 9) + "bad utf8 \xff\xfe\xc3 and \xe2\x82 truncated, ok: caf\xc3\xa9\n";
}

inline CellSummary cell(std::string id, std::string arch, std::map<std::string, std::string> axes,
                        std::map<std::string, std::string> facts) {
  CellSummary c;
  c.id = std::move(id);
  c.arch = std::move(arch);
  c.axes = std::move(axes);
  c.facts = std::move(facts);
  c.memory_mib = 1024;
  c.cpus = 1;
  c.console_log = "cells/" + c.id + "/console.log";
  c.end = "completed";
  c.boot_seconds = 4.25;
  c.wall_seconds = 31.5;
  const bool arm64 = c.arch == "aarch64";
  c.qemu_argv = {arm64 ? "qemu-system-aarch64" : c.arch == "armhf" ? "qemu-system-arm" : "qemu-system-x86_64",
                 "-M", arm64 ? "virt" : "q35", "-m", "1024", "-nographic"};
  const std::string release = c.axes.count("release") ? c.axes.at("release") : "6.1";
  c.kernel.recipe = "debian-" + release + "-" + c.arch;
  c.kernel.source = "debian";
  c.kernel.suite = release == "6.1" ? "bookworm" : "trixie";
  c.kernel.package = "linux-image-" + release + "-" + c.arch;
  c.kernel.version = release + ".112-1";
  c.kernel.release = release + ".0-26-" + c.arch;
  c.kernel.sha256 = std::string(64, 'a');
  c.kernel.cache_key = std::string(16, 'b');
  c.kernel.image = "/cache/kernels/" + c.kernel.cache_key + "/vmlinuz";
  return c;
}

/// A scenario row from (check, code, message) triples; its code is the worst.
inline ScenarioRow scenario(std::string name, std::initializer_list<ResultRow> results, std::string status = "exit",
                            std::string value = "0") {
  ScenarioRow s;
  s.scenario = std::move(name);
  s.status = std::move(status);
  s.value = std::move(value);
  s.duration_ms = 1250;
  s.results = results;
  std::vector<Code> codes;
  for (const auto& r : s.results) codes.push_back(r.code);
  s.code = worst(codes);
  return s;
}

inline RunSummary golden_run() {
  RunSummary s;
  s.archmatrix_version = "0.1.0";
  s.matrix = "matrix.yaml";
  s.started = "2026-11-22T10:00:00Z";
  s.wall_seconds = 312.75;

  const auto sparse = [](Code blksize, Code hardcoded, std::string why = "passed") {
    return scenario("sparse-tmpfs", {{"st-blksize", blksize, "passed", ""},
                                     {"hardcoded-4096", hardcoded, std::move(why),
                                      hardcoded == Code::PASS ? "" : "st_blocks 32 for 4096 bytes written"}});
  };
  const auto xfail_why = "expected failure where page_size > 4K: allocation unit is the page size";
  const auto hint = [](Code c) {
    return scenario("va-hint", {{"no-hint-above-47", c, c == Code::PASS ? "passed" : "check failed",
                                 c == Code::PASS ? "" : "unhinted mmap returned 0x7fff00000000"}});
  };
  const auto large = [](Code c) { return scenario("large-mmap", {{"", c, c == Code::PASS ? "exit status 0" : "exit status 1", ""}}); };

  auto a16 = cell("aarch64-16k-6.12", "aarch64", {{"page_size", "16384"}, {"release", "6.12"}},
                  {{"page_size", "16384"}, {"va_bits", "47"}, {"kernel_release", "6.12.9-arm64-16k"}});
  a16.scenarios = {large(Code::PASS), sparse(Code::PASS, Code::XFAIL, xfail_why), hint(Code::PASS),
                   scenario("stack-guard", {{"", Code::TIMEOUT, "timed out after 60 s (no result from the guest)", ""}},
                            "timeout", "0")};
  auto a4 = cell("aarch64-4k-6.1", "aarch64", {{"page_size", "4096"}, {"release", "6.1"}},
                 {{"page_size", "4096"}, {"va_bits", "48"}, {"kernel_release", "6.1.0-26-arm64"}});
  a4.scenarios = {large(Code::PASS), sparse(Code::PASS, Code::PASS), hint(Code::FAIL),
                  scenario("stack-guard", {{"", Code::PASS, "exit status 0", ""}})};
  auto a64 = cell("aarch64-64k-6.12", "aarch64", {{"page_size", "65536"}, {"release", "6.12"}},
                  {{"page_size", "65536"}, {"va_bits", "52"}, {"kernel_release", "6.12.9-arm64-64k"}});
  a64.scenarios = {large(Code::PASS), sparse(Code::PASS, Code::XFAIL, xfail_why), hint(Code::PASS),
                   scenario("stack-guard", {{"", Code::XPASS, "expected failure where page_size == 64K, but it passed", ""}})};
  auto arm = cell("armhf-6.1", "armhf", {{"release", "6.1"}},
                  {{"page_size", "4096"}, {"va_bits", "32"}, {"kernel_release", "6.1.0-26-armmp-lpae"}});
  arm.scenarios = {large(Code::FAIL), sparse(Code::PASS, Code::PASS), hint(Code::PASS),
                   scenario("stack-guard", {{"", Code::UNSUPPORTED, "requires arch == aarch64", ""}}, "", "")};
  arm.scenarios[0].value = "1";
  arm.scenarios[0].stdout_text = hostile_output();
  arm.scenarios[0].stderr_text = "malloc: Cannot allocate memory\n";
  arm.scenarios[0].stdout_dropped = 4096;
  auto arm2g = cell("armhf-2g2g-6.1", "armhf", {{"release", "6.1"}, {"vmsplit", "2G/2G"}},
                    {{"page_size", "4096"}, {"va_bits", "32"}, {"kernel_release", "6.1.0-26-armmp"}});
  arm2g.fact_mismatches = {"user_top: guest has 0xbf000000, cell says at most 0x80000000 (vmsplit 2G/2G)"};
  const std::string wrong = "wrong guest: user_top: guest has 0xbf000000, cell says at most 0x80000000 (vmsplit 2G/2G)";
  arm2g.scenarios = {scenario("large-mmap", {{"", Code::ERROR, wrong, ""}}),
                     scenario("sparse-tmpfs", {{"st-blksize", Code::ERROR, wrong, ""}, {"hardcoded-4096", Code::ERROR, wrong, ""}}),
                     scenario("va-hint", {{"no-hint-above-47", Code::ERROR, wrong, ""}}),
                     scenario("stack-guard", {{"", Code::UNSUPPORTED, "requires arch == aarch64", ""}}, "", "")};
  auto x86 = cell("x86_64-6.1", "x86_64", {{"release", "6.1"}},
                  {{"page_size", "4096"}, {"va_bits", "47"}, {"kernel_release", "6.1.0-26-amd64"}});
  x86.scenarios = {large(Code::PASS), sparse(Code::PASS, Code::PASS), hint(Code::FAIL),
                   scenario("stack-guard", {{"", Code::UNSUPPORTED, "requires arch == aarch64", ""}}, "", "")};
  x86.scenarios[2].results[0].detail = hostile_output();  // a check's own text is guest text too
  auto x5 = cell("x86_64-5lvl-6.12", "x86_64", {{"paging", "5level"}, {"release", "6.12"}},
                 {{"page_size", "4096"}, {"va_bits", "56"}, {"kernel_release", "6.12.9-amd64"}});
  x5.end = "crashed";
  x5.end_detail = "kernel panic while running va-hint";
  x5.crash_title = "BUG: unable to handle page fault for address: ffff888100000000";
  x5.crash_text = "Oops: 0000 [#1] PREEMPT SMP NOPTI\nRIP: 0010:handle_mm_fault+0x42/0x1b0\n";
  x5.scenarios = {large(Code::PASS), sparse(Code::PASS, Code::PASS),
                  scenario("va-hint", {{"no-hint-above-47", Code::CRASH, "kernel crashed: BUG: unable to handle page fault", ""}},
                           "", ""),
                  scenario("stack-guard", {{"", Code::NOTRUN, "not run: the guest died before it", ""}}, "", "")};
  // run --rerun-failures 2 --strace-failures: large-mmap on aarch64-4k-6.1
  // failed once and passed on its first rerun; va-hint on x86_64-6.1 failed
  // all three times, the last under strace.
  a4.scenarios[0] = scenario("large-mmap", {{"", Code::FLAKY, "FAIL on attempt 1 (exit status 1); PASS on attempt 2", ""}});
  a4.scenarios[0].attempts = {
      {1, Code::FAIL, "exit", "1", 1250, "FAIL: exit status 1", "cells/aarch64-4k-6.1/console.log", ""},
      {2, Code::PASS, "exit", "0", 1190, "PASS: exit status 0", "cells/aarch64-4k-6.1/attempt-2/console.log", ""}};
  for (int a = 1; a <= 3; ++a) {
    const std::string dir = "cells/x86_64-6.1/attempt-" + std::to_string(a) + "/";
    x86.scenarios[2].attempts.push_back({a, Code::FAIL, "exit", "1", 1250, "no-hint-above-47: FAIL: check failed",
                                         a == 1 ? "cells/x86_64-6.1/console.log" : dir + "console.log",
                                         a == 3 ? dir + "strace.txt" : ""});
  }
  s.cells = {a16, a4, a64, arm2g, arm, x5, x86};  // sorted by id
  s.skipped = {{"aarch64-4k-va47", "aarch64 has no 4K/47-bit VA configuration (ARM64_VA_BITS_47 depends on ARM64_16K_PAGES)",
                "matrix.yaml:21"}};
  return s;
}

}  // namespace archmatrix::report::testing
