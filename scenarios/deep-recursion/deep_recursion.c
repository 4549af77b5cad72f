/* deep-recursion: call stack exhaustion in threads, reported as such.
 *
 * Seed 001 ("Debugging a rustc segfault on illumos"): rustc's recursive
 * descent parser needed more than 1 MiB but less than 2 MiB of stack for a
 * generated file. Threads have 2 MiB stacks by default, but stacker handed the
 * parser a 1 MiB segment (256 pages + 2 guard pages = 1028 KiB mapped), the
 * parser ran into the 4 KiB guard page below it while creating a 1312-byte
 * frame, and the process died of a bare SIGSEGV, with no message saying that
 * the call stack was exhausted.
 *
 *   stack-1mib            a thread with a 1 MiB stack recurses with ~1.3 KB
 *                         frames to a depth that needs ~1.5 MiB: exhausted
 *                         everywhere (the seed's crash), and reported as "call
 *                         stack exhausted at depth D of a 1024 KiB stack".
 *   stack-2mib            the same recursion in a 2 MiB thread: fits everywhere.
 *   hardcoded-guard-4096  a hand-made thread stack (mmap + mprotect of a guard
 *                         below it, as coroutine libraries and stacker do) whose
 *                         guard is a hard-coded 4096 bytes. The kernel rounds
 *                         mprotect's length up to whole pages, so with 16K or
 *                         64K pages the "guard" swallows the bottom 12 or 60 KiB
 *                         of the stack, and a workload that fits the stack the
 *                         program believes it has runs into it.
 *   guard-pagesize        the same stack with a guard of sysconf(_SC_PAGESIZE)
 *                         bytes (the fix): fits everywhere, and an overflow
 *                         lands exactly in the guard.
 *
 * Stack exhaustion is caught per thread: each thread installs an alternate
 * signal stack (sigaltstack), the process-wide SIGSEGV handler runs on it
 * (SA_ONSTACK), records the fault address and siglongjmp()s back to the
 * thread's start function, which reports the depth reached. A fault that is
 * not an armed recursion is not swallowed: the handler restores the default
 * action and the process dies as it would have.
 *
 * Usage: deep_recursion (no arguments). Exit 0 when every check passed. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "archmatrix_check.h"

/* Bytes of locals per recursion level: with the return address and saved
 * registers a frame is ~1.3 KB, like the seed's 1312-byte parser frame. */
enum { FRAME_LOCALS = 1280 };
/* What the workload needs: "more than 1 MiB, less than 2 MiB" (seed 001). */
enum { NEEDED_BYTES = 3 << 19 /* 1.5 MiB */ };

/* The assumption under test in hardcoded-guard-4096: "a guard page is 4096
 * bytes". Deliberately hard-coded, because that is the bug; it is NOT the
 * page size (that comes from sysconf). */
enum { NAIVE_GUARD_BYTES = 4096 };
/* The hand-made stack: 256 KiB, a multiple of every page size (4K, 16K, 64K),
 * of which the workload uses all but HEADROOM (left for the thread descriptor
 * and TLS, which glibc puts at the top of a user-supplied stack, and for the
 * thread's start-up frames). */
enum { HANDMADE_STACK_BYTES = 256 << 10, HEADROOM_BYTES = 8 << 10 };

/* ---- per-thread probe state, read by the SIGSEGV handler ---------------- */

struct probe {
  sigjmp_buf env;
  volatile sig_atomic_t armed;
  volatile unsigned deepest;        /* deepest level entered */
  volatile uintptr_t fault_addr;    /* si_addr of the caught fault */
  volatile int fault_code;          /* si_code */
  volatile uintptr_t frame_at[4];   /* address of `frame` at levels 1..3 */
};
static __thread struct probe tls_probe;

static void on_fault(int sig, siginfo_t *si, void *uctx) {
  (void)uctx;
  if (!tls_probe.armed) {
    /* Not ours: die of it, as the program would have without us. Returning
     * re-executes the faulting access with the default action in place. */
    signal(sig, SIG_DFL);
    return;
  }
  tls_probe.armed = 0;
  tls_probe.fault_addr = (uintptr_t)si->si_addr;
  tls_probe.fault_code = si->si_code;
  siglongjmp(tls_probe.env, 1);
}

/* One level of the recursive descent. noinline + a volatile array keep every
 * level a real frame; the work after the call keeps it from being a tail
 * call. frame[0] is the lowest address of the frame's locals. */
