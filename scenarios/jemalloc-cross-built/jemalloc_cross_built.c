/* jemalloc-cross-built: the real jemalloc, cross-built for 4 KiB pages,
 * on kernels with larger pages.
 *
 * Seed 000 (rustfs on a Raspberry Pi 5): the server crashed at start, even
 * for `rustfs -version`, with "<jemalloc>: Unsupported system page size":
 * its jemalloc was built for 4 KiB pages and the kernel (Debian trixie on a
 * Pi 5) used 16 KiB. The fix switched aarch64 to mimalloc, which takes the
 * page size at run time.
 *
 *   jemalloc-cross-built  jemalloc 5.3.0 from Debian's source package,
 *                         configured for the target with --host and no
 *                         --with-lg-page (scenario's build.cmake), linked in
 *                         statically with the je_ prefix. The first
 *                         je_malloc initialises it; with a page size above
 *                         its build-time one it prints its own message and
 *                         returns NULL. The message is captured from stderr
 *                         and reported.
 *   mimalloc-control      mi_malloc from Debian's libmimalloc2.0 of the
 *                         target arch (the seed's fix): works on every page
 *                         size.
 *
 * Usage: jemalloc_cross_built (no arguments). Exit 0 when every check passed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>
#include <mimalloc.h>

#include "archmatrix_check.h"

/* Runs je_malloc(size) with fd 2 redirected into a pipe, so what jemalloc
 * prints while it initialises ends up in `said` (newlines made spaces). */
static void *je_malloc_capturing_stderr(size_t size, char *said, size_t said_size) {
  said[0] = '\0';
  int fds[2];
  if (pipe2(fds, O_NONBLOCK) != 0) return je_malloc(size);
  fflush(stderr);
  const int saved = dup(2);
  dup2(fds[1], 2);
  void *p = je_malloc(size);
  dup2(saved, 2);
  close(saved);
  close(fds[1]);
  ssize_t n = read(fds[0], said, said_size - 1);
  close(fds[0]);
  if (n < 0) n = 0;
  said[n] = '\0';
  for (char *c = said; *c; ++c)
    if (*c == '\n' || *c == '\r') *c = ' ';
  while (n > 0 && said[n - 1] == ' ') said[--n] = '\0';
  /* What jemalloc said goes to the scenario's stderr as well. */
  if (n > 0) fprintf(stderr, "%s\n", said);
  return p;
}

int main(void) {
  const long page = sysconf(_SC_PAGESIZE);
  printf("running page size %ld bytes\n", page);
  fflush(stdout);

  char said[512];
  void *p = je_malloc_capturing_stderr(4096, said, sizeof said);
  if (p) {
    memset(p, 0xa5, 4096);
    size_t je_page = 0, len = sizeof je_page;
    const int e = je_mallctl("arenas.page", &je_page, &len, NULL, 0);
    check("jemalloc-cross-built", 1, "je_malloc(4096) = %p; jemalloc's page (arenas.page) %zu%s, running page %ld",
          p, e == 0 ? je_page : 0, e == 0 ? "" : " (mallctl failed)", page);
    je_free(p);
  } else {
    check("jemalloc-cross-built", 0, "je_malloc(4096) returned NULL on a %ld-byte page kernel; jemalloc said: \"%s\"",
          page, said[0] ? said : "(nothing)");
  }

  void *m = mi_malloc(4096);
  if (m) memset(m, 0x5a, 4096);
  check("mimalloc-control", m != NULL, "mimalloc %d: mi_malloc(4096) = %p, running page %ld", mi_version(), m, page);
  mi_free(m);
  return check_failures() ? 1 : 0;
}
