#include "exec/accel.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace archmatrix::exec {

namespace {

// "4K" -> 4, "16K" -> 16, "64K" -> 64, a byte count -> KiB; 0 if neither.
int page_kib(const std::string& v) {
  if (v.empty()) return 0;
  if (v.back() == 'K' || v.back() == 'k') return std::atoi(v.c_str());
  const long long bytes = std::atoll(v.c_str());
  return bytes > 0 ? static_cast<int>(bytes / 1024) : 0;
}

std::string axis(const plan::Cell& cell, const char* name) {
  auto it = cell.axes.find(name);
  return it == cell.axes.end() ? std::string() : it->second;
}

}  // namespace

HostAccel probe_host_accel() {
  HostAccel h;
  utsname u{};
  ::uname(&u);
  const std::string m = u.machine;
  h.arch = m == "aarch64" ? util::Arch::aarch64 : m.rfind("arm", 0) == 0 ? util::Arch::armhf : util::Arch::x86_64;
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    h.kvm = true;
    ::close(fd);
  } else {
    h.kvm_why_not = std::string("/dev/kvm: ") + std::strerror(errno);
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    const std::string words = " " + line + " ";
    h.la57 = h.la57 || words.find(" la57 ") != std::string::npos;
    h.virt_flags = h.virt_flags || words.find(" vmx ") != std::string::npos || words.find(" svm ") != std::string::npos;
  }
  if (const char* force = std::getenv("ARCHMATRIX_ACCEL_HOST"); force && std::string(force) == "tcg") {
    h.kvm = false;
    h.kvm_why_not = "ARCHMATRIX_ACCEL_HOST=tcg";
  }
  if (h.arch == util::Arch::aarch64) h.granules_kib = {4};  // the one every arm64 CPU has; others unknown here
  return h;
}

AccelChoice choose_accel(const plan::Cell& cell, const HostAccel& host, const std::string& requested) {
  if (requested == "tcg") return {"tcg", "TCG: asked for (--accel tcg)"};
  const auto tcg = [&](const std::string& why) {
    return requested == "kvm" ? AccelChoice{"", why} : AccelChoice{"tcg", "TCG: " + why};
  };
  if (cell.arch != host.arch)
    return tcg(std::string("a guest of ") + std::string(util::arch_info(cell.arch).name) + " on a " +
               std::string(util::arch_info(host.arch).name) + " host");
  if (!host.kvm) return tcg(host.kvm_why_not.empty() ? "no /dev/kvm" : host.kvm_why_not);
  if (cell.arch == util::Arch::x86_64 && !host.virt_flags)
    return tcg("/dev/kvm opens, but the CPU has no vmx or svm flag (KVM would fail)");
  if (cell.arch == util::Arch::x86_64 && axis(cell, "paging") == "5level" && !host.la57)
    return tcg("5-level paging needs a host CPU with la57, and this one has none");
  if (cell.arch == util::Arch::aarch64) {
    const int kib = page_kib(axis(cell, "page_size"));
    if (kib != 0 && !host.granules_kib.count(kib))
      return tcg(std::to_string(kib) + "K pages need a host CPU known to support that granule");
  }
  return {"kvm", "KVM: the host's arch and CPU give the cell its axes"};
}

}  // namespace archmatrix::exec
