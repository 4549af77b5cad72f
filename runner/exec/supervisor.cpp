#include "exec/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>


#include <fmt/format.h>

#include <array>
#include <cstring>
#include <deque>
#include <fstream>
#include <optional>

#include "protocol/console_parser.h"
#include "util/boost_process.h"
#include "protocol/crash_detector.h"
#include "util/child_setup.h"
#include "util/interrupt.h"
#include "util/subprocess.h"

namespace archmatrix::exec {

namespace asio = boost::asio;
namespace bp = boost::process::v2;
using Clock = std::chrono::steady_clock;
using verdict::CellEnd;

namespace {

constexpr std::size_t kTailLines = 20;
constexpr auto kPoweroffGrace = std::chrono::seconds(10);

std::string seconds_text(std::chrono::milliseconds ms) {
  return std::to_string(ms.count() / 1000) + " s";
}

}  // namespace

struct Supervisor::Impl {
  asio::io_context ctx;
  int jobs;
  Listener listener;
  bool interrupted = false;
  std::vector<std::shared_ptr<Session>> active;
  void interrupt_all();
};

struct Session : std::enable_shared_from_this<Session> {
  Session(Supervisor::Impl& im, const CellJob& j, verdict::CellRun& r)
      : impl(im), job(j), run(r), pipe(im.ctx), boot_timer(im.ctx), silence_timer(im.ctx),
        overall_timer(im.ctx), grace_timer(im.ctx), parser(j.nonce) {
    for (const auto& n : j.scenario_names) {
      verdict::ScenarioRun sr;
      sr.name = n;
      run.scenarios.push_back(std::move(sr));
    }
  }