__attribute__((noinline)) static unsigned recurse(unsigned depth, unsigned target) {
  volatile char frame[FRAME_LOCALS];
  frame[0] = (char)depth;
  frame[FRAME_LOCALS - 1] = (char)(depth >> 8);
  tls_probe.deepest = depth;
  if (depth < 4) tls_probe.frame_at[depth] = (uintptr_t)&frame[0];
  if (depth >= target) return (unsigned char)frame[0];
  return recurse(depth + 1, target) + (unsigned char)frame[FRAME_LOCALS - 1];
}

/* ---- one thread, one recursion ---------------------------------------- */

struct run {
  unsigned target;        /* levels to reach; UINT_MAX = until the stack ends */
  /* results */
  int setup_errno;        /* an error before the recursion started, or 0 */
  const char *setup_what;
  int completed;          /* reached target */
  unsigned deepest;
  uintptr_t fault_addr;
  int fault_code;
  uintptr_t stack_lo;     /* lowest usable address, per pthread_getattr_np */
  size_t stack_size;      /* usable size, per pthread_getattr_np */
  size_t guard_size;
  uintptr_t frame_at[4];
};

static size_t altstack_bytes(void) {
  long min = sysconf(_SC_MINSIGSTKSZ);
  size_t want = 64 << 10;
  if (min > 0 && (size_t)min * 4 > want) want = (size_t)min * 4;
  return want;
}

static void *recursion_thread(void *arg) {
  struct run *r = arg;
  /* The handler needs a stack of its own: the thread's is exhausted. */
  const size_t alt = altstack_bytes();
  stack_t ss = {.ss_sp = malloc(alt), .ss_size = alt, .ss_flags = 0};
  if (ss.ss_sp == NULL || sigaltstack(&ss, NULL) != 0) {
    r->setup_errno = errno ? errno : ENOMEM;
    r->setup_what = "sigaltstack";
    free(ss.ss_sp);
    return NULL;
  }
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void *lo = NULL;
    size_t size = 0, guard = 0;
    pthread_attr_getstack(&attr, &lo, &size);
    pthread_attr_getguardsize(&attr, &guard);
    r->stack_lo = (uintptr_t)lo;
    r->stack_size = size;
    r->guard_size = guard;
    pthread_attr_destroy(&attr);
  }
  memset((void *)tls_probe.frame_at, 0, sizeof tls_probe.frame_at);
  tls_probe.deepest = 0;
  if (sigsetjmp(tls_probe.env, 1) == 0) {
    tls_probe.armed = 1;
    recurse(1, r->target);
    tls_probe.armed = 0;
    r->completed = 1;
  } else {
    r->completed = 0;
    r->fault_addr = tls_probe.fault_addr;
    r->fault_code = tls_probe.fault_code;
  }
  r->deepest = tls_probe.deepest;
  for (int i = 0; i < 4; i++) r->frame_at[i] = tls_probe.frame_at[i];
  stack_t off = {.ss_flags = SS_DISABLE};
  sigaltstack(&off, NULL);
  free(ss.ss_sp);
  return NULL;
}

/* Runs the recursion in a new thread: with a glibc-made stack of
 * `stack_bytes` (stack_addr NULL) or on the caller's memory. 0 or an errno. */
static int run_thread(struct run *r, size_t stack_bytes, void *stack_addr) {
  pthread_attr_t attr;
  pthread_t t;
  int rc = pthread_attr_init(&attr);
  if (rc == 0)
    rc = stack_addr ? pthread_attr_setstack(&attr, stack_addr, stack_bytes)
                    : pthread_attr_setstacksize(&attr, stack_bytes);
  if (rc == 0) rc = pthread_create(&t, &attr, recursion_thread, r);
  pthread_attr_destroy(&attr);
  if (rc != 0) return rc;
  pthread_join(t, NULL);
  return 0;
}

/* Frame size as measured in a thread: the distance between two levels. */
static long frame_bytes(const struct run *r) {
  if (r->frame_at[1] == 0 || r->frame_at[2] == 0) return 0;
  return (long)(r->frame_at[1] - r->frame_at[2]);
}

static const char *code_name(int code) {
  switch (code) {
    case SEGV_MAPERR: return "SEGV_MAPERR";
    case SEGV_ACCERR: return "SEGV_ACCERR";
    case SI_KERNEL: return "SI_KERNEL";
    default: return "si_code?";
  }
}

/* ---- the mapping that holds an address, from /proc/self/maps ----------- */

