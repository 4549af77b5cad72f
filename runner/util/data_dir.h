#pragma once
// Where archmatrix finds its own data: matrix.yaml, scenarios/, kernels/
// (recipes and fragments), images/ (the agent and the guest CMake project)
// and cmake/toolchains/. An installed archmatrix must not need the checkout
// it was built from, so the installed layout is found from the executable.

#include <filesystem>

namespace archmatrix::util {

/// The data directory for the archmatrix executable at `exe`: for an
/// installed binary, <prefix>/bin/archmatrix, it is <prefix>/share/archmatrix
/// when that directory holds matrix.yaml (so a staged or relocated prefix
/// works); for any other binary (the build tree's) it is `source_root`, the
/// checkout it was built from. Pure apart from the one existence check.
std::filesystem::path data_dir(const std::filesystem::path& exe, const std::filesystem::path& source_root);

/// The running executable's path (/proc/self/exe, symlinks resolved); empty
/// when it cannot be read, which data_dir() treats as "not installed".
std::filesystem::path self_executable();

}  // namespace archmatrix::util
