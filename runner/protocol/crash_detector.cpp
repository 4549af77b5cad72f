#include "protocol/crash_detector.h"

#include <array>

namespace archmatrix::protocol {

namespace {

// Headers that start an oops or panic report on arm64, arm and x86_64. Kept
// narrow on purpose: "WARNING:" alone is not a crash, and scenario output
// never reaches the console, so only the kernel prints these.
constexpr std::array<std::string_view, 11> kHeaders{
    "Kernel panic - not syncing",
    "Internal error: ",
    "Unable to handle kernel ",
    "BUG: kernel NULL pointer dereference",
    "BUG: unable to handle",
    "BUG: ",
    "kernel BUG at ",
    "general protection fault",
    "Oops: ",
    "Unhandled fault",
    "watchdog: BUG: soft lockup",
};

std::string_view strip_timestamp(std::string_view line) {
  // "[   12.345678] text" -> "text"
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i < line.size() && line[i] == '[') {
    const auto close = line.find(']', i);
    if (close != std::string_view::npos && close < i + 20) {
      line.remove_prefix(close + 1);
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    }
  }
  return line;
}

}  // namespace

std::string crash_title(std::string_view line) {
  const std::string_view text = strip_timestamp(line);
  for (auto h : kHeaders)
    if (text.substr(0, h.size()) == h) return std::string(text.substr(0, 200));
  return {};
}

void CrashDetector::feed_line(std::string_view line) {
  if (title_.empty()) {
    title_ = crash_title(line);
    if (title_.empty()) return;
  }
  if (strip_timestamp(line).substr(0, 26) == "Kernel panic - not syncing") panicked_ = true;
  if (lines_ < kMaxLines && text_.size() + line.size() < kMaxBytes) {
    text_.append(line);
    text_ += '\n';
    ++lines_;
  }
}

}  // namespace archmatrix::protocol
