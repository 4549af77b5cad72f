#pragma once
// Live output of several guests on one terminal (`exec` on many cells): each
// stream is cut into lines and every complete line goes out whole, with its
// cell's prefix, in one call to the writer, so lines of different cells never
// interleave mid-line while each still appears as soon as it is complete.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace archmatrix::util {

class LinePrefixer {
 public:
  using Writer = std::function<void(std::string_view)>;
  /// Lines longer than max_line are cut there (the rest continues on a new
  /// prefixed line), so memory stays bounded whatever the program prints.
  LinePrefixer(std::string prefix, Writer write, std::size_t max_line = 64 * 1024);

  /// Appends bytes; writes every line they complete, prefix + line + '\n'.
  void feed(std::string_view bytes);
  /// End of the stream: an unterminated last line is written with a '\n'.
  void finish();

 private:
  void emit(std::string_view line);

  std::string prefix_;
  Writer write_;
  std::size_t max_line_;
  std::string partial_;
  bool cut_ = false;  ///< the last line written was cut at max_line
};

}  // namespace archmatrix::util
