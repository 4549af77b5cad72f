#pragma once
// Recognises kernel oopses and panics in console lines (after syzkaller's
// vm monitor): the first header line gives the crash title, and the lines
// after it, up to a bound, are kept as the crash text for the report.

#include <cstddef>
#include <string>
#include <string_view>

namespace archmatrix::protocol {

class CrashDetector {
 public:
  /// Feeds one whole console line (the LineSplitter makes them whole, so a
  /// header split across reads still matches).
  void feed_line(std::string_view line);

  bool crashed() const { return !title_.empty(); }
  /// Forgets what was seen (a header that turned out to be text), so the
  /// next header starts a new crash.
  void reset() { *this = CrashDetector(); }
  /// True once a "Kernel panic - not syncing" line has been seen: nothing
  /// more will come, the runner need not wait for the grace period.
  bool panicked() const { return panicked_; }
  /// The first header line, trimmed of its timestamp ("Internal error: Oops: ...").
  const std::string& title() const { return title_; }
  /// The header line and what followed it, at most max_lines / max_bytes.
  const std::string& text() const { return text_; }

 private:
  static constexpr std::size_t kMaxLines = 200;
  static constexpr std::size_t kMaxBytes = 64 * 1024;
  std::string title_;
  std::string text_;
  std::size_t lines_ = 0;
  bool panicked_ = false;
};

/// The crash title a line starts, or empty if it is no crash header.
std::string crash_title(std::string_view line);

}  // namespace archmatrix::protocol