  Supervisor::Impl& impl;
  const CellJob& job;
  verdict::CellRun& run;
  std::function<void()> done;
  asio::readable_pipe pipe;
  std::optional<bp::process> proc;
  std::optional<util::ChildRef> child;  // kills by pidfd: Boost may reap QEMU before telling us
  asio::steady_timer boot_timer, silence_timer, overall_timer, grace_timer;
  std::ofstream log;
  std::uint64_t log_bytes = 0;   // written to the log's head
  std::uint64_t past_head = 0;   // bytes after the head, of which the ring keeps the last ones
  std::string ring;              // allocated only for a guest that fills the head
  std::size_t ring_pos = 0;      // where the next byte goes
  protocol::LineSplitter splitter;
  protocol::ConsoleParser parser;
  protocol::CrashDetector crash;
  std::deque<std::string> tail;
  std::array<char, 16384> buf{};
  Clock::time_point t0;
  bool decided = false;  // run.end is final
  bool killed = false;
  std::string running_scenario;
  std::uint64_t records_since_crash = 0;  // agent messages since the last crash header
  std::string crash_running;              // running_text() when the header came

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0).count(); }
  void emit(CellEvent::Kind k, const std::string& scenario = {}) {
    if (impl.listener) impl.listener({k, job.id, scenario, elapsed()});
  }

  void start() {
    t0 = Clock::now();
    log.open(job.console_log, std::ios::binary | std::ios::trunc);
    emit(CellEvent::started);
    bp::filesystem::path exe = job.argv.at(0);
    if (exe.string().find('/') == std::string::npos) exe = bp::environment::find_executable(exe);
    if (exe.empty() || ::access(exe.c_str(), X_OK) != 0) {
      decide(CellEnd::start_failed, job.argv[0] + ": not found or not executable (is QEMU installed?)");
      return finish_now();
    }
    // One pipe for stdout and stderr, made here: QEMU's own error messages
    // (stderr) must land in the same ordered stream as the console.
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      decide(CellEnd::start_failed, std::string("pipe: ") + std::strerror(errno));
      return finish_now();
    }
    pipe.assign(fds[0]);
    try {
      std::vector<std::string> args(job.argv.begin() + 1, job.argv.end());
      proc.emplace(impl.ctx.get_executor(), exe, args, bp::process_stdio{nullptr, fds[1], fds[1]},
                   util::ChildSetup{});
      child.emplace(proc->id());
    } catch (const std::exception& e) {
      ::close(fds[1]);
      decide(CellEnd::start_failed, job.argv[0] + ": " + e.what());
      return finish_now();
    }
    ::close(fds[1]);  // the child holds its copy; EOF comes when QEMU is gone
    arm(boot_timer, job.boot_timeout, [this] {
      decide(CellEnd::boot_timeout, "no agent hello within " + seconds_text(job.boot_timeout));
      kill();
    });
    arm(overall_timer, job.overall_timeout, [this] {
      decide(CellEnd::overall_timeout, "the cell ran past its overall bound of " +
                                           seconds_text(job.overall_timeout) + running_text());
      kill();
    });
    rearm_silence();
    read();
  }

  std::string running_text() const {
    return running_scenario.empty() ? "" : " while running " + running_scenario;
  }

  template <class F>
  void arm(asio::steady_timer& t, std::chrono::milliseconds after, F fire) {
    t.expires_after(after);
    t.async_wait([self = shared_from_this(), fire](const boost::system::error_code& ec) {
      if (!ec) fire();
    });
  }

  void rearm_silence() {
    arm(silence_timer, job.no_output_timeout, [this] {
      decide(CellEnd::no_output_timeout,
             "no console output for " + seconds_text(job.no_output_timeout) + running_text());
      kill();
    });
  }

  void decide(CellEnd end, std::string detail) {
    if (decided) return;
    decided = true;
    run.end = end;
    run.end_detail = std::move(detail);
  }

  void kill() {
    if (killed || !child) return;
    // A timer or the interrupt may fire after Boost reaped QEMU (its
    // async_wait reaps, then posts our handler): kill_tree then sends nothing.
    killed = child->kill_tree();
  }

  void read() {
    pipe.async_read_some(asio::buffer(buf), [self = shared_from_this()](
                                                const boost::system::error_code& ec, std::size_t n) {
      if (n > 0) self->on_data(std::string_view(self->buf.data(), n));
      if (ec) return self->on_eof();
      self->read();
    });
  }

  void on_data(std::string_view bytes) {
    log_console(bytes);
    if (!decided) rearm_silence();
    for (auto& line : splitter.feed(bytes)) on_line(line);
  }

  // The head goes to the file as it comes (a live `tail -f` sees a normal
  // boot); past it, a ring holds the latest bytes, appended at the end.
  void log_console(std::string_view bytes) {
    const auto head = std::min<std::uint64_t>(bytes.size(), job.console_head_bytes - std::min(log_bytes, job.console_head_bytes));
    log.write(bytes.data(), static_cast<std::streamsize>(head));
    log_bytes += head;
    bytes.remove_prefix(static_cast<std::size_t>(head));
    if (bytes.empty()) return;
    past_head += bytes.size();
    const std::size_t cap = static_cast<std::size_t>(job.console_tail_bytes);
    if (cap == 0) return;
    if (ring.empty()) ring.resize(cap);
    if (bytes.size() > cap) bytes.remove_prefix(bytes.size() - cap);
    while (!bytes.empty()) {
      const std::size_t n = std::min(bytes.size(), cap - ring_pos);
      std::memcpy(ring.data() + ring_pos, bytes.data(), n);
      ring_pos = (ring_pos + n) % cap;
      bytes.remove_prefix(n);
    }
  }

  void close_console_log() {
    if (past_head > 0) {
      const std::uint64_t kept = std::min<std::uint64_t>(past_head, ring.size());
      if (past_head > kept)
        log << fmt::format("\n[archmatrix: console log cut: {} bytes dropped after the first {} bytes; the last {} "
                           "bytes follow]\n",
                           past_head - kept, log_bytes, kept);
      if (past_head >= ring.size()) log.write(ring.data() + ring_pos, static_cast<std::streamsize>(ring.size() - ring_pos));
      log.write(ring.data(), static_cast<std::streamsize>(past_head >= ring.size() ? ring_pos : past_head));
    }
    log.close();
  }

  void on_line(const std::string& line) {
    const bool was_crashed = crash.crashed();
    crash.feed_line(line);
    parser.feed_line(line);
    tail.push_back(line.substr(0, 300));
    if (tail.size() > kTailLines) tail.pop_front();
    for (auto& m : parser.take_messages()) {
      ++records_since_crash;
      on_message(m);
    }
    if (!was_crashed && crash.crashed()) {
      // Only a candidate: a privileged scenario can print the same header to
      // /dev/console. With panic=-1, -no-reboot and oops=panic a real crash
      // ends QEMU (on_eof decides it); a guest still sending records when
      // the grace ends was printing text.
      records_since_crash = 0;
      crash_running = running_text();
      arm(grace_timer, job.crash_grace, [this] { crash_grace_ended(); });
    }
  }

  void crash_grace_ended() {
    if (records_since_crash > 0) return dismiss_crash("valid agent records followed it");
    crash_decided();
    kill();
  }

  void crash_decided() {
    if (decided) return;
    run.crash_title = crash.title();
    decide(CellEnd::crashed, crash.title() + crash_running);
  }

  void dismiss_crash(const std::string& why) {
    run.protocol_anomalies.push_back("a kernel crash header on the console was text, not a crash (" + why +
                                     "): " + crash.title());
    crash.reset();
  }

  verdict::ScenarioRun* scenario(const protocol::Fields& f) {
    auto it = f.find("name");
    if (it == f.end()) return nullptr;
    for (auto& s : run.scenarios)
      if (s.name == it->second) return &s;
    run.protocol_anomalies.push_back("message about unknown scenario '" + it->second.substr(0, 80) + "'");
    return nullptr;
  }

  void on_message(const protocol::Message& m) {
    const auto field = [&](const char* k) {
      auto it = m.fields.find(k);
      return it == m.fields.end() ? std::string() : it->second;
    };
    if (m.kind == "hello") {
      run.boot_seconds = elapsed();
      boot_timer.cancel();
      emit(CellEvent::booted);
    } else if (m.kind == "facts") {
      run.facts = m.fields;
    } else if (m.kind == "begin") {
      if (auto* s = scenario(m.fields)) {
        s->begun = true;
        running_scenario = s->name;
        emit(CellEvent::scenario_started, s->name);
      }
    } else if (m.kind == "result") {
      auto* s = scenario(m.fields);
      // One result per begun scenario, for the one running: anything else
      // is not the agent's (it never sends one) and must not replace it.
      if (s && s->finished) {
        run.protocol_anomalies.push_back("second result for scenario '" + s->name + "': ignored");
        s = nullptr;
      } else if (s && s->name != running_scenario) {
        run.protocol_anomalies.push_back("result for scenario '" + s->name + "', which is not running: ignored");
        s = nullptr;
      }
      if (s) {
        s->finished = true;
        s->status = field("status");
        s->value = field("value");
        try {
          s->duration_ms = std::stoll(field("duration_ms"));
          s->stdout_dropped = std::stoull(field("stdout_dropped"));
          s->stderr_dropped = std::stoull(field("stderr_dropped"));
        } catch (...) {
          run.protocol_anomalies.push_back("result of " + s->name + " has a malformed number");
        }
        s->stdout_text = field("stdout");
        s->stderr_text = field("stderr");
        running_scenario.clear();
        emit(CellEvent::scenario_finished, s->name);
      }
    } else if (m.kind == "end") {
      decide(CellEnd::completed, "");
      arm(grace_timer, kPoweroffGrace, [this] {
        run.protocol_anomalies.push_back("QEMU did not exit after the agent powered off; killed");
        kill();
      });
    }
  }

  void on_eof() {
    if (auto rest = splitter.finish()) on_line(*rest);
    // QEMU ended after a crash header: a real crash, unless the agent had
    // finished and powered off (then the header was text).
    if (crash.crashed()) {
      if (decided && run.end == CellEnd::completed) dismiss_crash("the agent finished and powered off");
      else crash_decided();
    }
    std::string last;
    for (const auto& l : tail)
      if (!l.empty()) last = l;
    const std::string said = last.empty() ? "QEMU ended without output" : "last output: " + last;
    if (!proc) {
      if (!decided) decide(CellEnd::qemu_exited, said);
      return finish_now();
    }
    // An unexpected end is decided once QEMU's status is known, so the
    // result says whether it exited or was killed (OOM killer, a user).
    proc->async_wait([self = shared_from_this(), said](const boost::system::error_code& ec, int code) {
      std::string how;
      if (!ec) {
        const int st = self->proc->native_exit_code();
        if (WIFSIGNALED(st)) {
          how = fmt::format("QEMU was killed by signal {} ({}); ", WTERMSIG(st), ::strsignal(WTERMSIG(st)));
          code = 128 + WTERMSIG(st);
        } else if (WIFEXITED(st)) {
          how = fmt::format("QEMU exited with status {}; ", WEXITSTATUS(st));
        }
        if (!self->killed) self->run.qemu_exit_code = code;
      }
      if (!self->decided) self->decide(CellEnd::qemu_exited, how + said);
      self->finish_now();
    });
  }

  void finish_now() {
    boot_timer.cancel();
    silence_timer.cancel();
    overall_timer.cancel();
    grace_timer.cancel();
    for (const auto& a : parser.anomalies()) run.protocol_anomalies.push_back(a);
    for (auto seq : parser.incomplete())
      run.protocol_anomalies.push_back("message " + std::to_string(seq) + " arrived incomplete");
    run.crash_text = crash.text();
    if (run.crash_title.empty()) run.crash_title = crash.title();
    run.wall_seconds = elapsed();
    close_console_log();
    emit(CellEvent::finished);
    auto d = std::move(done);
    if (d) d();
  }
};

