/* large-mmap: how much contiguous address space a process really has.
 *
 * Seed 004 ("Out of memory with plenty of memory"): a database mmaps its big
 * files and gets ENOMEM although plenty of RAM is free, because "on arm64 you
 * get only 39-bit addresses if you take Linux defaults - only 512GB
 * addressable space" (x86_64: 47 bits, 128 TiB).
 * Seed 002: an application on a 32-bit ARM board with a 2G/2G split needs
 * 1.8 GiB in one malloc; it got ENOMEM from mmap2 once a prelinked libc sat
 * at 0x41000000+ in the middle of the 2 GiB user space; statically linked it
 * worked.
 *
 *   largest-mapping  binary search for the largest contiguous PROT_NONE
 *                    MAP_NORESERVE anonymous mapping (a figure: always PASS,
 *                    unless not even one page can be mapped).
 *   map-1tib         a database-style 1 TiB mapping (MAP_NORESERVE, as mmap
 *                    of a 1 TiB file would ask for). FAIL where the user VA
 *                    is too small: 39-bit arm64, and every 32-bit system.
 *   malloc-1.8g      malloc(1.8 GiB) and write its first and last byte.
 *
 * Usage: large_mmap (no arguments). Exit 0 when every check passed. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "archmatrix_check.h"

/* 1 TiB: what mmap of a 1 TiB database file asks the kernel for. */
#define ONE_TIB (UINT64_C(1) << 40)
/* Seed 002: "We need to allocate up to 1.8G": 1.8 * 2^30 = 1932735283.2. */
#define MALLOC_BYTES ((size_t)1932735283u)

/* Defined by the GNU linker: where the program image starts and ends. */
extern char __executable_start[], end[];

/* "1932735283 bytes = 1843.20 MiB = 1.80 GiB", plus "= 127.72 TiB" when that large. */
static const char *human(char *buf, size_t n, uint64_t bytes) {
  const int len = snprintf(buf, n, "%" PRIu64 " bytes = %.2f MiB = %.2f GiB", bytes,
                           (double)bytes / (1 << 20), (double)bytes / (1 << 30));
  if (bytes >= ONE_TIB && len > 0 && (size_t)len < n)
    snprintf(buf + len, n - (size_t)len, " = %.2f TiB", (double)bytes / (double)ONE_TIB);
  return buf;
}

static void *map_none(size_t bytes) {
  return mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

/* First line of a small /proc or /sys file, or "?" */
static const char *read_line(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "r");
  snprintf(buf, n, "?");
  if (!f) return buf;
  if (fgets(buf, (int)n, f)) buf[strcspn(buf, "\n")] = 0;
  fclose(f);
  return buf;
}

static const char *mem_total(char *buf, size_t n) {
  FILE *f = fopen("/proc/meminfo", "r");
  char line[128];
  snprintf(buf, n, "?");
  if (!f) return buf;
  while (fgets(line, sizeof line, f)) {
    unsigned long long kib;
    if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
      snprintf(buf, n, "%llu KiB (%.0f MiB)", kib, kib / 1024.0);
      break;
    }
  }
  fclose(f);
  return buf;
}

static const char *rlimit_text(int resource, char *buf, size_t n) {
  struct rlimit rl;
  if (getrlimit(resource, &rl) != 0) snprintf(buf, n, "?");
  else if (rl.rlim_cur == RLIM_INFINITY) snprintf(buf, n, "unlimited");
  else snprintf(buf, n, "%llu bytes", (unsigned long long)rl.rlim_cur);
  return buf;
}

/* The address-space layout: where the program, the heap, the stack and any
 * library sit is exactly what decided seed 002. */
