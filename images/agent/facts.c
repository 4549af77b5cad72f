/* Probes the guest for the facts of docs/protocol.md ("Facts") and sends them.
 * Nothing here assumes a page size, an address width or a VM split: the
 * address-space limits are found by asking the kernel, and every probe
 * mapping is unmapped again. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Whether the page at `addr` lies inside the user address space. With
 * MAP_FIXED_NOREPLACE the kernel either maps exactly there (free, inside),
 * refuses with EEXIST (already mapped, inside), or refuses with ENOMEM/EINVAL
 * (beyond TASK_SIZE, or addr + len wraps). A kernel that predates the flag
 * treats it as a hint and may map elsewhere: that counts as "not there". */
static int page_is_inside(uintptr_t addr, size_t page) {
  void *p = mmap((void *)addr, page, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) return errno == EEXIST;
  munmap(p, page);
  return (uintptr_t)p == addr;
}

/* One past the highest page a fixed mapping can take: binary search between
 * a page known to be inside (our stack) and the last page of the address
 * type, which is beyond on every Linux we know (if not, it is reported as
 * the top, which is still the right answer minus one page). */
static uintptr_t probe_user_top(size_t page) {
  volatile char here = 0;
  const uintptr_t mask = ~(uintptr_t)(page - 1);
  uintptr_t lo = (uintptr_t)&here & mask;
  uintptr_t hi = UINTPTR_MAX & mask;
  if (!page_is_inside(lo, page)) return 0;
  while (hi - lo > page) {
    uintptr_t mid = lo + (((hi - lo) / 2) & mask);
    if (page_is_inside(mid, page))
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

/* End of the [stack] mapping from /proc/self/maps; 0 if not found. */
static uintptr_t stack_end(void) {
  FILE *f = fopen("/proc/self/maps", "re");
  if (!f) return 0;
  char line[512];
  uintptr_t end = 0;
  while (fgets(line, sizeof line, f)) {
    if (!strstr(line, "[stack]")) continue;
    char *dash = strchr(line, '-');
    if (dash) end = (uintptr_t)strtoull(dash + 1, NULL, 16);
    break;
  }
  fclose(f);
  return end;
}

/* The higher of the end of an unhinted mmap(NULL, ...) and the end of the
 * stack: the top of the window the kernel hands out without a hint. */
static uintptr_t probe_default_top(size_t page) {
  uintptr_t top = 0;
  void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) {
    top = (uintptr_t)p + page;
    munmap(p, page);
  }
  uintptr_t s = stack_end();
  if (s == 0) {
    volatile char here = 0;
    s = ((uintptr_t)&here | (uintptr_t)(page - 1)) + 1;
  }
  return s > top ? s : top;
}

/* Bits needed to write `x` (0 for 0). */
static unsigned bits_for(unsigned long long x) {
  unsigned n = 0;
  while (x) {
    n++;
    x >>= 1;
  }
  return n;
}

static long long meminfo_kib(const char *key) {
  static char buf[8192];  /* /proc/meminfo is about 1.5 KB */
  if (read_small_file("/proc/meminfo", buf, sizeof buf) < 0) return -1;
  size_t klen = strlen(key);
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') return strtoll(line + klen + 1, NULL, 10);
  }
  return -1;
}

static long long tmpfs_blksize(void) {
  struct stat st;
  int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    static const char name[] = "/tmp/.archmatrix-blksize-probe";
    fd = open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    unlink(name);
  }
  long long r = fstat(fd, &st) == 0 ? (long long)st.st_blksize : -1;
  close(fd);
  return r;
}

#if defined(__x86_64__)
/* 1 if any "flags" line of /proc/cpuinfo lists la57. */
static int cpu_has_la57(void) {
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (!f) return 0;
  static char line[8192];  /* a flags line is a few hundred bytes */
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    if (strncmp(line, "flags", 5) != 0) continue;
    for (char *tok = strtok(strchr(line, ':') ? strchr(line, ':') + 1 : line, " \t\n"); tok;
         tok = strtok(NULL, " \t\n"))
      if (strcmp(tok, "la57") == 0) found = 1;
  }
  fclose(f);
  return found;
}
#endif

/* A fact the agent could not read is left out, never sent as "": the runner
 * then knows it is unknown (a predicate over it cannot be decided) instead
 * of comparing against an empty value. */
static void msg_known(const char *key, const char *value) {
  if (value && value[0]) msg_str(key, value);
}

/* The first line of a small /proc file, without its newline; nothing if the
 * file cannot be read or its first line is empty. */
static void msg_file_line(const char *key, const char *path) {
  char buf[256];
  if (read_small_file(path, buf, sizeof buf) < 0) return;
  buf[strcspn(buf, "\n")] = '\0';
  msg_known(key, buf);
}

void facts_send(void) {
  long ps = sysconf(_SC_PAGESIZE);  /* from the kernel's AT_PAGESZ: cannot fail */
  size_t page = ps > 0 ? (size_t)ps : (size_t)getpagesize();
  uintptr_t user_top = probe_user_top(page);
  uintptr_t default_top = probe_default_top(page);
  struct utsname u;
  if (uname(&u) != 0) memset(&u, 0, sizeof u);  /* all three left out below */

  msg_begin();
  msg_uint("page_size", page);
  if (user_top) {  /* 0: not even our own stack's page probed as inside */
    msg_hex("user_top", user_top);
    msg_uint("va_bits", bits_for(user_top - 1));
  }
  msg_hex("mmap_default_top", default_top);
  msg_uint("va_bits_default", bits_for(default_top ? default_top - 1 : 0));
  msg_known("kernel_release", u.release);
  msg_known("kernel_version", u.version);
  msg_known("machine", u.machine);
  long long mem = meminfo_kib("MemTotal");
  if (mem >= 0) msg_uint("mem_total_kib", (unsigned long long)mem);
  msg_file_line("overcommit_memory", "/proc/sys/vm/overcommit_memory");
  long long blk = tmpfs_blksize();
  if (blk >= 0) msg_uint("tmpfs_blksize", (unsigned long long)blk);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus > 0) msg_uint("cpus", (unsigned long long)cpus);
#if defined(__x86_64__)
  msg_uint("la57", (unsigned long long)cpu_has_la57());
#endif
  msg_str("agent_arch", AGENT_ARCH);
  msg_send("facts");
}
