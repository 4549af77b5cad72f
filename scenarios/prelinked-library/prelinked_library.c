/* prelinked-library: a library at a fixed address in the middle of a 2 GiB
 * user space takes the room a large malloc needs.
 *
 * Seed 002 ("Losing Our Minds Over Memory"): a 32-bit ARM board with a 2G/2G
 * split. After a BSP update, `memory_test 1100` (malloc of 1100 MiB) still
 * worked but `memory_test 1400` failed with errno 12: glibc's malloc went to
 * mmap2(NULL, ...) = -1 ENOMEM. Yocto had prelinked libc: its program headers
 * carried VirtAddr 0x41040000, and the loader mapped it at 0x47b30000, in the
 * middle of [0, 0x80000000), so no hole of 1400 MiB was left. A static
 * program, or the old libc mapped near the top (0x76d9c000), had the room.
 *
 * The program is linked -no-pie: glibc only honours a library's link address
 * when the main program is not position independent (dl_use_load_bias), as on
 * the seed's board.
 *
 *   control-malloc-1.8g      dlopen an ordinary library, then malloc 1.8 GiB:
 *                            a dynamically linked program has the room when
 *                            nothing sits in the middle (passes on 2G/2G).
 *   prelinked-at-link-address
 *                            dlopen libprelinked.so (linked at 0x47b30000);
 *                            PASS when the loader mapped it there. If not, the
 *                            checks below do not test what they claim, and
 *                            this FAIL says so.
 *   malloc-1100m             the seed's `memory_test 1100`: fits below the
 *                            library even on 2G/2G (0x47b30000 = 1147 MiB).
 *   malloc-1400m             the seed's `memory_test 1400`: on 2G/2G neither
 *                            the 1147 MiB below the library nor the ~880 MiB
 *                            above it is enough, ENOMEM as on the board.
 *
 * Each malloc writes and reads back its first and last byte (address space is
 * tested, not RAM) and is freed before the next. Failures print the errno and
 * /proc/self/maps, so a report shows what is in the way.
 *
 * Usage: prelinked_library (no arguments). Exit 0 when every check passed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archmatrix_check.h"

/* Where seed 002's prelinked libc was mapped; libprelinked.so is linked here
 * (scenario.yaml, -Wl,-Ttext-segment=0x47b30000). */
#define SEED_LIBC_ADDRESS ((uintptr_t)0x47b30000u)

static void print_maps(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) {
    printf("(cannot read /proc/self/maps: %s)\n", strerror(errno));
    return;
  }
  printf("--- /proc/self/maps ---\n");
  char line[512];
  while (fgets(line, sizeof line, f)) fputs(line, stdout);
  printf("--- end of maps ---\n");
  fclose(f);
  fflush(stdout);
}

/* malloc(bytes), touch both ends, free. Describes the outcome into `what`. */
static int try_malloc(size_t bytes, char *what, size_t what_size) {
  errno = 0;
  unsigned char *p = malloc(bytes);
  if (!p) {
    const int e = errno;
    snprintf(what, what_size, "malloc(%zu) (%zu MiB) returned NULL, errno %d (%s)", bytes, bytes >> 20, e,
             strerror(e));
    return 0;
  }
  p[0] = 0x5a;
  p[bytes - 1] = 0xa5;
  const int ok = p[0] == 0x5a && p[bytes - 1] == 0xa5;
  snprintf(what, what_size, "malloc(%zu) (%zu MiB) = %p .. %p%s", bytes, bytes >> 20, (void *)p,
           (void *)(p + bytes), ok ? "" : ", but the bytes written did not read back");
  free(p);
  return ok;
}

/* The base address of the object that defines `symbol` in `handle`. */
static uintptr_t base_of(void *handle, const char *symbol) {
  void *sym = dlsym(handle, symbol);
  Dl_info info;
  if (!sym || !dladdr(sym, &info)) return 0;
  return (uintptr_t)info.dli_fbase;
}

int main(void) {
  char what[512];
  printf("pointer width %zu bits; seed 002: 1100 MiB ok, 1400 MiB ENOMEM with libc at 0x%" PRIxPTR "\n",
         8 * sizeof(void *), SEED_LIBC_ADDRESS);

  void *control = dlopen("libcontrol.so", RTLD_NOW);
  if (!control) {
    check("control-malloc-1.8g", 0, "dlopen(libcontrol.so) failed: %s", dlerror());
  } else {
    const uintptr_t base = base_of(control, "archmatrix_control_marker");
    const size_t bytes = (size_t)(1.8 * 1073741824.0); /* 1932735283, as large-mmap's malloc-1.8g */
    const int ok = try_malloc(bytes, what, sizeof what);
    check("control-malloc-1.8g", ok, "libcontrol.so at 0x%" PRIxPTR "; %s", base, what);
    if (!ok) print_maps();
  }

  void *prelinked = dlopen("libprelinked.so", RTLD_NOW);
  if (!prelinked) {
    const char *err = dlerror();
    check("prelinked-at-link-address", 0, "dlopen(libprelinked.so) failed: %s", err);
    check("malloc-1100m", 0, "not run: libprelinked.so did not load");
    check("malloc-1400m", 0, "not run: libprelinked.so did not load");
    return 1;
  }
  const uintptr_t base = base_of(prelinked, "archmatrix_prelinked_marker");
  const int at_link_address = base == SEED_LIBC_ADDRESS;
  check("prelinked-at-link-address", at_link_address,
        "libprelinked.so (linked at 0x%" PRIxPTR ") mapped at 0x%" PRIxPTR "%s", SEED_LIBC_ADDRESS, base,
        at_link_address ? "" : ": the loader relocated it, so the malloc checks do not reproduce the seed");
  print_maps();

  int ok = try_malloc((size_t)1100 << 20, what, sizeof what);
  check("malloc-1100m", ok, "%s", what);
  if (!ok) print_maps();
  ok = try_malloc((size_t)1400 << 20, what, sizeof what);
  check("malloc-1400m", ok, "%s", what);
  if (!ok) print_maps();
  return check_failures() ? 1 : 0;
}
