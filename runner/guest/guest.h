#pragma once
// A running guest reached through the data channel (docs/protocol.md, "Data
// channel"; ARCHITECTURE.md, "one seam for every kind of guest"): started from
// a QEMU argv whose initramfs plans a channel, then put files, run a program
// and stream its output, close. exec is the first client; repro, shell and
// restored snapshots are meant to use the same class.
//
// One thread, poll(): the socket is read continuously and output is written
// to the caller's sinks synchronously before more is read, so a slow reader
// slows the guest (the transport's back-pressure) instead of growing memory.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace archmatrix::guest {

/// Something went wrong on the host's side or the guest died: not the
/// program's doing. The message is one line.
class GuestError : public util::Error {
 public:
  using util::Error::Error;
};

/// A host directory the guest can mount (virtio-9p, read-only on QEMU's side too).
struct Share {
  std::filesystem::path host_dir;
  std::string tag;  ///< mount_tag: [A-Za-z0-9_], at most 31 characters
};

struct StartOptions {
  std::vector<std::string> qemu_argv;   ///< without the channel devices; start() adds them
  std::filesystem::path work_dir;        ///< private directory for the logs (and the sockets, unless socket_dir)
  /// Where the unix sockets go when work_dir is too deep for one (a socket
  /// path has at most 107 bytes); empty: work_dir.
  std::filesystem::path socket_dir;
  std::chrono::milliseconds boot_timeout{120000};
  std::string machine_kind;              ///< "pci" (x86 q35) or "mmio" (arm virt)
  std::string nonce;                     ///< the initramfs plan's nonce: facts() needs it
  std::vector<Share> shares;             ///< 9p devices; mounted later with Guest::mount
  /// A ready state saved by save_ready_state() with the same argv (only the
  /// work directory's paths and the shares' host directories may differ):
  /// QEMU restores it instead of booting, and start() sends the agent this
  /// run's clock, entropy and nonce (the facts are measured again).
  std::filesystem::path restore_from;
  /// Non-empty: the gdb port (kGdbPort) is a socket here that gdb-multiarch
  /// connects to (`target remote PATH`); else it leads nowhere. Every guest
  /// has the port, so a saved guest restores either way.
  std::filesystem::path gdb_socket;
};

/// The virtio-serial port gdbserver talks to gdb over (RunRequest::gdb).
inline constexpr const char* kGdbPort = "org.archmatrix.gdb";

struct RunRequest {
  std::vector<std::string> argv;  ///< argv[0] included
  std::string path;               ///< absolute path in the guest
  std::vector<std::string> env;   ///< K=V, added to the agent's default environment
  std::string cwd;                ///< empty: /tmp
  bool root = false;
  std::chrono::milliseconds timeout{0};  ///< 0: none
  int stdin_fd = -1;                     ///< forwarded until EOF; -1: EOF at once
  bool cores = false;                    ///< unlimited core size; the files are named in the result
  /// On a pseudo-terminal of rows x cols in the guest (stdin, stdout and
  /// stderr all on it; its output arrives as stdout), for an interactive shell.
  std::optional<std::pair<unsigned, unsigned>> tty;
  /// Polled about every 200 ms with a tty: a new size to pass on, or nullopt.
  std::function<std::optional<std::pair<unsigned, unsigned>>()> tty_resized;
  /// A byte that, read from stdin_fd, kills the program at once instead of
  /// being passed on (Ctrl-] for `shell`); -1: none.
  int escape_byte = -1;
  /// The program (`path`, argv[0]) is gdbserver: the agent inserts
  /// `--once --no-startup-with-shell <the kGdbPort device>` after argv[0]
  /// and gives the port to the run's user. StartOptions::gdb_socket must
  /// have been set.
  bool gdb = false;
};

struct RunResult {
  std::string status;  ///< exit | signal | timeout | error
  std::string value;   ///< exit code, signal number, 0, or the error text
  long long duration_ms = 0;
  /// Core files the job's processes dumped, as guest paths the agent named
  /// (only well-formed ones under its core directory; fetch them with get()).
  std::vector<std::string> cores;
  bool escaped = false;  ///< ended by RunRequest::escape_byte
};

/// The guest paths in an exit frame's `cores` field that are what the agent
/// writes (/tmp/.archmatrix-cores/core.<pid>.j<job>): anything else from the
/// guest is dropped, at most 8 are kept.
std::vector<std::string> valid_core_paths(std::string_view field);

/// Receives output bytes as they arrive.
using Sink = std::function<void(std::string_view)>;

/// The channel devices of QEMU for a socket path (kind "pci" or "mmio").
/// The channel's and the gdb port's QEMU devices; `gdb_socket` empty: the
/// gdb port leads nowhere (a null chardev).
std::vector<std::string> channel_qemu_args(const std::string& kind, const std::filesystem::path& socket,
                                           const std::filesystem::path& gdb_socket = {});

/// The first oops/panic header in a console log, or "" (none, or no file).
std::string crash_title_in(const std::filesystem::path& console);
/// The QEMU devices exporting `s` read-only (kind "pci" or "mmio"); `index`
/// numbers the fsdev ids.
std::vector<std::string> share_qemu_args(const std::string& kind, const Share& s, int index);

/// Set by SIGINT/SIGTERM handlers the caller installs; checked in every wait.
extern volatile std::sig_atomic_t g_interrupted;

class Guest {
 public:
  /// Boots QEMU and completes the handshake. Throws GuestError (boot timeout,
  /// QEMU exited, crash) with the console's crash title when there is one.
  static std::unique_ptr<Guest> start(const StartOptions& o);
  /// Boots `o` cold until the agent waits for its work on the channel, then
  /// saves the whole guest into state_file (QMP stop + migrate; the file
  /// appears only when complete) and ends QEMU. Every later start() with
  /// restore_from = state_file continues from that point. Throws GuestError.
  static void save_ready_state(const StartOptions& o, const std::filesystem::path& state_file);
  ~Guest();  ///< kills QEMU if it still runs

  /// Copies a host file into the guest (parents created) with mode.
  void put(const std::filesystem::path& host, const std::string& guest_path, unsigned mode);
  /// Mounts the share `tag` read-only at guest_path (made if missing), with
  /// the 9p cache mode `cache` ("": the agent's default). Throws GuestError
  /// with the guest's reason when it cannot.
  void mount(const std::string& tag, const std::string& guest_path, const std::string& cache = "");
  /// Copies a guest file to host_path (replaced only when the whole file
  /// arrived). Returns the guest's reason when it could not read the file
  /// (missing, not a regular file): the caller decides if that matters.
  /// Throws GuestError when the channel fails.
  std::optional<std::string> get(const std::string& guest_path, const std::filesystem::path& host_path);
  /// Creates a guest directory with mode (parents made).
  void put_dir(const std::string& guest_path, unsigned mode);
  /// Runs one program, streaming its output to out/err live.
  RunResult run(const RunRequest& r, const Sink& out, const Sink& err);
  /// Sends bye and waits (briefly) for QEMU to power off.
  void close();

  std::filesystem::path console_log() const;
  /// The agent's `facts` record from the console (docs/protocol.md, "Facts"),
  /// verified with the nonce; empty when there is none. Sent before the
  /// channel opens, so it is there once start() returned.
  std::map<std::string, std::string> facts() const;
  /// The first crash header on the console, or "".
  std::string crash_title() const;

  struct Impl;

 private:
  explicit Guest(std::unique_ptr<Impl> impl);
  static std::unique_ptr<Impl> launch(const StartOptions& o, bool monitor);
  std::unique_ptr<Impl> impl_;
};

}  // namespace archmatrix::guest
