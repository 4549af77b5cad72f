/* archmatrix guest agent: declarations shared by its files.
 *
 * The agent is /init (PID 1) of every Linux guest. It speaks the protocol of
 * docs/protocol.md; that document, not this code, is the contract with the
 * runner's console parser. */
#ifndef ARCHMATRIX_AGENT_H
#define ARCHMATRIX_AGENT_H

#include <stddef.h>
#include <stdint.h>

/* Host unit tests (C++) compile plan.c and facts.c and include this file. */
#ifdef __cplusplus
extern "C" {
#endif

#define AGENT_VERSION "archmatrix-agent 1.0"
#define PROTOCOL_VERSION "1"

/* The architecture this agent was compiled for, named as the runner names it. */
#if defined(__aarch64__)
#define AGENT_ARCH "aarch64"
#elif defined(__arm__)
#define AGENT_ARCH "armhf"
#elif defined(__x86_64__)
#define AGENT_ARCH "x86_64"
#else
#error "archmatrix-agent: unknown target architecture"
#endif

/* Protocol limits (docs/protocol.md). */
#define NONCE_LEN 16
#define OUTPUT_KEEP (64 * 1024)   /* bytes of stdout/stderr kept per stream */
#define BEAT_INTERVAL_MS 5000
#define PART_CHARS 96             /* base64 characters per framed line */

/* Our own bounds. */
#define PLAN_MAX (256 * 1024)     /* bytes of /archmatrix/plan we accept */
#define MAX_SCENARIOS 1024
#define MAX_ARGS 128              /* per scenario, not counting argv[0] */
#define DEFAULT_UID 65534

#define PLAN_PATH "/archmatrix/plan"
#define TMP_PATH "/tmp"
#define MODULES_DIR "/archmatrix/modules"
#define CHANNEL_MAX_PAYLOAD (1024 * 1024)  /* docs/protocol.md, "Frames" */
#define CHANNEL_NAME_MAX 64

/* ---- frame.c: encoding and the console ---- */

/* Standard base64 with '=' padding. `out` must hold 4 * ((n + 2) / 3) bytes;
 * returns the number of characters written (no terminator). */
size_t base64_encode(const void *in, size_t n, char *out);

/* zlib-compatible CRC-32 (IEEE 802.3). Start with crc = 0. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t n);

/* Where framed lines go, and the run's nonce (16 hex digits). */
void frame_init(int console_fd, const char *nonce);
int frame_console_fd(void);

/* One message is built at a time in a static buffer: msg_begin, fields, msg_send.
 * Keys are [a-z0-9_]+ constants. */
void msg_begin(void);
void msg_field(const char *key, const void *value, size_t len);
void msg_str(const char *key, const char *value);
void msg_uint(const char *key, unsigned long long value);
void msg_hex(const char *key, unsigned long long value);
/* Frames, checksums and writes the message (each line twice); SEQ += 1. */
void msg_send(const char *kind);
unsigned msg_count(const char *kind);

/* A plain (unframed) diagnostic line on the console, for a human reading the
 * log; the runner's parser ignores it. */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes `len` bytes of a scenario's output to the console as plain lines,
 * each starting with `prefix` (the plan's `echo`: bundles read by people). */
void agent_echo(const char *prefix, const char *buf, size_t len);

/* ---- facts.c ---- */

/* Probes the guest and sends the `facts` message. */
void facts_send(void);

/* ---- plan.c ---- */

struct scenario {
  const char *name;
  unsigned long long timeout_ms;
  unsigned long uid;
  const char *path;
  char *argv[MAX_ARGS + 2];  /* argv[0] = path, NULL-terminated */
  const char *error;         /* non-NULL: the plan line was malformed */
};

struct plan {
  char nonce[NONCE_LEN + 1];
  size_t count;
  struct scenario scenarios[MAX_SCENARIOS];
  size_t dropped;            /* scenario lines beyond MAX_SCENARIOS */
  char channel[CHANNEL_NAME_MAX + 1];  /* `channel <port>`: serve it after the scenarios */
  unsigned attempt;          /* `attempt <n>`: run --rerun-failures' attempt, 1 without the line */
  int echo;                  /* `echo`: also print each result as plain lines (bundles) */
};

/* Reads and parses the plan, then unlinks the file. Returns 0 on success,
 * -1 with a reason in `err` when there is no usable nonce. */
int plan_load(const char *path, struct plan *plan, char *err, size_t errlen);

/* Parses plan text in place: `text` holds `len` bytes and one more writable
 * byte after them; the plan's strings point into it. A malformed scenario
 * line becomes a scenario with `error` set; returns -1 with a reason in
 * `err` when there is no usable nonce or the text has a NUL byte. Pure (but
 * for agent_log), so host tests can feed it anything. */
int plan_parse(char *text, size_t len, struct plan *plan, char *err, size_t errlen);

/* ---- run.c ---- */

/* Set up once, before the first scenario: SIGCHLD is blocked and read
 * through a signalfd. */
int run_init(void);

/* Mounts a new, empty tmpfs on /tmp (mode 1777) in place of the old one.
 * Returns 0, or -1 with errno set. */
int fresh_tmp(void);

/* The attempt number every scenario sees as ARCHMATRIX_ATTEMPT (default 1). */
void run_set_attempt(unsigned attempt);
/* Non-zero: each result is also printed as plain lines (the plan's `echo`). */
void run_set_echo(int echo);

/* Runs one scenario under supervision and sends `begin`, `beat`s and `result`:
 * each in a fresh /tmp, with only fds 0, 1 and 2 open. */
void run_scenario(const struct scenario *s);

/* The signalfd that reports SIGCHLD, or -1 (then poll in short steps). */
int run_sigchld_fd(void);

/* Reaps any zombies (PID 1 inherits every orphan). */
void reap_zombies(void);

/* Kills every process but PID 1 and reaps them, waiting at most `wait_ms`. */
void kill_all_others(int wait_ms);

/* ---- channel.c: the data channel (docs/protocol.md, "Data channel") ---- */

/* finit_module()s every file in MODULES_DIR, in name order (the runner
 * numbers them dependencies first). No directory: nothing to do. */
void load_modules(void);

/* Opens the virtio port named `port`, does the handshake and serves put, get,
 * run, restore until bye or until the host goes away; then returns. */
void channel_serve(const char *port);

/* ---- small helpers (agent.c) ---- */

unsigned long long monotonic_ms(void);
/* Reads a small file into buf (NUL-terminated); returns bytes read or -1. */
long read_small_file(const char *path, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
