/* page-size-assumption: an allocator built for 4 KiB pages.
 *
 * Seed 000 (rustfs on a Raspberry Pi 5): jemalloc, built expecting 4 KB pages,
 * stops at start-up on a 16 KB-page kernel with "<jemalloc>: Unsupported
 * system page size": its page size is fixed at build time (LG_PAGE), and at
 * initialisation it compares it with the running kernel's (pages_boot():
 * os_page > PAGE is fatal). Seed 004 ("Pagesize"): "the process has hardcoded
 * page size in code", "arm64 may have 4k, 16k or 64k pages"; the fix is
 * "long page_size = sysconf(_SC_PAGESIZE);", not a PAGE_SIZE define of 4096.
 *
 * This program is such an allocator, in miniature. It carves a 64 KiB chunk
 * (16 of its 4096-byte "pages"; 64 KiB is a multiple of every page size) and
 * does what allocators do with page arithmetic:
 *
 *   startup-page-check  jemalloc's start-up test: the running page size
 *                       (sysconf) must not exceed the compiled one (4096).
 *   mprotect-4096       a guard "page" between runs: mprotect(chunk + 4096,
 *                       4096, PROT_NONE); the guard must fault and its
 *                       neighbours must not. With 16K/64K pages the address is
 *                       not page-aligned: EINVAL, no guard at all.
 *   munmap-4096         release one "page": munmap(chunk + 4 * 4096, 4096);
 *                       that page must be gone and pages 3 and 5..7 (live
 *                       allocations) intact. With 16K pages offset 16384 is
 *                       aligned and the kernel unmaps a whole page, i.e. the
 *                       program's pages 4..7: live data vanish (SIGSEGV on the
 *                       next access). With 64K pages: EINVAL, nothing released.
 *   madvise-4096        purge one "page" as jemalloc purges dirty pages:
 *                       madvise(chunk + 8 * 4096, 4096, MADV_DONTNEED); only
 *                       that page may read back as zero. With 16K pages the
 *                       kernel discards a whole page: the live pages 9..11 are
 *                       silently zeroed. With 64K pages: EINVAL.
 *   sysconf-page-size   the fix: the same four operations with the page size
 *                       from sysconf(_SC_PAGESIZE). Passes everywhere.
 *
 * Usage: page_size_assumption (no arguments). Exit 0 when every check passed. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "archmatrix_check.h"

/* The assumption under test, as the allocator was built: a page is 2^12 =
 * 4096 bytes (jemalloc's LG_PAGE, fixed by configure). Deliberately hard-
 * coded, because that is the bug; the real page size comes from sysconf. */
enum { ALLOCATOR_LG_PAGE = 12, ALLOCATOR_PAGE = 1 << ALLOCATOR_LG_PAGE };
/* One chunk is 16 of the allocator's pages. */
enum { CHUNK_PAGES = 16 };

/* ---- probing memory without dying ---------------------------------------- */

static sigjmp_buf fault_env;
static volatile sig_atomic_t fault_armed;

static void on_fault(int sig, siginfo_t *si, void *uctx) {
  (void)si;
  (void)uctx;
  if (!fault_armed) {
    signal(sig, SIG_DFL); /* not ours: die of it */
    return;
  }
  fault_armed = 0;
  siglongjmp(fault_env, 1);
}

/* Reads one byte: 1 and *out on success, 0 if the access faulted. */
static int probe_read(const volatile unsigned char *p, unsigned char *out) {
  if (sigsetjmp(fault_env, 1) != 0) return 0;
  fault_armed = 1;
  *out = *p;
  fault_armed = 0;
  return 1;
}

/* ---- the allocator's chunk --------------------------------------------------- */

/* Every page i of the chunk is filled with the byte 0xa0 + i (a live
 * allocation each). */
static unsigned char *chunk_new(size_t page) {
  const size_t len = CHUNK_PAGES * page;
  unsigned char *c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (c == MAP_FAILED) return NULL;
  for (size_t i = 0; i < CHUNK_PAGES; i++) memset(c + i * page, 0xa0 + (int)i, page);
  return c;
}

