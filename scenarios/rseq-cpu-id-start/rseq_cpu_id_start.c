/* rseq-cpu-id-start: does the kernel rewrite rseq's cpu_id_start after a
 * context switch that did not migrate the thread?
 *
 * Seed 003 (LWN, "Restartable sequences, TCMalloc, and Hyrum's Law"): TCMalloc
 * overlays its per-CPU cache pointer on the thread's struct rseq so that
 * cpu_id_start holds the pointer's upper half, with the top bit set (never set
 * in a CPU number). It relies on the kernel storing the CPU number into
 * cpu_id_start on every return to user space after the thread was scheduled
 * out, which clears the top bit and tells TCMalloc that it was interrupted,
 * even without a migration. That was never documented (cpu_id_start is
 * read-only for user space), only observable. 6.19 stopped the redundant
 * stores (cpu_id_start is written only when the CPU changes), which broke
 * TCMalloc. The fix that followed (Gleixner, "RSEQ ABI V2") keeps the old
 * behaviour for registrations of the original 32-byte struct rseq (what
 * TCMalloc and glibc before 2.41 register) and gives the optimised behaviour
 * only to registrations larger than 32 bytes, aligned to the next power of two
 * of the kernel's feature size (AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN).
 *
 *   glibc-registration     the thread's own rseq area, registered by glibc
 *                          (2.36, Debian 12: 32 bytes), found through
 *                          __rseq_offset from the thread pointer. TCMalloc's
 *                          write (0x80000000 | n) into cpu_id_start, then a
 *                          context switch on the same CPU: 10 times usleep(),
 *                          10 times sched_yield() to a second thread pinned
 *                          to the same CPU. PASS when the kernel rewrote the
 *                          field after every switch (TCMalloc's assumption).
 *   extended-registration  the same with an area larger than 32 bytes, as
 *                          glibc 2.41+ registers on kernels whose feature size
 *                          exceeds 32: glibc's registration is dropped
 *                          (rseq(RSEQ_FLAG_UNREGISTER)) and a 64-byte,
 *                          64-byte-aligned area registered instead. Kernels
 *                          before 6.3 accept only 32 bytes (EINVAL; they have
 *                          no AT_RSEQ_FEATURE_SIZE): then there is no extended
 *                          mode to break, and the check says so and passes.
 *
 * Each experiment runs in a forked child whose results are in shared memory,
 * so a kernel that kills the thread for writing cpu_id_start (debug kernels,
 * or ABI V2's validation of the read-only fields) is reported, not fatal.
 * Informational: the same write followed by a plain system call and no
 * context switch (no kernel rewrites it then).
 *
 * Usage: rseq_cpu_id_start (no arguments). Exit 0 when every check passed. */
#define _GNU_SOURCE
#include <errno.h>
#include <gnu/libc-version.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archmatrix_check.h"

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27 /* Linux 6.3+: size of the kernel's struct rseq features */
#endif
#ifndef AT_RSEQ_ALIGN
#define AT_RSEQ_ALIGN 28 /* Linux 6.3+: required alignment of an extended area */
#endif

/* TCMalloc's marker: the top bit of cpu_id_start, never set in a CPU number. */
#define TCMALLOC_MARK UINT32_C(0x80000000)
/* The original struct rseq, what glibc 2.35..2.40 and TCMalloc register. */
enum { ORIG_RSEQ_SIZE = 32 };
/* The extended registration: bigger than 32 bytes, so an "ABI V2" kernel
 * selects its optimised mode. */
enum { EXT_RSEQ_SIZE = 64 };
enum { SLEEP_TRIES = 10, YIELD_TRIES = 10, CONTROL_TRIES = 10 };

/* The first two fields of struct rseq (uapi/linux/rseq.h); the kernel writes
 * both, user space may only read them. */
struct rseq_ids {
  volatile uint32_t cpu_id_start;
  volatile uint32_t cpu_id;
};

/* What a child measured: in a MAP_SHARED page, so it survives the child. */
struct outcome {
  int stage;                  /* how far the child got: 1 registered, 2 control, 3 sleep, 4 yield, 5 done */
  int unregister_errno;       /* extended: dropping glibc's registration, 0 = ok */
  uint32_t unregister_len;
  int register_errno;         /* extended: registering ours, 0 = ok */
  uint32_t rseq_len;
  uintptr_t area;
  uint32_t cpu;               /* the CPU the child is pinned to */
  uint32_t cpu_id_after_register;
  int control_tries;          /* tries with a plain syscall and no observed switch */
  int control_rewritten;      /* of control_tries */
  int sleep_switched, sleep_rewritten;
  int yield_switched, yield_rewritten;
  int unswitched_rewritten;   /* tries without an observed switch where it was rewritten anyway */
  uint32_t kept_value;        /* a value the kernel did not rewrite after a switch, if any */
  uint32_t rewritten_value;   /* a value the kernel wrote, if any */
  int partner_errno;
};