struct region {
  uintptr_t start, end;
  char perms[5];
};

static int region_of(uintptr_t addr, struct region *out) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return 0;
  char line[512];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    unsigned long long s, e;
    char perms[5];
    if (sscanf(line, "%llx-%llx %4s", &s, &e, perms) == 3 && addr >= s && addr < e) {
      out->start = (uintptr_t)s;
      out->end = (uintptr_t)e;
      memcpy(out->perms, perms, sizeof perms);
      found = 1;
    }
  }
  fclose(f);
  return found;
}

/* ---- stack-1mib / stack-2mib ------------------------------------------- */

static void glibc_stack_check(const char *name, size_t stack_bytes, unsigned target, long frame) {
  struct run r = {.target = target};
  const int rc = run_thread(&r, stack_bytes, NULL);
  const size_t kib = stack_bytes >> 10;
  if (rc != 0 || r.setup_errno) {
    check(name, 0, "could not run a thread with a %zu KiB stack: %s: %s", kib,
          rc ? "pthread_create" : r.setup_what, strerror(rc ? rc : r.setup_errno));
    return;
  }
  const long f = frame_bytes(&r) > 0 ? frame_bytes(&r) : frame;
  if (r.completed) {
    check(name, 1,
          "recursion reached depth %u (about %ld KiB at %ld bytes per frame) on a %zu KiB stack "
          "(usable %zu KiB per pthread_getattr_np, guard %zu bytes)",
          r.deepest, (long)r.deepest * f >> 10, f, kib, r.stack_size >> 10, r.guard_size);
    return;
  }
  const uintptr_t lo = r.stack_lo;
  const int in_guard = r.fault_addr < lo && r.fault_addr + r.guard_size >= lo;
  check(name, 0,
        "call stack exhausted at depth %u of a %zu KiB stack (needed depth %u: %d KiB at %ld bytes "
        "per frame; reached about %ld KiB); %s at 0x%" PRIxPTR ", %" PRIuPTR " bytes below the "
        "stack's lowest usable address 0x%" PRIxPTR "%s (usable %zu KiB, guard %zu bytes)",
        r.deepest, kib, target, NEEDED_BYTES >> 10, f, (long)r.deepest * f >> 10,
        code_name(r.fault_code), r.fault_addr, lo - r.fault_addr, lo,
        in_guard ? ", in the guard page" : "", r.stack_size >> 10, r.guard_size);
}

/* ---- hardcoded-guard-4096 / guard-pagesize ------------------------------ */

/* A hand-made thread stack as a coroutine library makes it:
 *
 *     base = mmap(guard + stack);  mprotect(base, guard, PROT_NONE);
 *     thread stack = [base + guard, base + guard + stack)
 *
 * Then (1) a workload that needs all of the stack but HEADROOM must fit, and
 * (2) a runaway recursion must fault inside [base, base + guard): in the
 * guard the program made, not in memory it counts as stack. */