/* Which of the chunk's pages (other than `expect_gone`) are no longer intact:
 * a fault, or bytes that differ from the fill. Writes a list like
 * "5 (SIGSEGV), 6 (SIGSEGV)" or "9 (reads 0x00)" into buf; returns the count. */
static int damaged_pages(const unsigned char *c, size_t page, int expect_gone, char *buf, size_t n) {
  int damaged = 0;
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < CHUNK_PAGES; i++) {
    if (i == expect_gone) continue;
    unsigned char first = 0, last = 0;
    const int ok1 = probe_read(c + (size_t)i * page, &first);
    const int ok2 = ok1 && probe_read(c + (size_t)i * page + page - 1, &last);
    const unsigned char want = (unsigned char)(0xa0 + i);
    if (ok1 && ok2 && first == want && last == want) continue;
    damaged++;
    int w;
    if (!ok1 || !ok2)
      w = snprintf(buf + len, n - len, "%s%d (SIGSEGV)", len ? ", " : "", i);
    else
      w = snprintf(buf + len, n - len, "%s%d (reads 0x%02x, wrote 0x%02x)", len ? ", " : "", i,
                   first != want ? first : last, want);
    if (w > 0 && (size_t)w < n - len) len += (size_t)w;
  }
  return damaged;
}

static const char *errname(int err) {
  const char *s = strerrorname_np(err);
  return s ? s : "?";
}

/* ---- the three page operations, with a given idea of the page size ----- */

/* Guard page at index 1: it must fault, pages 0 and 2 must not. */
static int op_mprotect(size_t page, const char *label, char *msg, size_t n) {
  unsigned char *c = chunk_new(page);
  if (!c) return snprintf(msg, n, "mmap of the chunk failed: %s", strerror(errno)), 0;
  unsigned char *guard = c + page;
  int ok = 0;
  if (mprotect(guard, page, PROT_NONE) != 0) {
    const int err = errno;
    snprintf(msg, n,
             "mprotect(chunk + %zu = 0x%" PRIxPTR ", %zu, PROT_NONE) = %s (%s): the address is not a "
             "multiple of the %ld-byte page, so the allocator has no guard page at all (%s)",
             page, (uintptr_t)guard, page, errname(err), strerror(err), sysconf(_SC_PAGESIZE), label);
  } else {
    unsigned char b;
    const int guard_faults = !probe_read(guard, &b) && !probe_read(guard + page - 1, &b);
    char damaged[512];
    const int d = damaged_pages(c, page, 1, damaged, sizeof damaged);
    ok = guard_faults && d == 0;
    snprintf(msg, n,
             "mprotect(chunk + %zu = 0x%" PRIxPTR ", %zu, PROT_NONE) = 0; the guard %s; %s%s (%s)", page,
             (uintptr_t)guard, page, guard_faults ? "faults" : "does NOT fault",
             d ? "pages made inaccessible with it: " : "every other page intact", d ? damaged : "", label);
  }
  munmap(c, CHUNK_PAGES * page);
  return ok;
}

/* Release page 4: it must be gone, every other page intact. */
static int op_munmap(size_t page, const char *label, char *msg, size_t n) {
  unsigned char *c = chunk_new(page);
  if (!c) return snprintf(msg, n, "mmap of the chunk failed: %s", strerror(errno)), 0;
  unsigned char *victim = c + 4 * page;
  int ok = 0;
  if (munmap(victim, page) != 0) {
    const int err = errno;
    snprintf(msg, n,
             "munmap(chunk + %zu = 0x%" PRIxPTR ", %zu) = %s (%s): the address is not a multiple of "
             "the %ld-byte page, so the page is never returned to the system (%s)",
             4 * page, (uintptr_t)victim, page, errname(err), strerror(err), sysconf(_SC_PAGESIZE), label);
  } else {
    unsigned char b;
    const int gone = !probe_read(victim, &b);
    char damaged[512];
    const int d = damaged_pages(c, page, 4, damaged, sizeof damaged);
    ok = gone && d == 0;
    snprintf(msg, n, "munmap(chunk + %zu = 0x%" PRIxPTR ", %zu) = 0; the page is %s; %s%s (%s)", 4 * page,
             (uintptr_t)victim, page, gone ? "gone" : "still mapped",
             d ? "live pages lost with it: " : "every other page intact", d ? damaged : "", label);
  }
  munmap(c, CHUNK_PAGES * page);
  return ok;
}

