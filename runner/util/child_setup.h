#pragma once
// What every child archmatrix starts (apt-get, dpkg-source, make, cmake,
// QEMU) does between fork and exec, as a Boost.Process v2 initializer:
// - its own process group, so a terminal's Ctrl-C reaches only archmatrix,
//   which then kills the whole group (make -j and its compilers, QEMU and
//   anything it forked) and still writes its report;
// - death with archmatrix (PR_SET_PDEATHSIG), so not even a SIGKILL of the
//   runner leaves a make or a QEMU behind. The signal is armed only for a
//   parent that is still alive: if it died before prctl, getppid() no longer
//   names it and the child ends at once.

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>

#include "util/boost_process.h"

namespace archmatrix::util {

struct ChildSetup {
  pid_t parent = ::getpid();  // taken in the parent, before the fork

  template <class Launcher>
  boost::process::v2::error_code on_exec_setup(Launcher&, const boost::process::v2::filesystem::path&,
                                               const char* const*) {
    namespace bp = boost::process::v2;
    if (::setpgid(0, 0) != 0) return bp::error_code(errno, bp::system_category());
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return bp::error_code(errno, bp::system_category());
    if (::getppid() != parent) ::_exit(127);  // the parent is already gone: nobody would kill us
    // SIGINT/SIGTERM handlers become SIG_DFL at exec; an ignored SIGINT (a
    // runner started in the background) would stay ignored, so reset it.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    return {};
  }
};

}  // namespace archmatrix::util
