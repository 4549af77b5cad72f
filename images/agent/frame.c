/* Message encoding and framing (docs/protocol.md, "Out of the guest").
 *
 * A message body is KEY:LEN:VALUE fields; it is base64-encoded, cut into
 * slices of PART_CHARS characters, and each slice goes out as one line
 *   <<AM1|NONCE|SEQ|PART/NPARTS|KIND|PAYLOAD|CRC>>
 * written twice, each time with a single write() of the whole line straight
 * to the console fd (no stdio buffering that could split it). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

/* Largest body: a result with both streams at their cap, plus small fields
 * (the name and an error text are bounded by the plan parser). */
#define BODY_MAX (2 * OUTPUT_KEEP + 16 * 1024)
#define B64_MAX (4 * ((BODY_MAX + 2) / 3))
/* "<<" + covered part + CRC + ">>\n"; the covered part is at most
 * AM1| nonce| seq| part/nparts| kind| payload| = 4+17+21+42+8+97. */
#define LINE_MAX_LEN 256

static int console_fd = -1;
static char run_nonce[NONCE_LEN + 1];
static unsigned long long next_seq;

static char body[BODY_MAX];
static size_t body_len;
static int body_overflow;
static char b64[B64_MAX];

static const char *const kinds[] = {"hello", "facts", "begin", "beat", "result", "end"};
static unsigned sent_per_kind[sizeof kinds / sizeof kinds[0]];

size_t base64_encode(const void *in, size_t n, char *out) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *p = in;
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = alphabet[v >> 18 & 63];
    out[o++] = alphabet[v >> 12 & 63];
    out[o++] = alphabet[v >> 6 & 63];
    out[o++] = alphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    out[o++] = alphabet[v >> 18 & 63];
    out[o++] = alphabet[v >> 12 & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    out[o++] = alphabet[v >> 18 & 63];
    out[o++] = alphabet[v >> 12 & 63];
    out[o++] = alphabet[v >> 6 & 63];
    out[o++] = '=';
  }
  return o;
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t n) {
  static uint32_t table[256];
  static int ready;
  if (!ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = 1;
  }
  const unsigned char *p = data;
  crc = ~crc;
  while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void frame_init(int fd, const char *nonce) {
  console_fd = fd;
  memcpy(run_nonce, nonce, NONCE_LEN);
  run_nonce[NONCE_LEN] = '\0';
}

int frame_console_fd(void) { return console_fd; }

/* One write() for the whole buffer; loops only if the tty took part of it. */
static void write_line(const char *buf, size_t len) {
  if (console_fd < 0) return;
  while (len > 0) {
    ssize_t w = write(console_fd, buf, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  /* nowhere else to report it */
    }
    buf += w;
    len -= (size_t)w;
  }
}

void msg_begin(void) {
  body_len = 0;
  body_overflow = 0;
}

void msg_field(const char *key, const void *value, size_t len) {
  char head[64];
  int h = snprintf(head, sizeof head, "%s:%zu:", key, len);
  /* Keep 64 bytes for the overflow marker msg_send may add; body_len never
   * exceeds BODY_MAX - 64, so `room` does not wrap. */
  size_t room = BODY_MAX - 64 - body_len;
  if (h < 0 || (size_t)h >= sizeof head || (size_t)h > room || len > room - (size_t)h) {
    body_overflow = 1;
    return;
  }
  memcpy(body + body_len, head, (size_t)h);
  body_len += (size_t)h;
  memcpy(body + body_len, value, len);
  body_len += len;
}

void msg_str(const char *key, const char *value) { msg_field(key, value, strlen(value)); }

void msg_uint(const char *key, unsigned long long value) {
  char v[24];
  int n = snprintf(v, sizeof v, "%llu", value);
  msg_field(key, v, (size_t)n);
}

void msg_hex(const char *key, unsigned long long value) {
  char v[24];
  int n = snprintf(v, sizeof v, "0x%llx", value);
  msg_field(key, v, (size_t)n);
}

void msg_send(const char *kind) {
  if (body_overflow) {
    /* Cannot happen with the bounds above; say so rather than drop silently. */
    static const char marker[] = "agent_overflow:1:1";
    memcpy(body + body_len, marker, sizeof marker - 1);
    body_len += sizeof marker - 1;
  }
  size_t chars = base64_encode(body, body_len, b64);
  size_t parts = chars == 0 ? 1 : (chars + PART_CHARS - 1) / PART_CHARS;
  char line[LINE_MAX_LEN];
  for (size_t p = 0; p < parts; p++) {
    size_t off = p * PART_CHARS;
    size_t n = chars - off < PART_CHARS ? chars - off : PART_CHARS;
    /* The covered part starts after "<<". */
    int h = snprintf(line, sizeof line, "<<AM1|%s|%llu|%zu/%zu|%s|", run_nonce, next_seq, p + 1,
                     parts, kind);
    if (h < 0 || (size_t)h + n + 1 + 8 + 3 >= sizeof line) return;  /* kind too long: a bug */
    size_t len = (size_t)h;
    memcpy(line + len, b64 + off, n);
    len += n;
    line[len++] = '|';
    uint32_t crc = crc32_update(0, line + 2, len - 2);
    len += (size_t)snprintf(line + len, sizeof line - len, "%08x>>\n", crc);
    write_line(line, len);
    write_line(line, len);
  }
  next_seq++;
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    if (strcmp(kinds[k], kind) == 0) sent_per_kind[k]++;
}

unsigned msg_count(const char *kind) {
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    if (strcmp(kinds[k], kind) == 0) return sent_per_kind[k];
  return 0;
}

void agent_echo(const char *prefix, const char *buf, size_t len) {
  char line[600];
  size_t plen = strlen(prefix);
  if (plen > 200) plen = 200;
  while (len > 0) {
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl ? (size_t)(nl - buf) : len;
    size_t take = n < sizeof line - plen - 1 ? n : sizeof line - plen - 1;  /* a long line goes in pieces */
    memcpy(line, prefix, plen);
    memcpy(line + plen, buf, take);
    line[plen + take] = '\n';
    write_line(line, plen + take + 1);
    if (take < n) {
      buf += take;
      len -= take;
      continue;
    }
    buf += n + (nl ? 1 : 0);
    len -= n + (nl ? 1 : 0);
  }
}

void agent_log(const char *fmt, ...) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "archmatrix-agent: ");
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (m < 0) m = 0;
  size_t len = (size_t)n + (size_t)m;
  if (len > sizeof buf - 2) len = sizeof buf - 2;
  buf[len++] = '\n';
  if (console_fd >= 0)
    write_line(buf, len);
  else
    (void)!write(2, buf, len);
}
