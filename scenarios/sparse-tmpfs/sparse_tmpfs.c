/* sparse-tmpfs: capnproto's sparse-file test, which failed only when the test
 * suite ran from tmpfs on arm64 (seed 004). Writing one byte into a hole of a
 * sparse file allocates one filesystem block; on tmpfs a block is a page, so
 * a test that expects exactly 4096 bytes breaks on 16K and 64K pages. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The assumption under test, as the failing test made it. Not a page size. */
enum { NAIVE_BLOCK_SIZE = 4096 };

int main(void) {
  const char *path = "/tmp/sparse-tmpfs.dat";
  const off_t size = 1 << 20;
  long page = sysconf(_SC_PAGESIZE);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    printf("ARCHMATRIX-CHECK st-blksize FAIL cannot create %s: %s\n", path, strerror(errno));
    printf("ARCHMATRIX-CHECK hardcoded-4096 FAIL cannot create %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (ftruncate(fd, size) != 0 || pwrite(fd, "x", 1, size / 2 + 1) != 1 || fsync(fd) != 0) {
    printf("ARCHMATRIX-CHECK st-blksize FAIL cannot write the sparse file: %s\n", strerror(errno));
    printf("ARCHMATRIX-CHECK hardcoded-4096 FAIL cannot write the sparse file: %s\n", strerror(errno));
    return 1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    printf("ARCHMATRIX-CHECK st-blksize FAIL fstat: %s\n", strerror(errno));
    printf("ARCHMATRIX-CHECK hardcoded-4096 FAIL fstat: %s\n", strerror(errno));
    return 1;
  }
  close(fd);
  unlink(path);
  long long allocated = (long long)st.st_blocks * 512; /* st_blocks is in 512-byte units, always */
  printf("file of %lld bytes with 1 byte written into its hole: %lld bytes allocated; "
         "st_blksize %ld, page size %ld\n",
         (long long)size, allocated, (long)st.st_blksize, page);

  /* Portable: a 1-byte write allocates at least something and at most one block. */
  int ok_blksize = allocated > 0 && allocated <= (long long)st.st_blksize;
  printf("ARCHMATRIX-CHECK st-blksize %s allocated %lld, expected 1..%ld (st_blksize)\n",
         ok_blksize ? "PASS" : "FAIL", allocated, (long)st.st_blksize);
  int ok_naive = allocated == NAIVE_BLOCK_SIZE;
  printf("ARCHMATRIX-CHECK hardcoded-4096 %s allocated %lld, expected %d (hard-coded); page size %ld\n",
         ok_naive ? "PASS" : "FAIL", allocated, NAIVE_BLOCK_SIZE, page);
  return ok_blksize && ok_naive ? 0 : 1;
}
