#include "guest/guest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include "protocol/channel_frame.h"
#include "protocol/console_parser.h"
#include "protocol/crash_detector.h"
#include "guest/qmp.h"
#include "util/fs.h"

namespace archmatrix::guest {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using protocol::FrameType;

volatile std::sig_atomic_t g_interrupted = 0;

std::vector<std::string> channel_qemu_args(const std::string& kind, const fs::path& socket,
                                           const fs::path& gdb_socket) {
  // QEMU listens on the gdb socket (server=on) and does not wait for gdb
  // (wait=off): the program waits, stopped, under gdbserver instead.
  return {"-device", kind == "pci" ? "virtio-serial-pci,id=amser0" : "virtio-serial-device,id=amser0",
          "-chardev", "socket,id=amch0,path=" + socket.string(),
          "-device", "virtserialport,bus=amser0.0,chardev=amch0,name=org.archmatrix.0",
          "-chardev", gdb_socket.empty() ? std::string("null,id=amgdb0")
                                         : "socket,id=amgdb0,path=" + gdb_socket.string() + ",server=on,wait=off",
          "-device", std::string("virtserialport,bus=amser0.0,chardev=amgdb0,name=") + kGdbPort};
}

std::string crash_title_in(const fs::path& console) {
  std::ifstream in(console);
  protocol::CrashDetector d;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    d.feed_line(line);
  }
  return d.title();
}

std::vector<std::string> share_qemu_args(const std::string& kind, const Share& s, int index) {
  std::string path = s.host_dir.string();
  for (std::size_t at = 0; (at = path.find(',', at)) != std::string::npos; at += 2) path.insert(at, ",");  // QEMU's escape
  const std::string id = "amfs" + std::to_string(index);
  // security_model=none: the guest sees the host's owners and modes as they
  // are; readonly=on: QEMU refuses writes even if the guest remounted rw.
  return {"-fsdev", "local,id=" + id + ",path=" + path + ",readonly=on,security_model=none",
          "-device", std::string(kind == "pci" ? "virtio-9p-pci" : "virtio-9p-device") + ",fsdev=" + id +
                         ",mount_tag=" + s.tag};
}

namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

struct Guest::Impl {
  pid_t qemu = -1;
  int listen_fd = -1, sock = -1;
  int qmp_listen_fd = -1, qmp = -1;  // only while saving a ready state
  fs::path work, console, qemu_log;
  std::string nonce;
  protocol::FrameDecoder decoder{protocol::guest_to_host_types()};
  std::string pending_out;  // frames not yet written to the socket
  int qemu_status = -1;

  ~Impl() {
    if (qemu > 0 && qemu_status < 0) {
      ::kill(qemu, SIGKILL);
      ::waitpid(qemu, nullptr, 0);
    }
    for (int fd : {sock, listen_fd, qmp, qmp_listen_fd})
      if (fd >= 0) ::close(fd);
  }