static long context_switches(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return -1;
  return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* ---- the second thread for sched_yield --------------------------------- */

static volatile int partner_stop;

static void *partner(void *arg) {
  cpu_set_t *set = arg;
  sched_setaffinity(0, sizeof *set, set);
  while (!partner_stop) sched_yield();
  return NULL;
}

/* Bound on sched_yield() calls per try: CFS (6.1) returns from a yield to
 * the same thread while the other one's vruntime is ahead, so one yield is
 * not always a switch; yielding until the switch counter moves is. */
enum { MAX_YIELDS = 200000 };

/* One try: TCMalloc's write, then `how` (0 = a plain syscall, 1 = usleep,
 * 2 = sched_yield until switched out); whether the thread was switched out,
 * and what the field holds afterwards. */
static void one_try(struct rseq_ids *ids, uint32_t n, int how, int *switched, uint32_t *after) {
  const long before = context_switches();
  ids->cpu_id_start = TCMALLOC_MARK | n;
  if (how == 0) {
    syscall(SYS_getppid);
  } else if (how == 1) {
    usleep(2000);
  } else {
    for (int k = 0; k < MAX_YIELDS; k++) {
      sched_yield();
      if (context_switches() != before) break;
    }
  }
  /* The switch count first, then the field: a switch after the count (an
   * involuntary one, on a busy host) would otherwise be counted against a
   * value read before it, and a kernel that rewrites on every switch would
   * look like one that kept the field. A switch after the count is not
   * counted, and the field read after it may only be rewritten, never
   * wrongly kept. */
  const long later = context_switches();
  *after = ids->cpu_id_start;
  *switched = before >= 0 && later > before;
}

static void tally(struct outcome *o, uint32_t after, int switched, int *sw, int *rw) {
  const int rewritten = (after & TCMALLOC_MARK) == 0;
  if (switched) {
    (*sw)++;
    if (rewritten) (*rw)++;
    else o->kept_value = after;
  } else if (rewritten) {
    o->unswitched_rewritten++;
  }
  if (rewritten) o->rewritten_value = after;
}

static void experiment(struct rseq_ids *ids, struct outcome *o) {
  /* Pin to the CPU we are on: a switch, never a migration. */
  unsigned cpu = 0;
  syscall(SYS_getcpu, &cpu, NULL, NULL);
  o->cpu = cpu;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
  uint32_t after;
  int switched;

  for (int i = 0; i < CONTROL_TRIES; i++) {
    one_try(ids, (uint32_t)i, 0, &switched, &after);
    if (switched) continue; /* something else ran meanwhile: not a control */
    o->control_tries++;
    if ((after & TCMALLOC_MARK) == 0) o->control_rewritten++;
  }
  o->stage = 2;
  for (int i = 0; i < SLEEP_TRIES; i++) {
    one_try(ids, (uint32_t)i, 1, &switched, &after);
    tally(o, after, switched, &o->sleep_switched, &o->sleep_rewritten);
  }
  o->stage = 3;
  pthread_t t;
  partner_stop = 0;
  const int rc = pthread_create(&t, NULL, partner, &set);
  if (rc != 0) {
    o->partner_errno = rc;
  } else {
    usleep(1000); /* let it start */
    for (int i = 0; i < YIELD_TRIES; i++) {
      one_try(ids, (uint32_t)i, 2, &switched, &after);
      tally(o, after, switched, &o->yield_switched, &o->yield_rewritten);
    }
    partner_stop = 1;
    pthread_join(t, NULL);
  }
  o->stage = 4;
  /* Leave the field as the kernel expects it. */
  ids->cpu_id_start = ids->cpu_id;
  o->stage = 5;
}

static struct rseq_ids *glibc_area(void) {
  return (struct rseq_ids *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/* ---- child bodies ---------------------------------------------------------- */

/* The length glibc registered its area with. __rseq_size is not it: Debian's
 * glibc 2.36 exports 20 (the size of the fields it supports) and registers
 * sizeof(struct rseq_area) = 32. Registering the same area again with the
 * same length gives EBUSY ("already registered"), any other length EINVAL. */
static uint32_t glibc_registered_len(void) {
  const uint32_t candidates[] = {ORIG_RSEQ_SIZE, __rseq_size};
  for (unsigned i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
    if (candidates[i] && syscall(SYS_rseq, glibc_area(), candidates[i], 0, RSEQ_SIG) != 0 && errno == EBUSY)
      return candidates[i];
  return 0;
}

static void child_glibc(struct outcome *o) {
  struct rseq_ids *ids = glibc_area();
  o->area = (uintptr_t)ids;
  o->rseq_len = glibc_registered_len();
  o->cpu_id_after_register = ids->cpu_id;
  o->stage = 1;
  experiment(ids, o);
}

static void child_extended(struct outcome *o) {
  if (__rseq_size > 0) {
    /* Drop glibc's registration of this thread (the kernel allows one per
     * thread); unregistering takes the registered length. */
    uint32_t len = glibc_registered_len();
    if (len == 0) len = ORIG_RSEQ_SIZE;
    o->unregister_len = len;
    if (syscall(SYS_rseq, glibc_area(), len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0) {
      o->unregister_errno = errno;
      return;
    }
  }
  const unsigned long feature = getauxval(AT_RSEQ_FEATURE_SIZE);
  const unsigned long align_aux = getauxval(AT_RSEQ_ALIGN);
  size_t len = EXT_RSEQ_SIZE;
  while (len < feature) len *= 2;
  size_t align = len;
  while (align < align_aux) align *= 2;
  void *area = NULL;
  if (posix_memalign(&area, align, len) != 0) {
    o->register_errno = ENOMEM;
    return;
  }
  memset(area, 0, len);
  o->area = (uintptr_t)area;
  o->rseq_len = (uint32_t)len;
  if (syscall(SYS_rseq, area, (uint32_t)len, 0, RSEQ_SIG) != 0) {
    o->register_errno = errno;
    return;
  }
  struct rseq_ids *ids = area;
  syscall(SYS_getppid); /* a return to user space: the kernel fills in the IDs */
  o->cpu_id_after_register = ids->cpu_id;
  o->stage = 1;
  experiment(ids, o);
}

/* Runs body in a child; 0 if it exited normally, else the signal or -1. */
static int run_child(void (*body)(struct outcome *), struct outcome *o, char *how, size_t n) {
  memset(o, 0, sizeof *o);
  fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    snprintf(how, n, "fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    body(o);
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    snprintf(how, n, "the child was killed by signal %d (%s) at stage %d", WTERMSIG(status),
             strsignal(WTERMSIG(status)), o->stage);
    return WTERMSIG(status);
  }
  how[0] = 0;
  return 0;
}

static const char *errname(int err) {
  const char *s = strerrorname_np(err);
  return s ? s : "?";
}

/* "rewrote cpu_id_start after 20 of 20 context switches without migration
 * (usleep 10 of 10, sched_yield to a second thread 10 of 10) ..." */
static int describe(const struct outcome *o, char *buf, size_t n) {
  const int sw = o->sleep_switched + o->yield_switched;
  const int rw = o->sleep_rewritten + o->yield_rewritten;
  int len = snprintf(buf, n,
                     "%s cpu_id_start after %d of %d context switches without migration on CPU %" PRIu32
                     " (usleep: %d of %d, sched_yield to a second thread on the same CPU: %d of %d%s)",
                     "the kernel rewrote", rw, sw, o->cpu, o->sleep_rewritten,
                     o->sleep_switched, o->yield_rewritten, o->yield_switched,
                     o->partner_errno ? "; no second thread" : "");
  if (len > 0 && (size_t)len < n && rw > 0)
    len += snprintf(buf + len, n - (size_t)len, "; 0x%08" PRIx32 " became 0x%08" PRIx32, TCMALLOC_MARK,
                    o->rewritten_value);
  if (len > 0 && (size_t)len < n && rw < sw)
    len += snprintf(buf + len, n - (size_t)len, "; left as written: 0x%08" PRIx32, o->kept_value);
  const int unswitched = SLEEP_TRIES - o->sleep_switched + (o->partner_errno ? 0 : YIELD_TRIES - o->yield_switched);
  if (len > 0 && (size_t)len < n && unswitched > 0)
    len += snprintf(buf + len, n - (size_t)len,
                    "; %d tries saw no context switch and are not counted (%d of them rewritten anyway)",
                    unswitched, o->unswitched_rewritten);
  if (len > 0 && (size_t)len < n)
    len += snprintf(buf + len, n - (size_t)len,
                    "; after a plain syscall without a switch: rewritten %d of %d", o->control_rewritten,
                    o->control_tries);
  return sw > 0 && rw == sw;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct utsname u;
  uname(&u);
  const unsigned long feature = getauxval(AT_RSEQ_FEATURE_SIZE);
  const unsigned long align = getauxval(AT_RSEQ_ALIGN);
  printf("rseq-cpu-id-start: kernel %s %s, %ld CPUs online; glibc %s: __rseq_size %u, __rseq_offset %td, "
         "__rseq_flags %u; AT_RSEQ_FEATURE_SIZE %lu, AT_RSEQ_ALIGN %lu%s\n",
         u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN), gnu_get_libc_version(), __rseq_size,
         __rseq_offset, __rseq_flags, feature, align,
         feature ? "" : " (absent: a kernel before 6.3, only the original 32-byte struct rseq)");

  struct outcome *o = mmap(NULL, sizeof *o, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (o == MAP_FAILED) {
    check("glibc-registration", 0, "mmap of shared memory: %s", strerror(errno));
    check("extended-registration", 0, "mmap of shared memory: %s", strerror(errno));
    return 1;
  }
  char how[256], text[1536];

  /* ---- glibc-registration ------------------------------------------------ */
  if (__rseq_size == 0) {
    check("glibc-registration", 0,
          "glibc did not register rseq for this thread (__rseq_size 0: the kernel lacks rseq, or "
          "GLIBC_TUNABLES=glibc.pthread.rseq=0)");
  } else {
    const int sig = run_child(child_glibc, o, how, sizeof how);
    if (sig != 0 || o->stage < 5) {
      check("glibc-registration", 0, "glibc's %" PRIu32 "-byte area at 0x%" PRIxPTR ": %s (stage %d)",
            o->rseq_len, o->area, sig ? how : "the experiment did not finish", o->stage);
    } else {
      const int ok = describe(o, text, sizeof text);
      check("glibc-registration", ok, "glibc's %" PRIu32 "-byte registration at 0x%" PRIxPTR
            " (thread pointer + __rseq_offset %td; __rseq_size %u): %s", o->rseq_len, o->area, __rseq_offset,
            __rseq_size, text);
    }
  }

  /* ---- extended-registration -------------------------------------------- */
  const int sig = run_child(child_extended, o, how, sizeof how);
  if (sig != 0) {
    check("extended-registration", 0,
          "a %" PRIu32 "-byte registration at 0x%" PRIxPTR ": %s, after writing 0x%08" PRIx32
          " into cpu_id_start (a kernel validating the read-only rseq fields kills the thread)",
          o->rseq_len, o->area, how, TCMALLOC_MARK);
  } else if (o->unregister_errno) {
    check("extended-registration", 0, "could not drop glibc's %" PRIu32 "-byte registration: rseq(UNREGISTER) = %s (%s)",
          o->unregister_len, errname(o->unregister_errno), strerror(o->unregister_errno));
  } else if (o->register_errno) {
    const int e = o->register_errno;
    /* No AT_RSEQ_FEATURE_SIZE: a kernel from before extensible rseq (6.3),
     * which only ever accepted 32 bytes. There is no extended mode, so
     * nothing to break: every registration is the original one. */
    const int refused_as_documented = e == EINVAL && feature == 0;
    char why[160];
    if (refused_as_documented)
      snprintf(why, sizeof why, "%s", "");
    else if (feature)
      snprintf(why, sizeof why, ": this kernel advertises AT_RSEQ_FEATURE_SIZE %lu and AT_RSEQ_ALIGN %lu, "
               "so it should accept it", feature, align);
    else if (e == ENOSYS)
      snprintf(why, sizeof why, ": no rseq system call (a kernel without CONFIG_RSEQ, or qemu-user)");
    else
      snprintf(why, sizeof why, ": unexpected");
    check("extended-registration", refused_as_documented,
          "rseq(0x%" PRIxPTR ", %" PRIu32 ", 0, RSEQ_SIG) = %s (%s)%s%s", o->area, o->rseq_len, errname(e),
          strerror(e),
          refused_as_documented
              ? ": this kernel has no AT_RSEQ_FEATURE_SIZE and accepts only the original 32-byte struct "
                "rseq (extensible rseq came in 6.3), so every registration gets the behaviour "
                "glibc-registration measured; there is no extended mode to differ"
              : "",
          why);
  } else if (o->stage < 5) {
    check("extended-registration", 0, "a %" PRIu32 "-byte registration: the experiment did not finish (stage %d)",
          o->rseq_len, o->stage);
  } else {
    const int ok = describe(o, text, sizeof text);
    check("extended-registration", ok,
          "glibc's registration dropped (rseq UNREGISTER, %" PRIu32 " bytes), a %" PRIu32 "-byte area "
          "registered at 0x%" PRIxPTR " (cpu_id %" PRIu32 " after registration): %s%s",
          o->unregister_len, o->rseq_len, o->area, o->cpu_id_after_register, text,
          ok ? ""
             : ": this kernel updates cpu_id_start only when the CPU changes for an area larger than 32 "
               "bytes (the 6.19 optimisation, kept for RSEQ ABI V2 registrations), so TCMalloc's "
               "interruption signal never comes");
  }
  return check_failures() ? 1 : 0;
}