static void handmade_stack_check(const char *name, size_t guard, const char *guard_origin,
                                 long frame) {
  const long page = sysconf(_SC_PAGESIZE);
  const size_t map_len = guard + HANDMADE_STACK_BYTES;
  char *base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    check(name, 0, "mmap(%zu bytes) for the hand-made stack: %s", map_len, strerror(errno));
    return;
  }
  char *stack = base + guard;
  const uintptr_t b = (uintptr_t)base;

  if (mprotect(base, guard, PROT_NONE) != 0) {
    const int err = errno;
    check(name, 0,
          "mprotect(base 0x%" PRIxPTR ", %zu (%s), PROT_NONE) = %s (%s): the stack has no guard at "
          "all (page size %ld)",
          b, guard, guard_origin, strerrorname_np(err) ? strerrorname_np(err) : "?", strerror(err), page);
    munmap(base, map_len);
    return;
  }
  /* What the kernel really protected. */
  struct region g = {0};
  const int have_region = region_of(b, &g);
  const size_t protected_bytes = have_region ? (size_t)(g.end - g.start) : 0;
  char guard_text[256];
  snprintf(guard_text, sizeof guard_text,
           "mprotect(base 0x%" PRIxPTR ", %zu (%s), PROT_NONE) = 0; the kernel protected %zu bytes "
           "(0x%" PRIxPTR "-0x%" PRIxPTR " %s in /proc/self/maps; page size %ld)",
           b, guard, guard_origin, protected_bytes, g.start, g.end, have_region ? g.perms : "?", page);

  /* (1) The workload: all of the stack but HEADROOM. */
  const unsigned fit_target = (unsigned)((HANDMADE_STACK_BYTES - HEADROOM_BYTES) / frame);
  struct run fit = {.target = fit_target};
  int rc = run_thread(&fit, HANDMADE_STACK_BYTES, stack);
  if (rc != 0 || fit.setup_errno) {
    check(name, 0, "could not run a thread on the hand-made stack: %s: %s",
          rc ? "pthread_create" : fit.setup_what, strerror(rc ? rc : fit.setup_errno));
    munmap(base, map_len);
    return;
  }
  if (!fit.completed) {
    const uintptr_t s = (uintptr_t)stack;
    const int in_stack = fit.fault_addr >= s;
    check(name, 0,
          "call stack exhausted at depth %u of a %d KiB stack (needed depth %u: %d KiB at %ld bytes "
          "per frame); %s at 0x%" PRIxPTR ", %" PRIuPTR " bytes %s the stack's base 0x%" PRIxPTR
          "%s; %s",
          fit.deepest, HANDMADE_STACK_BYTES >> 10, fit_target, (HANDMADE_STACK_BYTES - HEADROOM_BYTES) >> 10,
          frame, code_name(fit.fault_code), fit.fault_addr,
          in_stack ? fit.fault_addr - s : s - fit.fault_addr, in_stack ? "above" : "below", s,
          in_stack && protected_bytes > guard
              ? ": inside the memory the program counts as stack, because the guard covers whole pages"
              : "",
          guard_text);
    munmap(base, map_len);
    return;
  }

  /* (2) Runaway recursion: where does it stop? */
  struct run runaway = {.target = UINT_MAX};
  rc = run_thread(&runaway, HANDMADE_STACK_BYTES, stack);
  if (rc != 0 || runaway.setup_errno || runaway.completed) {
    check(name, 0, "the runaway recursion on the hand-made stack %s",
          runaway.completed ? "completed, which it cannot" : "could not be run");
    munmap(base, map_len);
    return;
  }
  const int in_guard = runaway.fault_addr >= b && runaway.fault_addr < b + guard;
  check(name, in_guard,
        "a workload of depth %u (%d KiB at %ld bytes per frame) fit the %d KiB stack; a runaway "
        "recursion was stopped at depth %u by a fault at 0x%" PRIxPTR " (%s), %s the %zu-byte guard "
        "0x%" PRIxPTR "-0x%" PRIxPTR "; %s",
        fit.deepest, (HANDMADE_STACK_BYTES - HEADROOM_BYTES) >> 10, frame, HANDMADE_STACK_BYTES >> 10,
        runaway.deepest, runaway.fault_addr, code_name(runaway.fault_code),
        in_guard ? "inside" : "NOT inside", guard, b, b + guard, guard_text);
  munmap(base, map_len);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const long page = sysconf(_SC_PAGESIZE);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0) {
    const char *names[] = {"stack-1mib", "stack-2mib", "hardcoded-guard-4096", "guard-pagesize"};
    for (int i = 0; i < 4; i++) check(names[i], 0, "sigaction(SIGSEGV): %s", strerror(errno));
    return 1;
  }

  /* Calibrate: how big is one level here (arch, compiler)? */
  struct run cal = {.target = 3};
  long frame = 0;
  if (run_thread(&cal, 1 << 20, NULL) == 0 && cal.completed) frame = frame_bytes(&cal);
  if (frame <= 0 || frame > 4 * FRAME_LOCALS) frame = FRAME_LOCALS + 32; /* cannot measure: estimate */
  const unsigned target = (unsigned)((NEEDED_BYTES + frame - 1) / frame);
  printf("deep-recursion: %zu-bit pointers, page size %ld (sysconf); one level is %ld bytes "
         "(%d bytes of locals); %d KiB of recursion = depth %u\n",
         sizeof(void *) * 8, page, frame, FRAME_LOCALS, NEEDED_BYTES >> 10, target);

  glibc_stack_check("stack-1mib", 1 << 20, target, frame);
  glibc_stack_check("stack-2mib", 2 << 20, target, frame);
  handmade_stack_check("hardcoded-guard-4096", NAIVE_GUARD_BYTES, "NAIVE_GUARD_BYTES, hard-coded", frame);
  handmade_stack_check("guard-pagesize", (size_t)page, "sysconf(_SC_PAGESIZE)", frame);
  return check_failures() ? 1 : 0;
}
