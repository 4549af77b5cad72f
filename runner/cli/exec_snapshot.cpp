#include "cli/exec_snapshot.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "exec/qemu_command.h"
#include "guest/guest.h"
#include "prepare/cell_image.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace archmatrix::cli {

namespace fs = std::filesystem;

namespace {

// 2: every guest has the gdb port beside the channel (guest::channel_qemu_args).
constexpr const char* kFormat = "archmatrix-ready-state-2";
constexpr const char* kInitrdPlaceholder = "@INITRD@";

// Which QEMU binary argv[0] names: a new QEMU (another version) is a new key.
std::string binary_identity(const std::string& program) {
  fs::path path = program;
  if (path.filename() == path) {
    const char* env = ::getenv("PATH");
    std::string dirs = env ? env : "/usr/bin:/bin";
    for (std::size_t at = 0; at <= dirs.size();) {
      const std::size_t end = std::min(dirs.find(':', at), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(at, end - at)) / program;
      if (::access(candidate.c_str(), X_OK) == 0) {
        path = candidate;
        break;
      }
      at = end + 1;
    }
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw util::Error("cannot find the QEMU binary " + program);
  return fmt::format("{} {} {}.{}", fs::canonical(path).string(), st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

std::vector<std::string> argv_for(const ReadyStateInputs& in, const fs::path& initrd) {
  return exec::qemu_argv(*in.cell, {in.kernel_image, initrd, in.qemu_dir, in.accel});
}

}  // namespace

std::string ready_state_key(const ReadyStateInputs& in) {
  std::string text = kFormat;
  const auto argv = argv_for(in, kInitrdPlaceholder);
  text += "\nqemu " + binary_identity(argv.at(0));
  for (const auto& a : argv) text += "\nargv " + a;
  text += "\nmachine " + in.machine_kind;
  text += "\nkernel " + (in.kernel_sha256.empty() ? util::sha256_file(in.kernel_image) : in.kernel_sha256);
  text += "\nagent " + util::sha256_file(in.agent);
  for (const auto& m : in.modules) text += "\nmodule " + m.filename().string() + " " + util::sha256_file(m);
  return util::sha256_hex(text);
}

ReadyState ready_state(const fs::path& cache, const ReadyStateInputs& in,
                       const std::function<void(std::string_view)>& log) {
  const std::string key = ready_state_key(in);
  const fs::path root = cache / "snapshots";
  fs::create_directories(root);
  const fs::path entry = root / key.substr(0, 32);
  ReadyState rs{entry / "initrd.img", entry / "state", false};
  util::FileLock lock(root / (key.substr(0, 32) + ".lock"));
  if (util::directory_complete(entry, key)) return rs;

  log(fmt::format("{}: booting once to save a ready state (later execs restore it)", in.cell->id));
  const fs::path work = root / (key.substr(0, 32) + ".tmp");
  fs::remove_all(work);
  fs::create_directories(work);
  // QEMU's sockets and logs live apart, in a short private path (a unix
  // socket's path is limited to 107 bytes; the cache may be deep).
  const char* tmpdir = ::getenv("TMPDIR");
  std::string t = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/archmatrix-save-XXXXXX";
  if (!::mkdtemp(t.data())) throw util::Error("cannot create a directory like " + t);
  const fs::path run_dir = t;
  const fs::path made = prepare::write_channel_image(in.agent, in.modules, prepare::make_nonce(), work);
  fs::rename(made, work / "initrd.img");
  fs::create_directories(run_dir / "empty");
  guest::StartOptions so;
  so.qemu_argv = argv_for(in, work / "initrd.img");
  so.work_dir = run_dir;
  so.machine_kind = in.machine_kind;
  so.boot_timeout = in.boot_timeout;
  so.shares.push_back({run_dir / "empty", kCwdTag});
  try {
    guest::Guest::save_ready_state(so, work / "state");
  } catch (...) {
    std::error_code ec;
    fs::remove_all(work, ec);
    fs::remove_all(run_dir, ec);
    throw;
  }
  // The boot's console stays in the entry, for whoever wonders what was saved.
  std::error_code ec;
  fs::copy_file(run_dir / "console.log", work / "boot-console.log", ec);
  fs::remove_all(run_dir, ec);
  util::publish_directory(work, entry, key);
  rs.made_now = true;
  return rs;
}

void discard_ready_state(const ReadyState& s) {
  const fs::path entry = s.state.parent_path();
  std::error_code ec;
  util::FileLock lock(entry.parent_path() / (entry.filename().string() + ".lock"));
  fs::remove_all(entry, ec);
}

}  // namespace archmatrix::cli
