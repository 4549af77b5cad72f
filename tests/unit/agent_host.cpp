// The console and file side of the guest agent, for its C files built into
// the host's unit tests (agent_host.h). Messages are recorded, not framed.

#include "agent_host.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace archmatrix::testing::agent_host {

namespace {
Sent building;
}

std::optional<std::string> Sent::field(const std::string& key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return std::nullopt;
}

std::vector<Sent>& sent() {
  static std::vector<Sent> s;
  return s;
}

std::map<std::string, std::optional<std::string>>& files() {
  static std::map<std::string, std::optional<std::string>> f;
  return f;
}

void clear() {
  sent().clear();
  files().clear();
  building = {};
}

}  // namespace archmatrix::testing::agent_host

using archmatrix::testing::agent_host::building;
namespace host = archmatrix::testing::agent_host;

extern "C" {

void msg_begin(void) { building = {}; }

void msg_field(const char* key, const void* value, size_t len) {
  building.fields.emplace_back(key, std::string(static_cast<const char*>(value), len));
}

void msg_str(const char* key, const char* value) { msg_field(key, value, std::strlen(value)); }

void msg_uint(const char* key, unsigned long long value) {
  const std::string v = std::to_string(value);
  msg_field(key, v.data(), v.size());
}

void msg_hex(const char* key, unsigned long long value) {
  char v[32];
  const int n = std::snprintf(v, sizeof v, "0x%llx", value);
  msg_field(key, v, static_cast<size_t>(n));
}

void msg_send(const char* kind) {
  building.kind = kind;
  host::sent().push_back(std::move(building));
  building = {};
}

void agent_log(const char* fmt, ...) {
  (void)fmt;  // plain console lines: nothing to check here
}

long read_small_file(const char* path, char* buf, size_t size) {
  std::string text;
  if (auto it = host::files().find(path); it != host::files().end()) {
    if (!it->second) return -1;
    text = *it->second;
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return -1;
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const size_t n = std::min(text.size(), size - 1);
  std::memcpy(buf, text.data(), n);
  buf[n] = '\0';
  return static_cast<long>(n);
}

}  // extern "C"
