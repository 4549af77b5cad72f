/* large-mmap: how much address space a process really has (seeds 002, 004).
 * A database mmaps big files and gets ENOMEM with plenty of free memory when
 * the user VA is small (39-bit arm64: 512 GiB); a 32-bit board's application
 * needs one 1.8 GiB block. We measure the largest contiguous mapping, try a
 * 1 TiB MAP_NORESERVE mapping, and malloc 1.8 GiB. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int try_map(uint64_t size) {
  if (size > SIZE_MAX) return 0;
  void *p = mmap(NULL, (size_t)size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return 0;
  munmap(p, (size_t)size);
  return 1;
}

int main(void) {
  const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  int failed = 0;

  /* Largest contiguous mapping: binary search on page multiples. */
  uint64_t lo = 0, hi = (SIZE_MAX / page) + 1; /* in pages: lo maps, hi does not */
  if (!try_map(page)) {
    printf("ARCHMATRIX-CHECK largest-mapping FAIL even one page cannot be mapped: %s\n", strerror(errno));
    failed = 1;
  } else {
    lo = 1;
    while (hi - lo > 1) {
      uint64_t mid = lo + (hi - lo) / 2;
      if (try_map(mid * page)) lo = mid; else hi = mid;
    }
    uint64_t bytes = lo * page;
    printf("ARCHMATRIX-CHECK largest-mapping PASS %llu bytes = %llu MiB = %.1f GiB (page size %llu)\n",
           (unsigned long long)bytes, (unsigned long long)(bytes >> 20), (double)bytes / (1ull << 30),
           (unsigned long long)page);
  }

  /* A database-style 1 TiB mapping (what mmap of a 1 TiB file asks for). */
  const uint64_t tib = 1ull << 40;
  if (tib > SIZE_MAX) {
    printf("ARCHMATRIX-CHECK map-1tib FAIL 1 TiB does not fit a %zu-bit address space\n", sizeof(void *) * 8);
    failed = 1;
  } else {
    void *p = mmap(NULL, (size_t)tib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      printf("ARCHMATRIX-CHECK map-1tib FAIL mmap of 1 TiB: %s\n", strerror(errno));
      failed = 1;
    } else {
      printf("ARCHMATRIX-CHECK map-1tib PASS 1 TiB mapped at %p..%p\n", p, (void *)((char *)p + tib));
      munmap(p, (size_t)tib);
    }
  }

  /* Seed 002: the board's application needs 1.8 GiB in one block. Touch only
   * the ends: this tests the address space, not the guest's RAM. */
  const size_t want = (size_t)(1.8 * (1ull << 30));
  char *m = malloc(want);
  if (!m) {
    printf("ARCHMATRIX-CHECK malloc-1.8g FAIL malloc(%zu) = NULL: %s\n", want, strerror(errno));
    failed = 1;
  } else {
    m[0] = 1;
    m[want - 1] = 1;
    printf("ARCHMATRIX-CHECK malloc-1.8g PASS malloc(%zu) = %p..%p\n", want, (void *)m, (void *)(m + want));
    free(m);
  }
  return failed;
}
