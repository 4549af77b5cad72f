#pragma once
// SHA-256 (OpenSSL's libcrypto) for cache keys and checksums.

#include <filesystem>
#include <string>
#include <string_view>

namespace archmatrix::util {

/// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);
/// Lower-case hex SHA-256 of a file's contents, streamed; throws util::Error naming the file.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace archmatrix::util
