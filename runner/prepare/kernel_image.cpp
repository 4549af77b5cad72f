#include "prepare/kernel_image.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <memory>

#include "util/error.h"

namespace archmatrix::prepare {

namespace {

constexpr std::size_t kHead = 4096;

std::uint32_t le32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}

const char* what_it_is(std::string_view head) {
  if (head.size() >= 0x40 && head.substr(0x38, 4) == std::string_view("ARM\x64", 4)) return "an arm64 Image";
  if (head.size() >= 0x28 && le32(head, 0x24) == 0x016f2818) return "a 32-bit ARM zImage";
  if (head.size() >= 0x206 && head.substr(0x202, 4) == "HdrS") return "an x86 bzImage";
  if (head.size() >= 4 && head.substr(0, 4) == "\x7f" "ELF") return "an ELF file (vmlinux?), not a boot image";
  return nullptr;
}

std::string read_head(const std::filesystem::path& image) {
  std::ifstream in(image, std::ios::binary);
  if (!in) throw util::Error("cannot read the kernel image " + image.string());
  std::string head(kHead, '\0');
  in.read(head.data(), static_cast<std::streamsize>(kHead));
  head.resize(static_cast<std::size_t>(in.gcount()));
  if (head.size() < 2 || static_cast<unsigned char>(head[0]) != 0x1f || static_cast<unsigned char>(head[1]) != 0x8b)
    return head;
  // gzip: decompress just the start with libarchive's raw reader.
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_filename(a.get(), image.c_str(), 65536) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &entry) != ARCHIVE_OK)
    throw util::Error(fmt::format("{}: gzip-compressed kernel image that cannot be read: {}", image.string(),
                                  archive_error_string(a.get()) ? archive_error_string(a.get()) : "unknown error"));
  std::string out(kHead, '\0');
  std::size_t got = 0;
  while (got < kHead) {
    const la_ssize_t n = archive_read_data(a.get(), out.data() + got, kHead - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace

std::optional<std::string> kernel_image_problem(std::string_view head, util::Arch arch) {
  const char* is = what_it_is(head);
  const char* want = arch == util::Arch::aarch64 ? "an arm64 Image"
                     : arch == util::Arch::armhf ? "a 32-bit ARM zImage"
                                                  : "an x86 bzImage";
  if (is && std::strcmp(is, want) == 0) return std::nullopt;
  return fmt::format("expected {} for a {} guest, found {}", want, util::arch_info(arch).name,
                     is ? is : "no known kernel boot header");
}

void require_kernel_image(const std::filesystem::path& image, util::Arch arch) {
  if (auto why = kernel_image_problem(read_head(image), arch))
    throw util::Error(fmt::format("{}: refusing to boot it: {}", image.string(), *why));
}

}  // namespace archmatrix::prepare