static void print_maps(const char *when) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) {
    printf("large-mmap: maps %s: /proc/self/maps unavailable: %s\n", when, strerror(errno));
    return;
  }
  char line[512];
  printf("large-mmap: maps %s:\n", when);
  while (fgets(line, sizeof line, f)) printf("large-mmap:   %s", line);
  fclose(f);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  char a[96], b[96], c[96], d[96];

  printf("large-mmap: %zu-bit pointers, page size %" PRIu64 " (sysconf); MemTotal %s; "
         "overcommit_memory %s; RLIMIT_AS %s, RLIMIT_DATA %s\n",
         sizeof(void *) * 8, page, mem_total(a, sizeof a),
         read_line("/proc/sys/vm/overcommit_memory", b, sizeof b), rlimit_text(RLIMIT_AS, c, sizeof c),
         rlimit_text(RLIMIT_DATA, d, sizeof d));
  printf("large-mmap: program image 0x%" PRIxPTR "..0x%" PRIxPTR ", program break 0x%" PRIxPTR "\n",
         (uintptr_t)__executable_start, (uintptr_t)end, (uintptr_t)sbrk(0));
  print_maps("at start");

  /* ---- largest-mapping ----------------------------------------------------
   * Binary search over page counts: lo pages map, hi pages do not. The
   * largest size a size_t can express is SIZE_MAX rounded down to pages. */
  uint64_t largest = 0;
  void *one = map_none((size_t)page);
  if (one == MAP_FAILED) {
    check("largest-mapping", 0, "not even one page (%" PRIu64 " bytes) can be mapped: %s", page,
          strerror(errno));
  } else {
    munmap(one, (size_t)page);
    uint64_t lo = 1, hi = (uint64_t)SIZE_MAX / page + 1;
    while (hi - lo > 1) {
      const uint64_t mid = lo + (hi - lo) / 2;
      void *p = map_none((size_t)(mid * page));
      if (p != MAP_FAILED) {
        munmap(p, (size_t)(mid * page));
        lo = mid;
      } else {
        hi = mid;
      }
    }
    largest = lo * page;
    void *p = map_none((size_t)largest);
    const uintptr_t at = p == MAP_FAILED ? 0 : (uintptr_t)p;
    if (p != MAP_FAILED) munmap(p, (size_t)largest);
    check("largest-mapping", 1, "%s, at 0x%" PRIxPTR "..0x%" PRIxPTR " (PROT_NONE, MAP_NORESERVE; page size %" PRIu64 ")",
          human(a, sizeof a, largest), at, at + (uintptr_t)largest, page);
  }

  /* ---- map-1tib -------------------------------------------------------------
   * PROT_READ + MAP_NORESERVE: nothing is charged to overcommit accounting
   * (a mapping without PROT_WRITE never is), so only the address space
   * decides, as for a read-only mmap of a database file. */
  if (ONE_TIB > (uint64_t)SIZE_MAX) {
    check("map-1tib", 0,
          "1 TiB (%" PRIu64 " bytes) cannot even be passed to mmap: size_t has %zu bits, the whole address "
          "space is 4 GiB; the largest mapping here is %s",
          ONE_TIB, sizeof(size_t) * 8, human(a, sizeof a, largest));
  } else {
    const size_t len = (size_t)ONE_TIB;
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      check("map-1tib", 0, "mmap(NULL, %zu = 1 TiB, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE): %s (%s); "
            "the largest contiguous mapping is %s",
            len, strerrorname_np(err) ? strerrorname_np(err) : "?", strerror(err), human(a, sizeof a, largest));
    } else {
      /* Read both ends: the mapping is real and usable (the zero page). */
      const volatile char *v = p;
      const int sum = v[0] + v[len - 1];
      check("map-1tib", sum == 0, "1 TiB (%zu bytes) mapped at 0x%" PRIxPTR "..0x%" PRIxPTR
            "; first and last byte read back %s",
            len, (uintptr_t)p, (uintptr_t)p + len, sum == 0 ? "as 0" : "NOT as 0");
      munmap(p, len);
    }
  }

  /* ---- malloc-1.8g ----------------------------------------------------------
   * Only the first and the last byte are written: this tests the address
   * space, not the guest's RAM. The volatile pointer keeps the compiler from
   * eliding the malloc/free pair. */
  char *volatile m = malloc(MALLOC_BYTES);
  if (m == NULL) {
    const int err = errno;
    check("malloc-1.8g", 0, "malloc(%s) = NULL: %s; the largest contiguous mapping is %s%s", human(a, sizeof a, MALLOC_BYTES),
          strerror(err), human(b, sizeof b, largest),
          largest < MALLOC_BYTES ? " (too small: the address space is fragmented or too small)"
                                 : " (large enough: refused for RAM/overcommit, not address space)");
    print_maps("after the failed malloc");
  } else {
    m[0] = 1;
    m[MALLOC_BYTES - 1] = 2;
    const int ok = m[0] == 1 && m[MALLOC_BYTES - 1] == 2;
    check("malloc-1.8g", ok, "malloc(%s) = 0x%" PRIxPTR "..0x%" PRIxPTR "; first and last byte written and read back%s",
          human(a, sizeof a, MALLOC_BYTES), (uintptr_t)m, (uintptr_t)m + MALLOC_BYTES, ok ? "" : " WRONG");
    free(m);
  }
  return check_failures() ? 1 : 0;
}