void Supervisor::Impl::interrupt_all() {
  interrupted = true;
  for (auto& s : active) {
    s->decide(CellEnd::interrupted, "the run was interrupted");
    s->kill();
  }
}

Supervisor::Supervisor(int jobs, Listener listener) : impl_(std::make_unique<Impl>()) {
  impl_->jobs = jobs < 1 ? 1 : jobs;
  impl_->listener = std::move(listener);
}

Supervisor::~Supervisor() = default;

bool Supervisor::interrupted() const { return impl_->interrupted; }

std::vector<verdict::CellRun> Supervisor::run(const std::vector<CellJob>& jobs) {
  Impl& im = *impl_;
  std::vector<verdict::CellRun> runs(jobs.size());
  if (jobs.empty()) return runs;
  std::size_t next = 0;
  // SIGINT/SIGTERM are util's (they must stay handled after this call, while
  // the reports are written); its descriptor turns readable at the interrupt.
  util::install_interrupt_handlers();
  asio::posix::stream_descriptor interrupt(im.ctx, ::dup(util::interrupt_fd()));
  interrupt.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
    if (!ec) im.interrupt_all();
  });
  if (util::interrupted()) im.interrupted = true;  // before the first cell: start none
  std::function<void()> launch_more;
  launch_more = [&] {
    while (!im.interrupted && next < jobs.size() && static_cast<int>(im.active.size()) < im.jobs) {
      const std::size_t i = next++;
      auto s = std::make_shared<Session>(im, jobs[i], runs[i]);
      s->done = [&im, &launch_more, &interrupt, &next, &jobs, raw = s.get()] {
        std::erase_if(im.active, [raw](const auto& p) { return p.get() == raw; });
        launch_more();
        if (im.active.empty() && (im.interrupted || next >= jobs.size())) interrupt.cancel();
      };
      im.active.push_back(s);
      s->start();
    }
  };
  asio::post(im.ctx, launch_more);
  if (im.interrupted) interrupt.cancel();
  im.ctx.run();
  im.ctx.restart();
  return runs;
}

}  // namespace archmatrix::exec
