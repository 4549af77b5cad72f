/* Reads /archmatrix/plan (docs/protocol.md, "Into the guest").
 *
 *   nonce <16 lower-case hex digits>
 *   scenario <name> <timeout_ms> <uid> <path-in-guest> [arg ...]
 *   channel <virtio-port-name>      (docs/protocol.md, "Data channel")
 *   attempt <1..1000>               (run --rerun-failures: ARCHMATRIX_ATTEMPT)
 *   echo                            (bundles: results also as plain lines)
 *
 * Fields are separated by single spaces. Unknown directives are ignored.
 * The file is unlinked as soon as it has been read, before any scenario
 * runs, so no scenario can learn the nonce from the filesystem. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define NAME_MAX_LEN 200

static char text[PLAN_MAX + 1];  /* the plan, tokenized in place */

static int is_nonce(const char *s) {
  if (strlen(s) != NONCE_LEN) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
  return 1;
}

/* Strict unsigned decimal: digits only, no sign, no overflow past `max`. */
static int parse_decimal(const char *s, unsigned long long max, unsigned long long *out) {
  unsigned long long v = 0;
  if (!*s) return -1;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    unsigned d = (unsigned)(*p - '0');
    if (v > (max - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Splits `line` at single spaces into at most `max` fields; returns how many
 * fields there were (which may exceed `max`: the rest are not stored). An
 * empty field (two spaces in a row) is kept as "". */
static size_t split(char *line, char **fields, size_t max) {
  size_t n = 0;
  for (char *p = line;;) {
    char *sp = strchr(p, ' ');
    if (n < max) fields[n] = p;
    n++;
    if (!sp) break;
    *sp = '\0';
    p = sp + 1;
  }
  return n;
}

static void parse_scenario(char **f, size_t n, struct scenario *s) {
  memset(s, 0, sizeof *s);
  s->name = f[1];
  s->uid = DEFAULT_UID;
  if (strlen(s->name) > NAME_MAX_LEN) {
    s->name = "(name too long)";
    s->error = "plan: scenario name too long";
    return;
  }
  if (n < 5) {
    s->error = "plan: scenario line needs <name> <timeout_ms> <uid> <path>";
    return;
  }
  if (n - 5 > MAX_ARGS) {
    s->error = "plan: too many scenario arguments";
    return;
  }
  unsigned long long v;
  if (parse_decimal(f[2], 1000ULL * 86400 * 365, &v) != 0 || v == 0) {
    s->error = "plan: bad timeout_ms";
    return;
  }
  s->timeout_ms = v;
  if (parse_decimal(f[3], 0xfffffffeULL, &v) != 0) {
    s->error = "plan: bad uid";
    return;
  }
  s->uid = (unsigned long)v;
  if (f[4][0] != '/') {
    s->error = "plan: scenario path is not absolute";
    return;
  }
  s->path = f[4];
  s->argv[0] = f[4];
  for (size_t i = 5; i < n; i++) s->argv[i - 4] = f[i];
  s->argv[n - 4] = NULL;
}

int plan_parse(char *text, size_t len, struct plan *plan, char *err, size_t errlen) {
  plan->nonce[0] = '\0';
  plan->channel[0] = '\0';
  plan->count = 0;
  plan->dropped = 0;
  plan->attempt = 1;
  plan->echo = 0;
  text[len] = '\0';
  /* The runner never writes one, and everything after it would be silently
   * lost to the string functions below. */
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    snprintf(err, errlen, "the plan has a NUL byte at offset %zu", (size_t)(nul - text));
    return -1;
  }

  char *fields[MAX_ARGS + 6];
  for (char *line = text; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    size_t ll = strlen(line);
    if (ll > 0 && line[ll - 1] == '\r') line[ll - 1] = '\0';
    size_t n = split(line, fields, sizeof fields / sizeof fields[0]);
    if (strcmp(fields[0], "nonce") == 0 && n == 2 && !plan->nonce[0] && is_nonce(fields[1])) {
      memcpy(plan->nonce, fields[1], NONCE_LEN + 1);
    } else if (strcmp(fields[0], "scenario") == 0 && n >= 2 && fields[1][0]) {
      if (plan->count < MAX_SCENARIOS)
        parse_scenario(fields, n, &plan->scenarios[plan->count++]);
      else
        plan->dropped++;
    } else if (strcmp(fields[0], "scenario") == 0) {
      agent_log("plan: ignoring a scenario line without a name");
    } else if (strcmp(fields[0], "channel") == 0 && n == 2 && strlen(fields[1]) <= CHANNEL_NAME_MAX) {
      memcpy(plan->channel, fields[1], strlen(fields[1]) + 1);
    } else if (strcmp(fields[0], "echo") == 0 && n == 1) {
      plan->echo = 1;
    } else if (strcmp(fields[0], "attempt") == 0 && n == 2) {
      unsigned long long v;
      if (parse_decimal(fields[1], 1000, &v) == 0 && v >= 1)
        plan->attempt = (unsigned)v;
      else
        agent_log("plan: ignoring a bad attempt line");
    }
    line = nl ? nl + 1 : NULL;
  }
  if (!plan->nonce[0]) {
    snprintf(err, errlen, "no valid 'nonce <16 lower-case hex digits>' line");
    return -1;
  }
  return 0;
}

int plan_load(const char *path, struct plan *plan, char *err, size_t errlen) {
  plan->nonce[0] = '\0';
  plan->count = 0;
  plan->dropped = 0;
  plan->channel[0] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, text + len, PLAN_MAX + 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
    if (len > PLAN_MAX) break;
  }
  close(fd);
  if (unlink(path) != 0)
    agent_log("warning: cannot unlink %s: %s", path, strerror(errno));
  if (len > PLAN_MAX) {
    snprintf(err, errlen, "%s is larger than %d bytes", path, PLAN_MAX);
    return -1;
  }
  char why[200];
  if (plan_parse(text, len, plan, why, sizeof why) != 0) {
    snprintf(err, errlen, "%s: %s", path, why);
    return -1;
  }
  return 0;
}
