#pragma once
// Ctrl-C and SIGTERM at any phase of a command. The handler never ends the
// process: it records the interrupt, kills (SIGKILL) the process group of
// every child registered here, and wakes whoever watches interrupt_fd(), so
// the command can stop starting work, write what it has and exit 130.
// Every child archmatrix starts runs in its own process group (ChildSetup in
// util/child_setup.h), so killing a group kills make -j and its compilers.

#include <sys/types.h>

namespace archmatrix::util {

/// Installs the SIGINT and SIGTERM handlers (once; later calls do nothing).
/// They stay installed for the rest of the process.
void install_interrupt_handlers();

/// True once SIGINT or SIGTERM arrived after install_interrupt_handlers().
bool interrupted();

/// A descriptor that becomes readable at the interrupt and stays readable
/// (for event loops). Valid after install_interrupt_handlers().
int interrupt_fd();

/// Throws util::Error("interrupted", kExitInterrupted) once interrupted; for
/// long sequential work between child processes.
void throw_if_interrupted();

/// Tests only: forget an earlier interrupt (the handlers stay).
void reset_interrupt_for_tests();

/// Registers a child's process group (its pid: ChildSetup makes it the
/// group leader) for the interrupt handler to kill. The caller must
/// unregister it while the child is still unreaped (waitid with WNOWAIT), so
/// the handler never signals a group whose id may have been reused. Returns
/// false if the table is full (the child is then only covered by its
/// parent-death signal). If the interrupt came before registration, kills
/// the group at once.
bool register_child_group(pid_t pgid);
void unregister_child_group(pid_t pgid);

}  // namespace archmatrix::util
