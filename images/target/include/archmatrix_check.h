/* archmatrix_check.h: how a scenario reports a named check.
 *
 * The runner reads lines of the form
 *
 *     ARCHMATRIX-CHECK <check> PASS|FAIL <what was measured>
 *
 * from a scenario's stdout (docs/protocol.md, "Scenario sub-checks"). Every
 * scenario used to carry its own copy of the printf that writes them; this is
 * the one copy. archmatrix_scenario() in images/target/CMakeLists.txt puts this
 * directory on every scenario's include path.
 *
 *     check("st-blksize", allocated <= blksize, "allocated %lld of %lld", ...);
 *     ...
 *     return check_failures() ? 1 : 0;
 *
 * Header-only (static inline) and C11, for static and dynamic scenarios
 * alike. Each line is formatted first and written with one stdio call, then
 * flushed, so it is out of the process before anything the scenario does
 * next can crash it, and two threads reporting at once cannot interleave
 * inside a line. A newline in the text would end the record early, so line
 * breaks in the formatted text become spaces. */
#ifndef ARCHMATRIX_CHECK_H
#define ARCHMATRIX_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The number of FAIL lines written so far (by any thread). */
static inline int *archmatrix_check_failure_counter_(void) {
  static int failures;
  return &failures;
}

/* How many checks have been reported as FAIL; a scenario exits 1 when any. */
static inline int check_failures(void) {
  return __atomic_load_n(archmatrix_check_failure_counter_(), __ATOMIC_SEQ_CST);
}

/* Reports check `name` as PASS (pass != 0) or FAIL, with a printf-formatted
 * description of what was measured. `name` must be [A-Za-z0-9_.-]+ and
 * declared under `checks:` in the scenario's scenario.yaml. */
static inline void check(const char *name, int pass, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void check(const char *name, int pass, const char *fmt, ...) {
  /* Larger than any line a scenario prints; a longer text is cut, not lost. */
  char text[3072];
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (n < 0) snprintf(text, sizeof text, "(the description could not be formatted)");
  for (char *c = text; (c = strpbrk(c, "\r\n")) != NULL;) *c = ' ';
  fprintf(stdout, "ARCHMATRIX-CHECK %s %s %s%s\n", name, pass ? "PASS" : "FAIL", text,
          n >= (int)sizeof text ? " [...]" : "");
  fflush(stdout);
  if (!pass) __atomic_add_fetch(archmatrix_check_failure_counter_(), 1, __ATOMIC_SEQ_CST);
}

#endif /* ARCHMATRIX_CHECK_H */
