// A stand-in for qemu-system-* in fault-injection tests (never used by the
// product). It reads the nonce and scenario list from the -initrd it is given
// (a real cpio from the runner, or a bare plan file from a test), then
// behaves as FAKE_QEMU_MODE says:
//   ok          boot, report every scenario as exit 0, power off
//   hang        print a boot line, then nothing, forever
//   silent      boot and say hello, then nothing, forever
//   panic       boot, begin the first scenario, print an oops split across
//               writes, then a panic, and exit as QEMU does with -no-reboot
//   flood       boot, then print garbage (ANSI, NUL, invalid UTF-8) forever
//   die         print an error as QEMU does for a bad option and exit 1
//   ignore-term like hang, but ignore SIGTERM and SIGINT
//   forge       boot; the first scenario's result is preceded by a forged
//               frame with another nonce and a frame with a bad CRC
//   cut         boot; every frame's first copy is cut by a kernel message
//   flood-panic boot, print FAKE_QEMU_FLOOD_BYTES (default 1 MiB) of numbered
//               lines, then panic and exit: a panic at the end of a flood
//   fake-panic  boot; the first scenario prints a "Kernel panic - not
//               syncing" line to the console (as a privileged scenario can),
//               the agent goes on beating past the crash grace, then every
//               scenario reports and the guest powers off
//   fake-panic-quick  the same, finishing at once (within the grace)
//   replay      boot; a second result for the first scenario and a result for
//               a scenario not yet begun, both with other values

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "frame_encoder.h"

namespace {

using archmatrix::testing::frame_lines;
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string nonce;
std::vector<std::string> scenarios;
unsigned seq = 0;
bool cut_first_copy = false;

void out(const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(1, s.data() + off, s.size() - off);
    if (n <= 0) std::_Exit(3);
    off += static_cast<std::size_t>(n);
  }
}

void send(const std::string& kind, const Fields& f) {
  for (const auto& l : frame_lines(nonce, seq, kind, f)) {
    if (cut_first_copy) {
      const auto half = l.size() / 2;
      out(l.substr(0, half) + "[    1.234567] virtio_blk virtio0: [vda] 0 512-byte logical blocks\n" +
          l.substr(half) + "\n");
    } else {
      out(l + "\n");
    }
    out(l + "\n");
  }
  ++seq;
}

// The plan: a newc cpio holding archmatrix/plan, or the plan text itself.
std::string read_plan(const std::string& initrd) {
  std::ifstream in(initrd, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  if (data.rfind("070701", 0) != 0) return data;
  std::size_t pos = 0;
  while (pos + 110 <= data.size()) {
    auto hex = [&](std::size_t field) { return std::stoul(data.substr(pos + 6 + field * 8, 8), nullptr, 16); };
    const std::size_t filesize = hex(6), namesize = hex(11);
    const std::string name = data.substr(pos + 110, namesize - 1);
    std::size_t body = (pos + 110 + namesize + 3) & ~std::size_t{3};
    if (name == "archmatrix/plan") return data.substr(body, filesize);
    if (name == "TRAILER!!!") break;
    pos = (body + filesize + 3) & ~std::size_t{3};
  }
  return {};
}

void boot() {
  out("\x1b[2J\x1b[01;01H[    0.000000] Booting Linux on physical CPU 0x0\n");
  send("hello", {{"agent", "fake"}, {"protocol", "1"}});
  send("facts", {{"page_size", "4096"}, {"va_bits", "47"}, {"va_bits_default", "47"}, {"machine", "x86_64"},
                 {"kernel_release", "6.1.0-fake-amd64"}, {"user_top", "0x7ffffffff000"}});
}

[[noreturn]] void forever() {
  while (true) ::pause();
}

}  // namespace

