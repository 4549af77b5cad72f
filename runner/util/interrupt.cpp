#include "util/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "util/error.h"

namespace archmatrix::util {

namespace {

// Lock-free and fixed-size: the handler may run on any thread at any moment.
constexpr int kSlots = 256;
std::atomic<pid_t> g_groups[kSlots];
std::atomic<bool> g_interrupted{false};
int g_pipe[2] = {-1, -1};
std::once_flag g_once;

void on_signal(int) {
  const int saved = errno;
  g_interrupted.store(true);
  for (auto& g : g_groups) {
    const pid_t p = g.load();
    if (p > 0) ::kill(-p, SIGKILL);
  }
  const char c = 'x';
  [[maybe_unused]] const auto n = ::write(g_pipe[1], &c, 1);  // full pipe: already readable
  errno = saved;
}

}  // namespace

void install_interrupt_handlers() {
  std::call_once(g_once, [] {
    if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
      throw Error(std::string("pipe: ") + std::strerror(errno));
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // blocking calls elsewhere go on; they are woken by their children dying
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
  });
}

bool interrupted() { return g_interrupted.load(); }

int interrupt_fd() { return g_pipe[0]; }

void throw_if_interrupted() {
  if (interrupted()) throw Error("interrupted", kExitInterrupted);
}

void reset_interrupt_for_tests() {
  char buf[64];
  while (g_pipe[0] >= 0 && ::read(g_pipe[0], buf, sizeof buf) > 0) {
  }
  g_interrupted.store(false);
}

bool register_child_group(pid_t pgid) {
  bool registered = false;
  for (auto& g : g_groups) {
    pid_t expected = 0;
    if (g.compare_exchange_strong(expected, pgid)) {
      registered = true;
      break;
    }
  }
  // An interrupt between the fork and the registration found no entry.
  if (interrupted()) ::kill(-pgid, SIGKILL);
  return registered;
}

void unregister_child_group(pid_t pgid) {
  for (auto& g : g_groups) {
    pid_t expected = pgid;
    if (g.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace archmatrix::util
