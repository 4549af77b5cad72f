/* tagged-pointers: code that keeps a type tag in the "unused" top bits of a
 * pointer.
 *
 * Seed 004 ("The definitive guide to make software fail on ARM64", section
 * "Linux process virtual memory map"): an arm64 kernel recompiled with 48-bit
 * user addresses made "some workloads crash randomly", "traced down to Lua
 * code": LuaJIT's lightuserdata "uses (supposedly unused) upper bits of the
 * address to store some metadata", 0x00007fffffffffff, i.e. 47-bit pointers
 * (lj_obj.h: "lightuserdata | ffff | void * | (64 bit platforms, 47 bit
 * pointers)").
 *
 *   lightuserdata-47bit  real addresses (malloc, a large malloc, anonymous
 *                        mmap, the main and a thread stack, static data) go
 *                        through LuaJIT's 64-bit lightuserdata encoding:
 *                          push:   (uint64_t)p >> 47 must be 0, else LuaJIT
 *                                  raises "bad light userdata pointer";
 *                          store:  p | 0xffff << 48;
 *                          load:   value & 0x00007fffffffffff.
 *                        PASS when every address fits and round-trips. It
 *                        breaks where unhinted mappings land above 2^47
 *                        (va_bits_default >= 48: arm64 with 48-bit or 52-bit
 *                        VA and 4K pages); x86_64 keeps unhinted mappings below
 *                        2^47 even with 5-level paging, arm64 16K (47-bit
 *                        default window) likewise. On 32-bit (armhf) every
 *                        address is below 2^32, so it holds trivially (32-bit
 *                        LuaJIT keeps the tag in a separate word anyway).
 *   top-byte-tag         a pointer with a tag in its top byte (bits 56..63) is
 *                        dereferenced (load and store). arm64 ignores the top
 *                        byte of user addresses for loads and stores (TBI);
 *                        x86_64 has no such thing (the address is
 *                        non-canonical: #GP, SIGSEGV); on 32-bit ARM bits
 *                        24..31 are address bits, so the "tagged" pointer is
 *                        another address. The SIGSEGV is caught and reported.
 *
 * Usage: tagged_pointers (no arguments). Exit 0 when every check passed. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
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

/* LuaJIT's 64-bit (non-GC64) lightuserdata, lj_obj.h: setlightudV stores
 * p | 0xffff << 48, lightudV masks with 0x00007fffffffffff, and
 * checklightudptr rejects p >> 47 != 0 ("bad light userdata pointer"). */
enum { LJ_LIGHTUD_BITS = 47 };
#define LJ_LIGHTUD_TAG (UINT64_C(0xffff) << 48)
#define LJ_LIGHTUD_MASK ((UINT64_C(1) << LJ_LIGHTUD_BITS) - 1)

/* The top-byte tag: any non-zero byte will do. */
#define TOP_BYTE_TAG UINT64_C(0x5a)

/* ---- catching the fault of a tagged dereference -------------------------- */

static sigjmp_buf fault_env;
static volatile sig_atomic_t fault_armed;
static volatile int fault_sig, fault_code;
static volatile uintptr_t fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uctx) {
  (void)uctx;
  if (!fault_armed) {
    signal(sig, SIG_DFL); /* not ours: die of it */
    return;
  }
  fault_armed = 0;
  fault_sig = sig;
  fault_code = si->si_code;
  fault_addr = (uintptr_t)si->si_addr;
  siglongjmp(fault_env, 1);
}

static const char *code_name(int sig, int code) {
  if (sig == SIGSEGV && code == SEGV_MAPERR) return "SEGV_MAPERR";
  if (sig == SIGSEGV && code == SEGV_ACCERR) return "SEGV_ACCERR";
  if (code == SI_KERNEL) return "SI_KERNEL (a general-protection fault: no address reported)";
  if (sig == SIGBUS && code == BUS_ADRERR) return "BUS_ADRERR";
  return "si_code?";
}

/* ---- lightuserdata-47bit ------------------------------------------------ */

struct sample {
  const char *what;
  uintptr_t addr;
};

static void *thread_stack_address(void *out) {
  volatile int local = 0;
  *(uintptr_t *)out = (uintptr_t)&local;
  return NULL;
}

static int static_datum = 1;