  // Accepts QEMU's connection on a listening socket, watching QEMU.
  int accept_from(int listening, Clock::time_point deadline) {
    for (;;) {
      if (g_interrupted) throw GuestError("interrupted", util::kExitInterrupted);
      pollfd p{listening, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        const int fd = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) return fd;
      }
      if (!qemu_alive()) died("starting QEMU");
      if (Clock::now() > deadline) throw GuestError("QEMU did not connect its socket in time");
    }
  }

  bool qemu_alive() {
    if (qemu_status >= 0) return false;
    int st = 0;
    if (::waitpid(qemu, &st, WNOHANG) == qemu) qemu_status = st;
    return qemu_status < 0;
  }

  std::string crash_title() const { return crash_title_in(console); }

  // Why the guest is gone, in one line: the crash title, else QEMU's own words.
  [[noreturn]] void died(const std::string& doing) {
    for (int i = 0; i < 20 && qemu_alive(); ++i) ::usleep(50000);  // let a panic reach the log
    std::string why = crash_title();
    if (why.empty() && qemu_status >= 0) {
      std::string err;
      try {
        err = util::read_file(qemu_log);
      } catch (...) {
      }
      while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
      if (auto nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
      why = "QEMU exited" + (err.empty() ? std::string() : ": " + err);
    } else if (!why.empty()) {
      why = "guest kernel crashed: " + why;
    } else {
      why = "the guest closed the channel";
    }
    throw GuestError(why + " (" + doing + "; console: " + console.string() + ")");
  }

  void send(FrameType t, std::uint16_t stream, std::string_view payload) {
    pending_out += protocol::encode_frame(t, stream, payload);
  }

  // One round of I/O: flush what can be written, read what came, watch QEMU
  // and the extra fd. Returns the bytes read from the socket ("" on timeout).
  struct Io {
    int extra_fd = -1;  // polled for POLLIN (stdin to forward)
    bool extra_ready = false;
    bool tick = false;  // call on_extra after every round, ready or not
  };
  std::string round(int timeout_ms, Io* io, const std::string& doing) {
    if (g_interrupted) throw GuestError("interrupted", util::kExitInterrupted);
    pollfd p[2] = {{sock, static_cast<short>(POLLIN | (pending_out.empty() ? 0 : POLLOUT)), 0}, {-1, POLLIN, 0}};
    if (io && io->extra_fd >= 0) p[1].fd = io->extra_fd;
    const int n = ::poll(p, 2, timeout_ms);
    if (n < 0 && errno != EINTR) throw GuestError(errno_text("poll"));
    if (io) io->extra_ready = n > 0 && p[1].fd >= 0 && p[1].revents != 0;
    std::string got;
    if (n > 0 && (p[0].revents & POLLOUT)) {
      const ssize_t w = ::send(sock, pending_out.data(), pending_out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w > 0) pending_out.erase(0, static_cast<std::size_t>(w));
      else if (w < 0 && errno != EAGAIN && errno != EINTR) died(doing);
    }
    if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[256 * 1024];
      const ssize_t r = ::recv(sock, buf, sizeof buf, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) died(doing);
      if (r > 0) got.assign(buf, static_cast<std::size_t>(r));
    }
    if (got.empty() && !qemu_alive()) died(doing);
    return got;
  }

  // The next frame from the guest; throws on a protocol error or death.
  protocol::Frame next_frame(Clock::time_point deadline, const std::string& doing, Io* io = nullptr,
                             const std::function<void()>& on_extra = {}) {
    for (;;) {
      if (auto f = decoder.next()) return std::move(*f);
      if (!decoder.error().empty()) throw GuestError(decoder.error() + " (" + doing + ")");
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) throw GuestError("no answer from the guest in time (" + doing + ")");
      decoder.feed(round(static_cast<int>(std::min<long long>(left, 200)), io, doing));
      if (io && (io->extra_ready || io->tick) && on_extra) on_extra();
    }
  }

  void flush(Clock::time_point deadline, const std::string& doing) {
    while (!pending_out.empty()) {
      if (Clock::now() > deadline) throw GuestError("the guest stopped reading (" + doing + ")");
      decoder.feed(round(200, nullptr, doing));
    }
  }

  // The guest never reached the channel: a crash if the console shows one.
  [[noreturn]] void boot_timed_out() {
    const std::string t = crash_title();
    throw GuestError(t.empty() ? "the guest did not reach the agent's channel in time (console: " + console.string() + ")"
                               : "guest kernel crashed: " + t);
  }

  void handshake(Clock::time_point deadline) {
    std::string lines;
    for (;;) {
      if (Clock::now() > deadline) boot_timed_out();
      lines += round(200, nullptr, "booting");
      for (std::size_t nl; (nl = lines.find('\n')) != std::string::npos;) {
        const std::string line = lines.substr(0, nl);
        lines.erase(0, nl + 1);
        if (line.rfind("AMCH1 READY", 0) == 0) pending_out += "AMCH1 ACK\n";
        if (line == "AMCH1 GO") {
          pending_out += "AMCH1 BEGIN\n";
          decoder.feed(lines);
          return;
        }
      }
      if (lines.size() > 4096) lines.erase(0, lines.size() - 64);  // no line of ours is that long
    }
  }

  // Reads (and drops) the channel until the agent's first READY line.
  void wait_for_ready(Clock::time_point deadline) {
    std::string lines;
    for (;;) {
      if (Clock::now() > deadline) boot_timed_out();
      lines += round(200, nullptr, "booting to save");
      if (lines.find("AMCH1 READY") != std::string::npos && lines.find('\n', lines.find("AMCH1 READY")) != std::string::npos)
        return;
      if (lines.size() > 4096) lines.erase(0, lines.size() - 64);
    }
  }

  // The first message to a restored guest (docs/protocol.md, "restore"):
  // this run's wall clock, fresh entropy and nonce; the agent measures and
  // sends its facts again under that nonce before it answers.
  void after_restore(const std::string& run_nonce, Clock::time_point deadline) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    std::string entropy(64, '\0');
    if (::getrandom(entropy.data(), entropy.size(), 0) != static_cast<ssize_t>(entropy.size()))
      throw GuestError(errno_text("getrandom (entropy for the restored guest)"));
    send(FrameType::restore, 0,
         protocol::encode_field_list(
             {{"time_ns", std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count())},
              {"entropy", entropy},
              {"nonce", run_nonce}}));
    const auto f = next_frame(deadline, "restoring");
    if (f.type != FrameType::ok || f.stream != 0) throw GuestError("channel: unexpected answer to restore");
  }
};

