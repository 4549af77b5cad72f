#include "util/data_dir.h"

#include <system_error>

namespace archmatrix::util {

namespace fs = std::filesystem;

fs::path data_dir(const fs::path& exe, const fs::path& source_root) {
  // matrix.yaml is the marker: a bin/ that merely sits beside some other
  // share/archmatrix (or an empty one) does not make a binary installed.
  if (!exe.empty() && exe.has_parent_path()) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "archmatrix";
    std::error_code ec;
    if (fs::is_regular_file(installed / "matrix.yaml", ec)) return installed;
  }
  return source_root;
}

fs::path self_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p;
}

}  // namespace archmatrix::util