static void lightuserdata_check(void) {
  struct sample s[8];
  int n = 0;
  void *small = malloc(64);
  void *large = malloc(4 << 20); /* above the mmap threshold: an anonymous mapping */
  void *map = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  /* A big reservation, as a GC heap or arena would make. */
  void *big = mmap(NULL, (size_t)1 << (sizeof(void *) == 8 ? 30 : 26), PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  volatile int local = 0;
  uintptr_t tstack = 0;
  pthread_t t;
  if (pthread_create(&t, NULL, thread_stack_address, &tstack) == 0) pthread_join(t, NULL);

  if (small) s[n++] = (struct sample){"malloc(64)", (uintptr_t)small};
  if (large) s[n++] = (struct sample){"malloc(4 MiB)", (uintptr_t)large};
  if (map != MAP_FAILED) s[n++] = (struct sample){"mmap(64 KiB)", (uintptr_t)map};
  if (big != MAP_FAILED) s[n++] = (struct sample){"mmap(reservation)", (uintptr_t)big};
  s[n++] = (struct sample){"main stack", (uintptr_t)&local};
  if (tstack) s[n++] = (struct sample){"thread stack", tstack};
  s[n++] = (struct sample){"static data", (uintptr_t)&static_datum};

  char list[2048] = "";
  size_t len = 0;
  int bad = 0;
  uintptr_t highest = 0;
  const char *highest_what = "";
  for (int i = 0; i < n; i++) {
    const uint64_t p = (uint64_t)s[i].addr;
    const int pushable = (p >> LJ_LIGHTUD_BITS) == 0;  /* checklightudptr */
    const uint64_t tv = p | LJ_LIGHTUD_TAG;              /* setlightudV */
    const uint64_t back = tv & LJ_LIGHTUD_MASK;          /* lightudV */
    const int ok = pushable && back == p;
    if (!ok) bad++;
    if (s[i].addr > highest) {
      highest = s[i].addr;
      highest_what = s[i].what;
    }
    int w;
    if (ok)
      w = snprintf(list + len, sizeof list - len, "%s%s 0x%" PRIx64 " ok", i ? "; " : "", s[i].what, p);
    else
      w = snprintf(list + len, sizeof list - len,
                   "%s%s 0x%" PRIx64 " does NOT fit 47 bits (\"bad light userdata pointer\"; stored "
                   "0x%016" PRIx64 " reads back as 0x%" PRIx64 ")",
                   i ? "; " : "", s[i].what, p, tv, back);
    if (w > 0 && (size_t)w < sizeof list - len) len += (size_t)w;
  }
  if (bad)
    check("lightuserdata-47bit", 0,
          "%d of %d addresses are at or above 2^47 = 0x800000000000 (highest: %s at 0x%" PRIxPTR
          ", %d bits): %s",
          bad, n, highest_what, highest, highest ? 64 - __builtin_clzll((unsigned long long)highest) : 0,
          list);
  else
    check("lightuserdata-47bit", 1,
          "all %d addresses fit 47 bits and round-trip through p | 0xffff << 48 and & 0x7fffffffffff "
          "(highest: %s at 0x%" PRIxPTR ", %d bits%s): %s",
          n, highest_what, highest, highest ? 64 - __builtin_clzll((unsigned long long)highest) : 0,
          sizeof(void *) == 4 ? "; 32-bit pointers always fit" : "", list);
  free(small);
  free(large);
  if (map != MAP_FAILED) munmap(map, 64 << 10);
  if (big != MAP_FAILED) munmap(big, (size_t)1 << (sizeof(void *) == 8 ? 30 : 26));
}

/* ---- top-byte-tag ------------------------------------------------------- */

static volatile uint32_t tagged_target = 0x600dcafe;

static void top_byte_check(void) {
  const uintptr_t plain = (uintptr_t)&tagged_target;
  const unsigned shift = sizeof(uintptr_t) * 8 - 8; /* the top byte: 56 on 64-bit, 24 on 32-bit */
  const uintptr_t tag = (uintptr_t)TOP_BYTE_TAG << shift;
  const uintptr_t tagged = (plain & ~((uintptr_t)0xff << shift)) | tag;
  const char *why = sizeof(void *) == 4
                        ? "on 32-bit ARM the top byte is part of the address: the tagged pointer is "
                          "another address"
                        : "";

  /* What a system call makes of it (informational): arm64 rejects tagged
   * pointers in syscalls unless the process opted into the tagged address
   * ABI with prctl(PR_SET_TAGGED_ADDR_CTRL). */
  int fds[2];
  if (pipe(fds) == 0) {
    errno = 0;
    const ssize_t w = write(fds[1], (const void *)tagged, sizeof tagged_target);
    const int err = errno;
    printf("tagged-pointers: write(pipe, 0x%" PRIxPTR ", %zu) = %zd%s%s\n", tagged, sizeof tagged_target, w,
           w < 0 ? " " : "", w < 0 ? (strerrorname_np(err) ? strerrorname_np(err) : "?") : "");
    close(fds[0]);
    close(fds[1]);
  }

  uint32_t loaded = 0;
  if (sigsetjmp(fault_env, 1) == 0) {
    fault_armed = 1;
    volatile uint32_t *p = (volatile uint32_t *)tagged;
    loaded = *p;          /* load through the tagged pointer */
    *p = 0x00ddba11;       /* store through it */
    fault_armed = 0;
    const uint32_t stored = tagged_target;
    const int ok = loaded == 0x600dcafe && stored == 0x00ddba11;
    check("top-byte-tag", ok,
          "load and store through 0x%" PRIxPTR " (0x%" PRIxPTR " with 0x%02" PRIx64 " in the top byte): "
          "loaded 0x%08" PRIx32 " (expected 0x600dcafe), the variable then held 0x%08" PRIx32
          " (expected 0x00ddba11)%s%s",
          tagged, plain, TOP_BYTE_TAG, loaded, stored,
          ok ? "; the top byte is ignored for loads and stores" : "; ", ok ? "" : why);
  } else {
    check("top-byte-tag", 0,
          "dereferencing 0x%" PRIxPTR " (0x%" PRIxPTR " with 0x%02" PRIx64 " in the top byte) raised %s "
          "(%s, si_addr 0x%" PRIxPTR ")%s%s",
          tagged, plain, TOP_BYTE_TAG, fault_sig == SIGBUS ? "SIGBUS" : "SIGSEGV",
          code_name(fault_sig, fault_code), fault_addr,
          sizeof(void *) == 8 ? ": the top byte is not ignored (no top-byte-ignore; on x86_64 the "
                                "address is non-canonical)"
                              : ": ",
          why);
  }
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

  printf("tagged-pointers: %zu-bit pointers, page size %ld (sysconf)\n", sizeof(void *) * 8,
         sysconf(_SC_PAGESIZE));
  lightuserdata_check();
  top_byte_check();
  return check_failures() ? 1 : 0;
}
