#pragma once
// The fault ledger behind README.md's "Reliability" table: a fault test
// records, per case, which fault it injected, whether everything the test
// asserts held (the right result code, nothing lost or invented, the
// console log kept), and how many QEMU processes outlived the case. ctest
// points ARCHMATRIX_RELIABILITY_LEDGER at one JSON-lines file for the whole
// suite; tests/reliability/table.py turns it into the table. Without the
// variable (a test binary run by hand) nothing is written.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace archmatrix::testing {

inline std::string ledger_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

/// Appends one case. `handled` is normally !HasFailure() at the end of the case.
inline void record_fault(const std::string& fault, bool handled, int qemu_left) {
  const char* path = std::getenv("ARCHMATRIX_RELIABILITY_LEDGER");
  if (!path || !*path) return;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test = info ? std::string(info->test_suite_name()) + "." + info->name() : "?";
  const std::string line = "{\"fault\": \"" + ledger_escape(fault) + "\", \"test\": \"" + ledger_escape(test) +
                           "\", \"handled\": " + (handled ? "true" : "false") +
                           ", \"qemu_left\": " + std::to_string(qemu_left) + "}\n";
  // One write with O_APPEND: lines from tests running in parallel never interleave.
  const int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  [[maybe_unused]] const auto n = ::write(fd, line.data(), line.size());
  ::close(fd);
}

}  // namespace archmatrix::testing
