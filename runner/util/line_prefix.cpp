#include "util/line_prefix.h"

#include <utility>

namespace archmatrix::util {

LinePrefixer::LinePrefixer(std::string prefix, Writer write, std::size_t max_line)
    : prefix_(std::move(prefix)), write_(std::move(write)), max_line_(max_line ? max_line : 1) {}

void LinePrefixer::emit(std::string_view line) {
  std::string out;
  out.reserve(prefix_.size() + line.size() + 1);
  out.append(prefix_).append(line).push_back('\n');
  write_(out);
}

void LinePrefixer::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    // A line cut at max_line already went out with a '\n'; its own newline,
    // if it comes next, ends it rather than making an empty line.
    if (std::exchange(cut_, false) && bytes.front() == '\n') {
      bytes.remove_prefix(1);
      continue;
    }
    const auto nl = bytes.find('\n');
    const std::size_t room = max_line_ - partial_.size();
    if (nl != std::string_view::npos && nl <= room) {
      if (partial_.empty()) {
        emit(bytes.substr(0, nl));
      } else {
        partial_.append(bytes.substr(0, nl));
        emit(partial_);
        partial_.clear();
      }
      bytes.remove_prefix(nl + 1);
      continue;
    }
    const std::size_t take = std::min(room, bytes.size());
    partial_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (partial_.size() == max_line_) {
      emit(partial_);
      partial_.clear();
      cut_ = true;
    }
  }
}

void LinePrefixer::finish() {
  if (partial_.empty()) return;
  emit(partial_);
  partial_.clear();
}

}  // namespace archmatrix::util