Guest::Guest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Guest::~Guest() = default;

namespace {

// A unix socket listening at `path` before QEMU starts: QEMU connects as a
// client, nobody can race us.
int listen_at(const fs::path& path) {
  fs::remove(path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) throw GuestError("socket path too long: " + path.string());
  std::strcpy(addr.sun_path, path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0) {
    const std::string why = errno_text("socket " + path.string());
    if (fd >= 0) ::close(fd);
    throw GuestError(why);
  }
  return fd;
}

// QEMU's -incoming exec: runs a shell: the path goes in single quotes.
std::string shell_quoted(const fs::path& p) {
  std::string q = "'";
  for (char c : p.string()) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

// Starts QEMU with the channel (and `monitor`: a QMP socket too) and waits
// for QEMU to connect the channel socket. The handshake is the caller's.
std::unique_ptr<Guest::Impl> Guest::launch(const StartOptions& o, bool monitor) {
  auto impl = std::make_unique<Impl>();
  impl->work = o.work_dir;
  impl->console = o.work_dir / "console.log";
  impl->qemu_log = o.work_dir / "qemu.log";
  impl->nonce = o.nonce;
  const fs::path sockets = o.socket_dir.empty() ? o.work_dir : o.socket_dir;
  const fs::path sock_path = sockets / "channel.sock";
  impl->listen_fd = listen_at(sock_path);
  std::vector<std::string> argv = o.qemu_argv;
  for (auto& a : channel_qemu_args(o.machine_kind, sock_path, o.gdb_socket)) argv.push_back(a);
  for (std::size_t i = 0; i < o.shares.size(); ++i)
    for (auto& a : share_qemu_args(o.machine_kind, o.shares[i], static_cast<int>(i))) argv.push_back(a);
  if (monitor) {
    const fs::path qmp_path = sockets / "qmp.sock";
    impl->qmp_listen_fd = listen_at(qmp_path);
    for (const char* a : {"-chardev", "-mon"}) argv.push_back(a), argv.push_back("");
    argv[argv.size() - 3] = "socket,id=ammon,path=" + qmp_path.string();
    argv[argv.size() - 1] = "chardev=ammon,mode=control";
  }
  if (!o.restore_from.empty()) {
    argv.push_back("-incoming");
    argv.push_back("exec:cat " + shell_quoted(o.restore_from));
  }
  const int out = ::open(impl->console.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err = ::open(impl->qemu_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || err < 0 || in < 0) throw GuestError(errno_text("opening the logs in " + o.work_dir.string()));
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t parent = ::getpid();
  impl->qemu = ::fork();
  if (impl->qemu == 0) {
    ::setpgid(0, 0);  // Ctrl-C on the terminal reaches us, and we end QEMU
    // Dies with archmatrix, even of a SIGKILL (util/child_setup.h does the
    // same for run's children); a parent already gone is checked after.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::dup2(in, 0), ::dup2(out, 1), ::dup2(err, 2);
    ::execvp(cargv[0], cargv.data());
    const std::string m = "cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, m.data(), m.size());
    ::_exit(127);
  }
  ::close(out), ::close(err), ::close(in);
  if (impl->qemu < 0) throw GuestError(errno_text("fork"));

  const auto deadline = Clock::now() + o.boot_timeout;
  impl->sock = impl->accept_from(impl->listen_fd, deadline);
  if (monitor) impl->qmp = impl->accept_from(impl->qmp_listen_fd, deadline);
  return impl;
}

std::unique_ptr<Guest> Guest::start(const StartOptions& o) {
  auto impl = launch(o, false);
  const auto deadline = Clock::now() + o.boot_timeout;
  impl->handshake(deadline);
  if (!o.restore_from.empty()) impl->after_restore(o.nonce, deadline);
  return std::unique_ptr<Guest>(new Guest(std::move(impl)));
}

void Guest::save_ready_state(const StartOptions& o, const fs::path& state_file) {
  StartOptions cold = o;
  cold.restore_from.clear();
  auto impl = launch(cold, true);
  const auto deadline = Clock::now() + o.boot_timeout;
  // The agent's first READY: it now waits for its work, and nothing in the
  // guest yet depends on this run (no ACK is sent, so it keeps waiting).
  impl->wait_for_ready(deadline);
  const auto save_deadline = Clock::now() + std::chrono::seconds(120);
  QmpClient qmp(impl->qmp, save_deadline);
  // Not stopped first: a guest saved paused is restored paused (the runstate
  // travels with the state). Migration stops it once the idle guest's RAM is
  // across, which without a bandwidth cap is one pass.
  qmp.execute("migrate-set-parameters", {{"max-bandwidth", 64LL << 30}, {"downtime-limit", 2000}}, save_deadline);
  const fs::path part = state_file.string() + ".part";
  qmp.execute("migrate", {{"uri", "exec:cat > " + shell_quoted(part)}}, save_deadline);
  for (;;) {
    const auto st = qmp.execute("query-migrate", nlohmann::json::object(), save_deadline);
    const std::string status = st.is_object() ? st.value("status", std::string()) : std::string();
    if (status == "completed") break;
    if (status == "failed" || status == "cancelled")
      throw GuestError("QEMU could not save the guest: " +
                       (st.is_object() ? st.value("error-desc", status) : status));
    if (Clock::now() > save_deadline) throw GuestError("QEMU did not finish saving the guest in time");
    ::usleep(20000);
  }
  try {
    qmp.execute("quit", nlohmann::json::object(), Clock::now() + std::chrono::seconds(5));
  } catch (const GuestError&) {
    // quit may close the monitor before its reply arrives
  }
  for (int i = 0; i < 100 && impl->qemu_alive(); ++i) ::usleep(20000);
  fs::rename(part, state_file);
}

void Guest::put(const fs::path& host, const std::string& guest_path, unsigned mode) {
  std::ifstream in(host, std::ios::binary);
  if (!in) throw GuestError("cannot read " + host.string());
  char octal[16];
  std::snprintf(octal, sizeof octal, "%o", mode);
  const std::uint16_t id = 1;
  impl_->send(FrameType::put, id, protocol::encode_field_list({{"path", guest_path}, {"mode", octal}}));
  std::string chunk(protocol::kChunk, '\0');
  const std::string doing = "sending " + host.filename().string();
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
    impl_->send(FrameType::data, id, std::string_view(chunk.data(), static_cast<std::size_t>(in.gcount())));
    if (impl_->pending_out.size() > 4 * protocol::kChunk) impl_->flush(deadline, doing);
  }
  impl_->send(FrameType::close, id, "");
  const auto f = impl_->next_frame(deadline, doing);
  if (f.type == FrameType::error) throw GuestError("the guest could not write " + guest_path + ": " + f.payload);
  if (f.type != FrameType::ok) throw GuestError("channel: unexpected answer to put (" + doing + ")");
}

void Guest::put_dir(const std::string& guest_path, unsigned mode) {
  char octal[16];
  std::snprintf(octal, sizeof octal, "%o", mode);
  const std::uint16_t id = 1;
  impl_->send(FrameType::put, id, protocol::encode_field_list({{"path", guest_path}, {"mode", octal}, {"kind", "dir"}}));
  impl_->send(FrameType::close, id, "");
  const auto f = impl_->next_frame(Clock::now() + std::chrono::seconds(30), "making " + guest_path);
  if (f.type == FrameType::error) throw GuestError("the guest could not make " + guest_path + ": " + f.payload);
  if (f.type != FrameType::ok) throw GuestError("channel: unexpected answer to put of a directory");
}

void Guest::mount(const std::string& tag, const std::string& guest_path, const std::string& cache) {
  const std::uint16_t id = 3;
  protocol::FieldList fields{{"tag", tag}, {"path", guest_path}, {"ro", "1"}};
  if (!cache.empty()) fields.emplace_back("cache", cache);
  impl_->send(FrameType::mount, id, protocol::encode_field_list(fields));
  const auto f = impl_->next_frame(Clock::now() + std::chrono::seconds(30), "mounting " + guest_path);
  if (f.type == FrameType::error) throw GuestError("the guest could not mount " + guest_path + ": " + f.payload);
  if (f.type != FrameType::ok) throw GuestError("channel: unexpected answer to mount");
}

std::optional<std::string> Guest::get(const std::string& guest_path, const fs::path& host_path) {
  const std::uint16_t id = 2;
  impl_->send(FrameType::get, id, protocol::encode_field_list({{"path", guest_path}}));
  const fs::path part = host_path.string() + ".part";
  std::ofstream out;
  const std::string doing = "fetching " + guest_path;
  for (;;) {
    // A deadline per frame: a large file may take long, a silent guest may not.
    auto f = impl_->next_frame(Clock::now() + std::chrono::seconds(60), doing);
    if (f.stream != id) continue;
    if (f.type == FrameType::data) {
      if (!out.is_open()) {
        out.open(part, std::ios::binary | std::ios::trunc);
        if (!out) throw GuestError("cannot write " + part.string());
      }
      out.write(f.payload.data(), static_cast<std::streamsize>(f.payload.size()));
    } else if (f.type == FrameType::close) {
      if (!out.is_open()) out.open(part, std::ios::binary | std::ios::trunc);
      out.close();
      if (!out) throw GuestError("cannot write " + part.string());
      fs::rename(part, host_path);
      return std::nullopt;
    } else if (f.type == FrameType::error) {
      if (out.is_open()) out.close();
      fs::remove(part);
      return f.payload;
    } else {
      throw GuestError("channel: unexpected answer to get (" + doing + ")");
    }
  }
}

std::vector<std::string> valid_core_paths(std::string_view field) {
  constexpr std::string_view prefix = "/tmp/.archmatrix-cores/core.";
  std::vector<std::string> out;
  for (std::size_t at = 0; at < field.size() && out.size() < 8;) {
    const std::size_t end = std::min(field.find('\n', at), field.size());
    const std::string_view p = field.substr(at, end - at);
    at = end + 1;
    if (p.size() > 80 || !p.starts_with(prefix)) continue;
    const std::string_view rest = p.substr(prefix.size());  // <pid>.j<job>
    const auto dot = rest.find(".j");
    const auto digits = [](std::string_view d) {
      return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (dot == std::string_view::npos || !digits(rest.substr(0, dot)) || !digits(rest.substr(dot + 2))) continue;
    out.emplace_back(p);
  }
  return out;
}

RunResult Guest::run(const RunRequest& r, const Sink& out, const Sink& err) {
  protocol::FieldList f;
  f.emplace_back("path", r.path);
  for (const auto& a : r.argv) f.emplace_back("arg", a);
  for (const auto& e : r.env) f.emplace_back("env", e);
  if (!r.cwd.empty()) f.emplace_back("cwd", r.cwd);
  f.emplace_back("uid", r.root ? "0" : "65534");
  f.emplace_back("timeout_ms", std::to_string(r.timeout.count()));
  if (r.cores) f.emplace_back("cores", "1");
  if (r.gdb) f.emplace_back("gdb_port", kGdbPort);
  if (r.tty) f.emplace_back("tty", std::to_string(r.tty->first) + " " + std::to_string(r.tty->second));
  const std::uint16_t job = 1;
  impl_->send(FrameType::run, job, protocol::encode_field_list(f));
  bool stdin_open = r.stdin_fd >= 0;
  if (!stdin_open) impl_->send(FrameType::stdin_data, job, "");
  // The guest enforces the timeout; this is only the backstop if it cannot.
  const auto deadline = r.timeout.count() ? Clock::now() + r.timeout + std::chrono::seconds(60)
                                          : Clock::time_point::max();
  Impl::Io io;
  io.tick = static_cast<bool>(r.tty_resized);
  bool escaped = false;
  const auto forward_stdin = [&] {
    if (r.tty_resized)
      if (auto size = r.tty_resized())
        impl_->send(FrameType::winsize, job, std::to_string(size->first) + " " + std::to_string(size->second));
    if (!io.extra_ready) return;
    char buf[protocol::kChunk];
    const ssize_t n = ::read(r.stdin_fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    std::string_view data = n > 0 ? std::string_view(buf, static_cast<std::size_t>(n)) : "";
    const auto esc = r.escape_byte >= 0 ? data.find(static_cast<char>(r.escape_byte)) : std::string_view::npos;
    if (esc != std::string_view::npos) {
      if (esc > 0) impl_->send(FrameType::stdin_data, job, data.substr(0, esc));
      impl_->send(FrameType::kill, job, "");
      escaped = true;
      stdin_open = false;
      return;
    }
    impl_->send(FrameType::stdin_data, job, data);
    if (n <= 0) stdin_open = false;
  };
  for (;;) {
    // Read stdin only while the guest keeps up: memory stays bounded.
    io.extra_fd = stdin_open && impl_->pending_out.size() < 4 * protocol::kChunk ? r.stdin_fd : -1;
    auto fr = impl_->next_frame(deadline, "running " + r.path, &io, forward_stdin);
    if (fr.stream != job) continue;
    if (fr.type == FrameType::stdout_data) out(fr.payload);
    else if (fr.type == FrameType::stderr_data) err(fr.payload);
    else if (fr.type == FrameType::exit) {
      const auto fields = protocol::decode_field_list(fr.payload);
      if (!fields) throw GuestError("channel: malformed exit frame");
      RunResult res;
      res.status = protocol::first_field(*fields, "status").value_or("error");
      res.value = protocol::first_field(*fields, "value").value_or("");
      try {
        res.duration_ms = std::stoll(protocol::first_field(*fields, "duration_ms").value_or("0"));
      } catch (...) {
      }
      res.cores = valid_core_paths(protocol::first_field(*fields, "cores").value_or(""));
      res.escaped = escaped;
      return res;
    }
  }
}

void Guest::close() {
  impl_->send(FrameType::bye, 0, "");
  try {
    impl_->flush(Clock::now() + std::chrono::seconds(5), "closing");
  } catch (const GuestError&) {
  }
  for (int i = 0; i < 100 && impl_->qemu_alive(); ++i) ::usleep(20000);
}

fs::path Guest::console_log() const { return impl_->console; }
std::string Guest::crash_title() const { return impl_->crash_title(); }

std::map<std::string, std::string> Guest::facts() const {
  if (impl_->nonce.empty()) return {};
  std::ifstream in(impl_->console, std::ios::binary);
  protocol::ConsoleParser parser(impl_->nonce);
  protocol::LineSplitter lines;
  char buf[64 * 1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    for (const auto& line : lines.feed(std::string_view(buf, static_cast<std::size_t>(in.gcount()))))
      parser.feed_line(line);
    for (auto& m : parser.take_messages())
      if (m.kind == "facts") return std::move(m.fields);
  }
  if (auto rest = lines.finish()) parser.feed_line(*rest);
  for (auto& m : parser.take_messages())
    if (m.kind == "facts") return std::move(m.fields);
  return {};
}

}  // namespace archmatrix::guest
