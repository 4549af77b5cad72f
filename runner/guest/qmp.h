#pragma once
// A minimal client of QEMU's machine protocol (QMP) over a connected socket:
// what saving a guest needs (stop, migrate, query-migrate, quit) and no more.
// QEMU is the peer, not trusted with our memory: every line is bounded and
// every reply parsed defensively.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace archmatrix::guest {

class QmpClient {
 public:
  /// `fd`: a socket QEMU's monitor is connected to (not owned). Reads the
  /// greeting and negotiates capabilities; throws GuestError on failure.
  QmpClient(int fd, std::chrono::steady_clock::time_point deadline);

  /// Runs a command and returns its "return" value; throws GuestError with
  /// QEMU's own description when it answers "error", or on timeout.
  nlohmann::json execute(const std::string& command, const nlohmann::json& arguments,
                         std::chrono::steady_clock::time_point deadline);

 private:
  nlohmann::json next_reply(std::chrono::steady_clock::time_point deadline);
  int fd_;
  std::string buffer_;
};

}  // namespace archmatrix::guest