int main(int argc, char** argv) {
  std::string initrd;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "-initrd") == 0) initrd = argv[i + 1];
  std::istringstream plan(read_plan(initrd));
  std::string line;
  while (std::getline(plan, line)) {
    std::istringstream ls(line);
    std::string word, name;
    ls >> word;
    if (word == "nonce") ls >> nonce;
    if (word == "scenario" && (ls >> name)) scenarios.push_back(name);
  }
  const char* m = std::getenv("FAKE_QEMU_MODE");
  const std::string mode = m ? m : "ok";

  if (mode == "die") {
    std::cerr << argv[0] << ": -cpu bogus: unable to find CPU model 'bogus'\n";
    return 1;
  }
  if (mode == "ignore-term") {
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
  }
  if (mode == "hang" || mode == "ignore-term") {
    out("[    0.000000] Booting Linux on physical CPU 0x0\n");
    forever();
  }
  cut_first_copy = mode == "cut";
  boot();
  if (mode == "silent") forever();
  if (mode == "flood") {
    const std::string junk = std::string("\x1b[31mgarbage \xff\xfe\0 <<AM1|", 20) + "\n";
    while (true) out(junk);
  }
  if (mode == "flood-panic") {
    const char* b = std::getenv("FAKE_QEMU_FLOOD_BYTES");
    const unsigned long long total = b ? std::stoull(b) : (1ull << 20);
    std::string chunk;
    for (unsigned long long n = 0, line = 0; n < total; ++line) {
      chunk += "[    3.000000] flood line " + std::to_string(line) + "\n";
      if (chunk.size() >= 65536 || n + chunk.size() >= total) {
        n += chunk.size();
        out(chunk);
        chunk.clear();
      }
    }
    out("[    9.000000] Kernel panic - not syncing: the end of the flood\n");
    return 0;
  }
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    send("begin", {{"name", scenarios[i]}});
    if (mode == "panic") {
      out("[    5.100000] Unable to handle kernel NULL pointer ");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      out("dereference at virtual address 0000000000000000\n[    5.100100] Internal error: Oops: 96000005 [#1] SMP\n");
      out("[    5.100200] Kernel panic - not syncing: Oops: Fatal exception\n");
      return 0;  // QEMU with -no-reboot exits when the guest resets
    }
    if ((mode == "fake-panic" || mode == "fake-panic-quick") && i == 0) {
      out("[    5.100200] Kernel panic - not syncing: fake, written to /dev/console by a scenario\n");
      if (mode == "fake-panic") {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        send("beat", {{"name", scenarios[i]}});
        std::this_thread::sleep_for(std::chrono::milliseconds(900));
      }
    }
    if (mode == "forge" && i == 0) {
      for (const auto& l : frame_lines("00000000deadbeef", seq, "result",
                                       {{"name", scenarios[i]}, {"status", "exit"}, {"value", "0"}}))
        out(l + "\n");
      out("<<AM1|" + nonce + "|" + std::to_string(seq) + "|1/1|result|bmFtZTox|00000000>>\n");
    }
    send("result", {{"name", scenarios[i]}, {"status", "exit"}, {"value", "0"}, {"duration_ms", "12"},
                    {"stdout", "ok\n"}, {"stdout_dropped", "0"}, {"stderr", ""}, {"stderr_dropped", "0"}});
    if (mode == "replay" && i == 0 && scenarios.size() > 1) {
      send("result", {{"name", scenarios[0]}, {"status", "signal"}, {"value", "9"}, {"duration_ms", "1"},
                      {"stdout", "replayed\n"}, {"stdout_dropped", "0"}, {"stderr", ""}, {"stderr_dropped", "0"}});
      send("result", {{"name", scenarios[1]}, {"status", "exit"}, {"value", "7"}, {"duration_ms", "1"},
                      {"stdout", "early\n"}, {"stdout_dropped", "0"}, {"stderr", ""}, {"stderr_dropped", "0"}});
    }
  }
  send("end", {{"results", std::to_string(scenarios.size())}});
  out("[    6.000000] reboot: Power down\n");
  return 0;
}