/* Purge page 8: it may read back as zero, every other page must be intact. */
static int op_madvise(size_t page, const char *label, char *msg, size_t n) {
  unsigned char *c = chunk_new(page);
  if (!c) return snprintf(msg, n, "mmap of the chunk failed: %s", strerror(errno)), 0;
  unsigned char *victim = c + 8 * page;
  int ok = 0;
  if (madvise(victim, page, MADV_DONTNEED) != 0) {
    const int err = errno;
    snprintf(msg, n,
             "madvise(chunk + %zu = 0x%" PRIxPTR ", %zu, MADV_DONTNEED) = %s (%s): the address is not a "
             "multiple of the %ld-byte page, so the dirty page is never purged (%s)",
             8 * page, (uintptr_t)victim, page, errname(err), strerror(err), sysconf(_SC_PAGESIZE), label);
  } else {
    char damaged[512];
    const int d = damaged_pages(c, page, 8, damaged, sizeof damaged);
    ok = d == 0;
    snprintf(msg, n, "madvise(chunk + %zu = 0x%" PRIxPTR ", %zu, MADV_DONTNEED) = 0; %s%s (%s)", 8 * page,
             (uintptr_t)victim, page, d ? "live pages silently zeroed with it: " : "every other page intact",
             d ? damaged : "", label);
  }
  munmap(c, CHUNK_PAGES * page);
  return ok;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);

  const long os_page = sysconf(_SC_PAGESIZE);
  printf("page-size-assumption: allocator built for %d-byte pages (LG_PAGE %d); the system page size "
         "is %ld (sysconf)\n",
         ALLOCATOR_PAGE, ALLOCATOR_LG_PAGE, os_page);

  /* ---- startup-page-check: jemalloc's pages_boot() -------------------- */
  if (os_page > ALLOCATOR_PAGE) {
    /* jemalloc writes this to stderr and fails its initialisation. */
    fputs("<jemalloc>: Unsupported system page size\n", stderr);
    check("startup-page-check", 0,
          "\"<jemalloc>: Unsupported system page size\": the system page size %ld (sysconf) is larger "
          "than the %d bytes the allocator was built for (LG_PAGE %d); jemalloc fails to initialise and "
          "the program stops before main",
          os_page, ALLOCATOR_PAGE, ALLOCATOR_LG_PAGE);
  } else {
    check("startup-page-check", 1, "the system page size %ld (sysconf) is at most the %d bytes the allocator "
          "was built for (LG_PAGE %d)", os_page, ALLOCATOR_PAGE, ALLOCATOR_LG_PAGE);
  }

  /* ---- the page arithmetic, as built (4096) and as it should be ------- */
  char msg[1024];
  const char *naive = "page size ALLOCATOR_PAGE, hard-coded";
  check("mprotect-4096", op_mprotect(ALLOCATOR_PAGE, naive, msg, sizeof msg), "%s", msg);
  check("munmap-4096", op_munmap(ALLOCATOR_PAGE, naive, msg, sizeof msg), "%s", msg);
  check("madvise-4096", op_madvise(ALLOCATOR_PAGE, naive, msg, sizeof msg), "%s", msg);

  if (os_page <= 0) {
    check("sysconf-page-size", 0, "sysconf(_SC_PAGESIZE) = %ld", os_page);
  } else {
    char m1[1024], m2[1024], m3[1024];
    const size_t page = (size_t)os_page;
    const char *fixed = "page size from sysconf";
    const int a = op_mprotect(page, fixed, m1, sizeof m1);
    const int b = op_munmap(page, fixed, m2, sizeof m2);
    const int c = op_madvise(page, fixed, m3, sizeof m3);
    check("sysconf-page-size", a && b && c, "page size %zu: %s; %s; %s", page, m1, m2, m3);
  }
  return check_failures() ? 1 : 0;
}
