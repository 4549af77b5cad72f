#include "guest/qmp.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "guest/guest.h"

namespace archmatrix::guest {

namespace {
constexpr std::size_t kMaxLine = 1 << 20;  // QMP replies we ask for are small
}

QmpClient::QmpClient(int fd, std::chrono::steady_clock::time_point deadline) : fd_(fd) {
  const auto greeting = next_reply(deadline);
  if (!greeting.contains("QMP")) throw GuestError("QMP: no greeting from QEMU");
  execute("qmp_capabilities", nlohmann::json::object(), deadline);
}

// The next reply line; asynchronous events ({"event": ...}) are skipped.
nlohmann::json QmpClient::next_reply(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    for (std::size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
      const std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) throw GuestError("QMP: QEMU sent a line that is not a JSON object");
      if (j.contains("event")) continue;
      return j;
    }
    if (buffer_.size() > kMaxLine) throw GuestError("QMP: a reply line longer than 1 MiB");
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) throw GuestError("QMP: QEMU did not answer in time");
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 200)));
    if (g_interrupted) throw GuestError("interrupted", util::kExitInterrupted);
    if (n < 0 && errno != EINTR) throw GuestError(std::string("QMP: poll: ") + std::strerror(errno));
    if (n <= 0) continue;
    char buf[64 * 1024];
    const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r == 0) throw GuestError("QMP: QEMU closed its monitor");
    if (r < 0 && errno != EINTR && errno != EAGAIN) throw GuestError(std::string("QMP: ") + std::strerror(errno));
    if (r > 0) buffer_.append(buf, static_cast<std::size_t>(r));
  }
}

nlohmann::json QmpClient::execute(const std::string& command, const nlohmann::json& arguments,
                                  std::chrono::steady_clock::time_point deadline) {
  nlohmann::json req{{"execute", command}};
  if (!arguments.empty()) req["arguments"] = arguments;
  const std::string line = req.dump() + "\n";
  for (std::size_t sent = 0; sent < line.size();) {
    const ssize_t w = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw GuestError("QMP: cannot send " + command + ": " + std::strerror(errno));
    sent += static_cast<std::size_t>(w);
  }
  const auto reply = next_reply(deadline);
  if (reply.contains("error")) {
    const auto& e = reply["error"];
    std::string desc = e.is_object() && e.contains("desc") && e["desc"].is_string() ? e["desc"].get<std::string>()
                                                                                    : "(no description)";
    throw GuestError("QMP " + command + ": " + desc);
  }
  if (!reply.contains("return")) throw GuestError("QMP " + command + ": a reply with neither return nor error");
  return reply["return"];
}

}  // namespace archmatrix::guest
