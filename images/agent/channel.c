/* The data channel (docs/protocol.md, "Data channel"): a virtio-serial port
 * on which the agent waits for work after the plan's scenarios, when the plan
 * says `channel <port-name>`.
 *
 * One job at a time. While a job runs, one poll() watches the program's
 * stdout and stderr pipes, SIGCHLD, the channel (stdin, kill) and the stdin
 * pipe; frames to the host are written with blocking writes, so a host that
 * reads slowly slows the program down instead of growing our memory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/random.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define HDR 8
#define CHUNK (64 * 1024)
#define KILL_GRACE_MS 10000
#define DRAIN_GRACE_MS 2000
#define MAX_ENV 256
/* 9p mounts: the largest msize the virtio transport takes (it caps larger
 * values), and the cache mode bench/exec_share.sh measured (README,
 * "Benchmarks"). */
#ifndef MOUNT_9P_MSIZE
#define MOUNT_9P_MSIZE 512000
#endif
#ifndef MOUNT_9P_CACHE
#define MOUNT_9P_CACHE "loose"
#endif

enum {
  T_PUT = 0x01, T_DATA = 0x02, T_CLOSE = 0x03, T_GET = 0x04, T_MOUNT = 0x05,
  T_RUN = 0x10, T_STDIN = 0x11, T_KILL = 0x12, T_WINSIZE = 0x13,
  T_RESTORE = 0x30, T_BYE = 0x3f,
  T_STDOUT = 0x81, T_STDERR = 0x82, T_EXIT = 0x83, T_OK = 0x84, T_ERROR = 0x85,
};

static int chan = -1;
static int chan_lost;  /* the host went away or sent garbage: end the session */
static unsigned char inbuf[HDR + CHANNEL_MAX_PAYLOAD + CHUNK];
static size_t inlen;
/* Output is read in pieces this large (one frame each): fewer, larger frames
 * are what makes the channel fast under TCG. */
#define OUT_READ (256 * 1024)
static char scratch[OUT_READ];

/* ---- kernel modules --------------------------------------------------- */

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

void load_modules(void) {
  struct dirent **names;
  int n = scandir(MODULES_DIR, &names, NULL, by_name);
  if (n < 0) return;  /* none: a built kernel, or no channel planned */
  for (int i = 0; i < n; i++) {
    char path[512];
    if (names[i]->d_name[0] != '.') {
      snprintf(path, sizeof path, "%s/%s", MODULES_DIR, names[i]->d_name);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST))
        agent_log("module %s: %s", names[i]->d_name, strerror(errno));
      if (fd >= 0) close(fd);
    }
    free(names[i]);
  }
  free(names);
}

/* ---- transport -------------------------------------------------------- */

/* /sys/class/virtio-ports/vportNpM/name holds the port's name; devtmpfs
 * makes /dev/vportNpM (we have no udev for /dev/virtio-ports/<name>). Puts
 * the port's device path in `path`, making the node if it is missing;
 * returns 0, or -1 when no port has that name. */
static int port_path(const char *want, char *path, size_t size) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d) return -1;
  int found = -1;
  for (struct dirent *e; found < 0 && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char sys[300], name[128], dev[32];
    snprintf(sys, sizeof sys, "/sys/class/virtio-ports/%s/name", e->d_name);
    if (read_small_file(sys, name, sizeof name) <= 0) continue;
    name[strcspn(name, "\n")] = '\0';
    if (strcmp(name, want) != 0) continue;
    snprintf(path, size, "/dev/%s", e->d_name);
    found = 0;
    unsigned maj, min;
    snprintf(sys, sizeof sys, "/sys/class/virtio-ports/%s/dev", e->d_name);
    if (access(path, F_OK) != 0 && read_small_file(sys, dev, sizeof dev) > 0 &&
        sscanf(dev, "%u:%u", &maj, &min) == 2)
      mknod(path, S_IFCHR | 0600, makedev(maj, min));
  }
  closedir(d);
  return found;
}

static int open_port(const char *want) {
  char path[300];
  if (port_path(want, path, sizeof path) != 0) return -1;
  return open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w, n -= (size_t)w;
  }
  return 0;
}

static void send_frame(int type, unsigned stream, const void *data, size_t len) {
  unsigned char h[HDR] = {(unsigned char)len, (unsigned char)(len >> 8), (unsigned char)(len >> 16),
                          (unsigned char)(len >> 24), (unsigned char)type, 0,
                          (unsigned char)stream, (unsigned char)(stream >> 8)};
  if (write_all(chan, h, HDR) != 0 || write_all(chan, data, len) != 0) {
    agent_log("channel write: %s", strerror(errno));
    chan_lost = 1;
  }
}

static void send_text(int type, unsigned stream, const char *text) {
  send_frame(type, stream, text, strlen(text));
}

/* Reads what is there (the caller polled); 0 at EOF or error. */
static int fill(void) {
  if (inlen == sizeof inbuf) return 1;
  ssize_t r;
  do r = read(chan, inbuf + inlen, sizeof inbuf - inlen);
  while (r < 0 && errno == EINTR);
  if (r <= 0) return 0;
  inlen += (size_t)r;
  return 1;
}

static void consume(size_t n) {
  memmove(inbuf, inbuf + n, inlen - n);
  inlen -= n;
}

struct frame {
  int type;
  unsigned stream;
  const unsigned char *data;
  size_t len;
};

/* 1: a whole frame is at the start of inbuf; 0: need more; -1: malformed. */
static int peek_frame(struct frame *f) {
  if (inlen < HDR) return 0;
  size_t len = inbuf[0] | (size_t)inbuf[1] << 8 | (size_t)inbuf[2] << 16 | (size_t)inbuf[3] << 24;
  if (len > CHANNEL_MAX_PAYLOAD || inbuf[5] != 0) return -1;
  if (inlen < HDR + len) return 0;
  *f = (struct frame){inbuf[4], inbuf[6] | (unsigned)inbuf[7] << 8, inbuf + HDR, len};
  return 1;
}

/* Blocks until a whole frame is there. 0: ok; -1: host gone or bad frame. */
static int next_frame(struct frame *f) {
  for (;;) {
    int k = peek_frame(f);
    if (k < 0) agent_log("channel: malformed frame header from the host");
    if (k != 0) return k > 0 ? 0 : -1;
    struct pollfd p = {.fd = chan, .events = POLLIN};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) return -1;
    if (p.revents && !fill()) return -1;
  }
}

/* Text lines until `want`; READY is resent every 100 ms while `ready`. */
static int await_line(const char *want, int ready) {
  unsigned long long next = 0;
  for (;;) {
    unsigned char *nl;
    while ((nl = memchr(inbuf, '\n', inlen))) {
      size_t n = (size_t)(nl - inbuf);
      int hit = n == strlen(want) && memcmp(inbuf, want, n) == 0;
      consume(n + 1);
      if (hit) return 0;
    }
    if (inlen == sizeof inbuf) inlen = 0;  /* no line that long is ours */
    unsigned long long now = monotonic_ms();
    if (ready && now >= next) {
      const char line[] = "AMCH1 READY " AGENT_VERSION "\n";
      if (write_all(chan, line, sizeof line - 1) != 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);  /* host not connected yet */
      }
      next = now + 100;
    }
    struct pollfd p = {.fd = chan, .events = POLLIN};
    int r = poll(&p, 1, ready ? 100 : -1);
    if (r > 0 && (p.revents & POLLIN) && !fill()) {
      if (!ready) return -1;
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
}

/* ---- fields (KEY:LEN:VALUE, as in console bodies) ---------------------- */

/* The next field of [*p, end); 0 when there is none, -1 when malformed. */
static int next_field(const unsigned char **p, const unsigned char *end, char *key, size_t keymax,
                      const unsigned char **val, size_t *vlen) {
  if (*p >= end) return 0;
  const unsigned char *c = *p;
  size_t k = 0;
  while (c < end && *c != ':' && k + 1 < keymax) key[k++] = (char)*c++;
  key[k] = '\0';
  if (c >= end || *c != ':') return -1;
  c++;
  size_t len = 0, digits = 0;
  while (c < end && *c >= '0' && *c <= '9' && digits < 10) len = len * 10 + (size_t)(*c++ - '0'), digits++;
  if (!digits || c >= end || *c != ':') return -1;
  c++;
  if ((size_t)(end - c) < len) return -1;
  *val = c;
  *vlen = len;
  *p = c + len;
  return 1;
}

static void field_append(char *buf, size_t *len, size_t max, const char *key, const char *val, size_t vlen) {
  int n = snprintf(buf + *len, max - *len, "%s:%zu:", key, vlen);
  if (n < 0 || *len + (size_t)n + vlen > max) return;
  *len += (size_t)n;
  memcpy(buf + *len, val, vlen);
  *len += vlen;
}

/* ---- files ------------------------------------------------------------ */

static void make_parents(char *path) {
  for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = '\0';
    mkdir(path, 0755);
    *s = '/';
  }
}

static int put_fd = -1;
static unsigned put_stream;
static unsigned put_mode;
static int put_failed;
static int put_is_dir;
static char put_dir[4096];

static void do_put(const struct frame *f) {
  char key[32], path[4096] = "";
  const unsigned char *p = f->data, *v;
  size_t vl;
  unsigned mode = 0644;
  int is_dir = 0;
  while (next_field(&p, f->data + f->len, key, sizeof key, &v, &vl) > 0) {
    if (strcmp(key, "path") == 0 && vl < sizeof path) memcpy(path, v, vl), path[vl] = '\0';
    if (strcmp(key, "mode") == 0) mode = (unsigned)strtoul(strndupa((const char *)v, vl), NULL, 8) & 07777;
    if (strcmp(key, "kind") == 0 && vl == 3 && memcmp(v, "dir", 3) == 0) is_dir = 1;
  }
  if (put_fd >= 0) close(put_fd);
  put_stream = f->stream, put_mode = mode, put_failed = 0, put_is_dir = is_dir;
  put_fd = -1;
  if (path[0] != '/') {
    put_failed = EINVAL;
    return;
  }
  make_parents(path);
  if (is_dir) {
    /* Its mode is set at close, so a read-only directory still gets its files first. */
    if (mkdir(path, 0700) != 0 && errno != EEXIST) put_failed = errno;
    snprintf(put_dir, sizeof put_dir, "%s", path);
    return;
  }
  put_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (put_fd < 0) put_failed = errno;
}

static void do_put_data(const struct frame *f) {
  if (f->stream != put_stream || put_fd < 0) return;
  if (!put_failed && write_all(put_fd, f->data, f->len) != 0) put_failed = errno;
}

static void do_put_close(const struct frame *f) {
  if (put_is_dir && f->stream == put_stream) {
    put_is_dir = 0;
    if (!put_failed && chmod(put_dir, put_mode) != 0) put_failed = errno;
    if (put_failed)
      send_text(T_ERROR, f->stream, strerror(put_failed));
    else
      send_frame(T_OK, f->stream, "", 0);
    return;
  }
  if (f->stream == put_stream && put_fd >= 0 && fchmod(put_fd, put_mode) != 0 && !put_failed) put_failed = errno;
  if (put_fd >= 0 && close(put_fd) != 0 && !put_failed) put_failed = errno;
  put_fd = -1;
  if (f->stream != put_stream) put_failed = EBADF;
  if (put_failed)
    send_text(T_ERROR, f->stream, strerror(put_failed));
  else
    send_frame(T_OK, f->stream, "", 0);
}

static void do_get(const struct frame *f) {
  char key[32], path[4096] = "";
  const unsigned char *p = f->data, *v;
  size_t vl;
  while (next_field(&p, f->data + f->len, key, sizeof key, &v, &vl) > 0)
    if (strcmp(key, "path") == 0 && vl < sizeof path) memcpy(path, v, vl), path[vl] = '\0';
  /* O_NONBLOCK: a FIFO left there must not hang the session; only a
   * regular file is sent, a read error ends the transfer with `error`. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st = {0};
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    fd = -1;
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
  }
  if (fd < 0) {
    send_text(T_ERROR, f->stream, strerror(errno));
    return;
  }
  fcntl(fd, F_SETFL, 0);
  ssize_t r;
  while ((r = read(fd, scratch, sizeof scratch)) > 0) send_frame(T_DATA, f->stream, scratch, (size_t)r);
  int e = errno;
  close(fd);
  if (r < 0)
    send_text(T_ERROR, f->stream, strerror(e));
  else
    send_frame(T_CLOSE, f->stream, "", 0);
}

/* A host directory shared over virtio-9p, mounted read-only at its path
 * (made in our tmpfs root). A message rather than a plan line, so a guest
 * restored from a snapshot gets its mounts after the restore. */
static void do_mount(const struct frame *f) {
  char key[32], tag[64] = "", path[4096] = "", cache[16] = MOUNT_9P_CACHE;
  const unsigned char *p = f->data, *v;
  size_t vl;
  int ro = 1;
  while (next_field(&p, f->data + f->len, key, sizeof key, &v, &vl) > 0) {
    if (strcmp(key, "tag") == 0 && vl < sizeof tag) memcpy(tag, v, vl), tag[vl] = '\0';
    if (strcmp(key, "path") == 0 && vl < sizeof path) memcpy(path, v, vl), path[vl] = '\0';
    if (strcmp(key, "ro") == 0) ro = !(vl == 1 && v[0] == '0');
    if (strcmp(key, "cache") == 0 && vl < sizeof cache) memcpy(cache, v, vl), cache[vl] = '\0';
  }
  const char *bad = NULL;
  if (!tag[0] || strchr(tag, ',')) bad = "mount: no tag";
  else if (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./")) bad = "mount: the path must be absolute and normal";
  else if (strcmp(path, "/") == 0) bad = "mount: refusing to mount over /";
  else if (strchr(cache, ',')) bad = "mount: bad cache mode";
  if (bad) {
    send_text(T_ERROR, f->stream, bad);
    return;
  }
  char opts[256];
  snprintf(opts, sizeof opts, "trans=virtio,version=9p2000.L,msize=%d,cache=%s", MOUNT_9P_MSIZE, cache);
  make_parents(path);
  mkdir(path, 0755);
  if (mount(tag, path, "9p", (ro ? MS_RDONLY : 0) | MS_NOSUID | MS_NODEV, opts) != 0) {
    char msg[4400];
    snprintf(msg, sizeof msg, "mount %s on %s: %s", tag, path, strerror(errno));
    send_text(T_ERROR, f->stream, msg);
    return;
  }
  send_frame(T_OK, f->stream, "", 0);
}

/* First message after a snapshot restore: every restored copy of one saved
 * guest would otherwise share its clock, its random state (the same ASLR
 * layout and /dev/urandom bytes in every restore) and its run's nonce. */
static void do_restore(const struct frame *f) {
  char key[32], nonce[17] = "";
  const unsigned char *p = f->data, *v;
  size_t vl;
  while (next_field(&p, f->data + f->len, key, sizeof key, &v, &vl) > 0) {
    if (strcmp(key, "nonce") == 0 && vl == 16) {
      int hex = 1;
      for (size_t i = 0; i < 16; i++) hex &= (v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f');
      if (hex) memcpy(nonce, v, 16), nonce[16] = '\0';
    }
    if (strcmp(key, "time_ns") == 0) {
      unsigned long long ns = strtoull(strndupa((const char *)v, vl), NULL, 10);
      struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
      clock_settime(CLOCK_REALTIME, &ts);
    } else if (strcmp(key, "entropy") == 0 && vl <= 512) {
      struct {
        struct rand_pool_info info;
        unsigned char bytes[512];
      } e;
      e.info.entropy_count = (int)(vl * 8);
      e.info.buf_size = (int)vl;
      memcpy(e.bytes, v, vl);
      int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
      /* Credited entropy alone waits for the next scheduled reseed: force
       * one, so the very next exec's ASLR and getrandom() draw on it. */
      if (fd >= 0) ioctl(fd, RNDADDENTROPY, &e), ioctl(fd, RNDRESEEDCRNG), close(fd);
    }
  }
  /* The facts are measured again, in this guest, under the run's nonce (the
   * runner checks them against the cell after every restore). */
  if (nonce[0]) {
    frame_init(frame_console_fd(), nonce);
    facts_send();
  }
  send_frame(T_OK, f->stream, "", 0);
}

/* ---- running a program ------------------------------------------------ */

struct job {
  unsigned stream;
  char *path, *cwd;
  char *argv[MAX_ARGS + 2];
  char *envp[MAX_ENV + 1];
  unsigned long uid;
  unsigned long long timeout_ms;
  int cores;  /* the host asked for core files: unlimited RLIMIT_CORE */
  int tty;    /* on a pseudo-terminal (stdin, stdout and stderr), rows x cols */
  unsigned short rows, cols;
  char *gdb_port;  /* the program is gdbserver: it talks to gdb over this port */
  char gdb_dev[300];
  char arena[CHANNEL_MAX_PAYLOAD + 4096];
  size_t used;
};

static struct job job;

static char *keep(const unsigned char *v, size_t n) {
  if (job.used + n + 1 > sizeof job.arena) return NULL;
  char *s = job.arena + job.used;
  memcpy(s, v, n);
  s[n] = '\0';
  job.used += n + 1;
  return s;
}

static void set_env(char *kv) {
  size_t name = strcspn(kv, "=");
  size_t i = 0;
  for (; job.envp[i]; i++)
    if (strncmp(job.envp[i], kv, name) == 0 && job.envp[i][name] == '=') {
      job.envp[i] = kv;
      return;
    }
  if (i < MAX_ENV) job.envp[i] = kv, job.envp[i + 1] = NULL;
}

static const char *parse_run(const struct frame *f) {
  memset(&job, 0, offsetof(struct job, arena));
  job.used = 0;
  job.stream = f->stream;
  job.uid = DEFAULT_UID;
  job.cwd = "/tmp";
  static char *const defaults[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                   "HOME=/tmp", "TMPDIR=/tmp"};
  for (size_t i = 0; i < 3; i++) job.envp[i] = defaults[i];
  size_t argc = 0;
  char key[32];
  const unsigned char *p = f->data, *v;
  size_t vl;
  int k;
  while ((k = next_field(&p, f->data + f->len, key, sizeof key, &v, &vl)) > 0) {
    char *s = keep(v, vl);
    if (!s) return "run: too large";
    if (strcmp(key, "arg") == 0) {
      if (argc >= MAX_ARGS + 1) return "run: too many arguments";
      job.argv[argc++] = s;
    } else if (strcmp(key, "path") == 0) {
      job.path = s;
    } else if (strcmp(key, "env") == 0) {
      if (!strchr(s, '=')) return "run: env entry without '='";
      set_env(s);
    } else if (strcmp(key, "cwd") == 0) {
      job.cwd = s;
    } else if (strcmp(key, "uid") == 0) {
      job.uid = strtoul(s, NULL, 10);
    } else if (strcmp(key, "timeout_ms") == 0) {
      job.timeout_ms = strtoull(s, NULL, 10);
    } else if (strcmp(key, "cores") == 0) {
      job.cores = strcmp(s, "1") == 0;
    } else if (strcmp(key, "gdb_port") == 0) {
      job.gdb_port = s;
    } else if (strcmp(key, "tty") == 0) {  /* "<rows> <cols>" */
      unsigned r = 0, c = 0;
      if (sscanf(s, "%u %u", &r, &c) != 2 || !r || !c || r > 10000 || c > 10000) return "run: bad tty size";
      job.tty = 1, job.rows = (unsigned short)r, job.cols = (unsigned short)c;
    }
  }
  if (k < 0) return "run: malformed fields";
  if (!job.path || job.path[0] != '/') return "run: no absolute path";
  if (!argc) job.argv[argc++] = job.path;
  job.argv[argc] = NULL;
  if (job.gdb_port) {
    /* gdbserver --once --no-startup-with-shell <the port's device> PROGRAM
     * ARGS (no shell in the guest): argv[0] is gdbserver's, the rest the
     * program's. The port is the run's user's. */
    if (argc + 3 > MAX_ARGS + 1) return "run: too many arguments";
    if (port_path(job.gdb_port, job.gdb_dev, sizeof job.gdb_dev) != 0) return "run: no virtio port for gdb";
    if (chown(job.gdb_dev, (uid_t)job.uid, (gid_t)job.uid) != 0) return "run: cannot give the gdb port to the user";
    memmove(&job.argv[4], &job.argv[1], argc * sizeof job.argv[0]);  /* with the NULL */
    job.argv[1] = "--once";
    job.argv[2] = "--no-startup-with-shell";
    job.argv[3] = job.gdb_dev;
  }
  return NULL;
}

static void child(int in_r, int out_w, int err_w, int errfd, const char *tty) {
  const char *stage = "dup2", *what = "stdio";
  setsid();
  if (tty) {
    /* The session's controlling terminal: job control and ^C work in a shell. */
    stage = "open", what = tty;
    int t = open(tty, O_RDWR);
    if (t < 0) goto fail;
    stage = "TIOCSCTTY";
    if (ioctl(t, TIOCSCTTY, 0) != 0) goto fail;
    in_r = out_w = err_w = t;
    stage = "dup2", what = "stdio";
  }
  if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) goto fail;
  if (job.uid != 0) {
    what = "";
    stage = "setgroups";
    if (setgroups(0, NULL) != 0) goto fail;
    stage = "setgid";
    if (setgid((gid_t)job.uid) != 0) goto fail;
    stage = "setuid";
    if (setuid((uid_t)job.uid) != 0) goto fail;
  }
  stage = "chdir";
  what = job.cwd;
  if (chdir(job.cwd) != 0) goto fail;
  if (job.cores) {
    /* The kernel writes them to CORE_DIR (core_pattern, set at the start of
     * the session), whatever the cwd: exec's cwd is a read-only share. */
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &unlimited);
  }
  if (job.gdb_port) {
    /* A virtio port reads as EOF (and polls POLLHUP) while nobody is
     * connected on the host, and gdbserver would take that for gdb leaving:
     * the program waits, not yet started, until gdb connects. */
    stage = "open";
    what = job.gdb_dev;
    int port = open(job.gdb_dev, O_RDONLY | O_NOCTTY);
    if (port < 0) goto fail;
    for (;;) {
      struct pollfd p = {.fd = port, .events = POLLIN};
      if (poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP)) break;
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    close(port);  /* a port has one opener at a time: gdbserver is next */
  }
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  stage = "exec";
  what = job.path;
  execve(job.path, job.argv, job.envp);
fail:;
  int e = errno;
  const char *hint =
      e == ENOENT && what == job.path && access(job.path, F_OK) == 0 ? " (its ELF interpreter is missing)" : "";
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s%s%s: %s%s", stage, what[0] ? " " : "", what, strerror(e), hint);
  if (n > 0) (void)!write(errfd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
  _exit(127);
}

/* ---- core files --------------------------------------------------------- */

#define CORE_DIR "/tmp/.archmatrix-cores"
#define MAX_CORES 8

/* Every core dump of the session goes to CORE_DIR/core.<pid>, written by the
 * dumping process itself (uid 65534 for unprivileged jobs: the directory is
 * sticky and open to all). Best effort: without it, no core comes back. */
static void cores_init(void) {
  if (mkdir(CORE_DIR, 01777) != 0 && errno != EEXIST) return;
  chmod(CORE_DIR, 01777);
  static const char pattern[] = CORE_DIR "/core.%p";
  int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (write(fd, pattern, sizeof pattern - 1) < 0) agent_log("core_pattern: %s", strerror(errno));
  close(fd);
}

/* The core files the job left (any of its processes), newline-separated,
 * at most MAX_CORES; each is moved aside so the next job's list is its own. */
static size_t cores_list(char *out, size_t max) {
  size_t len = 0;
  out[0] = '\0';
  DIR *d = opendir(CORE_DIR);
  if (!d) return 0;
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)) && n < MAX_CORES) {
    if (strncmp(e->d_name, "core.", 5) != 0 || strchr(e->d_name + 5, '.')) continue;
    char from[300], to[320];
    snprintf(from, sizeof from, CORE_DIR "/%s", e->d_name);
    snprintf(to, sizeof to, CORE_DIR "/%s.j%u", e->d_name, job.stream);
    if (rename(from, to) != 0) continue;
    int w = snprintf(out + len, max - len, "%s%s", len ? "\n" : "", to);
    if (w < 0 || (size_t)w >= max - len) break;
    len += (size_t)w;
    n++;
  }
  closedir(d);
  return len;
}

static void send_exit(const char *status, const char *value, unsigned long long ms) {
  char body[4096], num[32], cores[MAX_CORES * 330];
  size_t len = 0;
  field_append(body, &len, sizeof body, "status", status, strlen(status));
  field_append(body, &len, sizeof body, "value", value, strlen(value));
  snprintf(num, sizeof num, "%llu", ms);
  field_append(body, &len, sizeof body, "duration_ms", num, strlen(num));
  size_t cl = job.cores ? cores_list(cores, sizeof cores) : 0;
  if (cl) field_append(body, &len, sizeof body, "cores", cores, cl);
  send_frame(T_EXIT, job.stream, body, len);
}

/* Pipe -> frames; returns 0 at EOF. At most a few reads per wakeup so one
 * stream cannot starve the clock or the other. */
static int pump(int *fd, int type) {
  for (int i = 0; *fd >= 0 && i < 16; i++) {
    ssize_t r = read(*fd, scratch, sizeof scratch);
    if (r > 0) {
      send_frame(type, job.stream, scratch, (size_t)r);
      continue;
    }
    if (r < 0 && (errno == EINTR)) continue;
    if (r < 0 && errno == EAGAIN) return 1;
    close(*fd);
    *fd = -1;
  }
  return *fd >= 0;
}

static void reap_job(pid_t pid, int *reaped, int *wstatus) {
  struct signalfd_siginfo si;
  int fd = run_sigchld_fd();
  if (fd >= 0)
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
    }
  pid_t w;
  int st;
  while ((w = waitpid(-1, &st, WNOHANG)) > 0)
    if (w == pid) *reaped = 1, *wstatus = st;
}

/* Consumes the run frame (after copying what it needs), so frames behind it
 * (stdin, kill) are at the start of inbuf while the program runs. */
static void run_job(const struct frame *f) {
  const char *bad = parse_run(f);
  consume(HDR + f->len);
  if (bad) {
    send_exit("error", bad, 0);
    return;
  }
  reap_zombies();
  int ip[2] = {-1, -1}, op[2] = {-1, -1}, ep[2] = {-1, -1}, xp[2] = {-1, -1};
  if (pipe2(ip, O_CLOEXEC) || pipe2(op, O_CLOEXEC) || pipe2(ep, O_CLOEXEC) || pipe2(xp, O_CLOEXEC)) {
    send_exit("error", strerror(errno), 0);
    for (int i = 0; i < 2; i++) {
      if (ip[i] >= 0) close(ip[i]);
      if (op[i] >= 0) close(op[i]);
      if (ep[i] >= 0) close(ep[i]);
      if (xp[i] >= 0) close(xp[i]);
    }
    return;
  }
  fcntl(op[0], F_SETFL, O_NONBLOCK);
  fcntl(ep[0], F_SETFL, O_NONBLOCK);
  fcntl(ip[1], F_SETFL, O_NONBLOCK);
  fcntl(op[0], F_SETPIPE_SZ, OUT_READ);  /* a writer blocks less often; best effort */
  /* A terminal instead of the pipes: its master is both ends here, and
   * stderr is on it too (as in a terminal), so the err pipe is closed. */
  int master = -1;
  char tty_name[64] = "";
  if (job.tty) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    const char *name = master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0 ? ptsname(master) : NULL;
    if (!name || strlen(name) >= sizeof tty_name) {
      send_exit("error", master < 0 ? "no pseudo-terminal (/dev/ptmx)" : "pseudo-terminal setup failed", 0);
      if (master >= 0) close(master);
      for (int i = 0; i < 2; i++) close(ip[i]), close(op[i]), close(ep[i]), close(xp[i]);
      return;
    }
    strcpy(tty_name, name);
    struct winsize ws = {.ws_row = job.rows, .ws_col = job.cols};
    ioctl(master, TIOCSWINSZ, &ws);
  }
  const unsigned long long start = monotonic_ms();
  pid_t pid = fork();
  if (pid == 0) child(ip[0], op[1], ep[1], xp[1], job.tty ? tty_name : NULL);
  int fork_errno = errno;
  close(ip[0]), close(op[1]), close(ep[1]), close(xp[1]);
  int in_w = ip[1], out = op[0], err = ep[0];
  if (master >= 0) {
    close(in_w), close(out), close(err);
    in_w = fcntl(master, F_DUPFD_CLOEXEC, 3);
    out = master, err = -1;
    fcntl(out, F_SETFL, O_NONBLOCK);
    fcntl(in_w, F_SETFL, O_NONBLOCK);
  }
  if (pid < 0) {
    close(in_w), close(out), close(err), close(xp[0]);
    send_exit("error", strerror(fork_errno), 0);
    return;
  }
  char why[512];
  ssize_t wn;
  do wn = read(xp[0], why, sizeof why - 1);
  while (wn < 0 && errno == EINTR);
  close(xp[0]);
  if (wn > 0) {
    why[wn] = '\0';
    waitpid(pid, NULL, 0);
    close(in_w), close(out), close(err);
    send_exit("error", why, monotonic_ms() - start);
    return;
  }

  /* stdin bytes not yet written to the pipe: the payload of one frame, kept
   * in inbuf (we stop reading the channel until it is written). */
  size_t in_off = 0, in_left = 0;
  int in_pending = 0, in_eof = 0;
  const unsigned long long deadline = job.timeout_ms ? start + job.timeout_ms : ~0ULL;
  unsigned long long killed_at = 0, end = 0;
  int reaped = 0, wstatus = 0, timed_out = 0, host_gone = 0;
  const int sigfd = run_sigchld_fd();
  while (!reaped) {
    unsigned long long now = monotonic_ms();
    if (!timed_out && now >= deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      timed_out = 1;
      killed_at = now;
    }
    if (timed_out && now >= killed_at + KILL_GRACE_MS) {
      end = now;
      break;
    }
    unsigned long long wake = timed_out ? killed_at + KILL_GRACE_MS : deadline;
    struct pollfd fds[5];
    nfds_t n = 0;
    int i_out = -1, i_err = -1, i_chan = -1, i_in = -1;
    if (out >= 0) i_out = (int)n, fds[n++] = (struct pollfd){.fd = out, .events = POLLIN};
    if (err >= 0) i_err = (int)n, fds[n++] = (struct pollfd){.fd = err, .events = POLLIN};
    if (!in_pending && !host_gone) i_chan = (int)n, fds[n++] = (struct pollfd){.fd = chan, .events = POLLIN};
    if (in_pending && in_w >= 0) i_in = (int)n, fds[n++] = (struct pollfd){.fd = in_w, .events = POLLOUT};
    if (sigfd >= 0) fds[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    long long ms = wake == ~0ULL ? 60000 : (long long)(wake - now);
    if (ms > 60000) ms = 60000;
    if (sigfd < 0 && ms > 100) ms = 100;
    if (poll(fds, n, (int)(ms < 0 ? 0 : ms)) > 0) {
      if (i_out >= 0 && fds[i_out].revents) pump(&out, T_STDOUT);
      if (i_err >= 0 && fds[i_err].revents) pump(&err, T_STDERR);
      if (i_in >= 0 && fds[i_in].revents) {
        ssize_t w = write(in_w, inbuf + HDR + in_off, in_left);
        if (w > 0) in_off += (size_t)w, in_left -= (size_t)w;
        if (w < 0 && errno != EAGAIN && errno != EINTR) in_left = 0;  /* reader gone: drop */
        if (!in_left) {
          consume(HDR + in_off);
          in_pending = 0;
        }
      }
      if (i_chan >= 0 && fds[i_chan].revents && !fill()) host_gone = 1;
    }
    /* Frames that arrived while the program runs: stdin and kill. */
    struct frame fr;
    int k;
    while (!in_pending && (k = peek_frame(&fr)) != 0) {
      if (k < 0) {
        agent_log("channel: malformed frame header from the host");
        host_gone = 1;
        break;
      }
      if (fr.type == T_STDIN && fr.stream == job.stream && fr.len && !in_eof && in_w >= 0) {
        in_pending = 1, in_off = 0, in_left = fr.len;
        break;  /* consumed once written */
      }
      if (fr.type == T_STDIN && fr.stream == job.stream && !fr.len && in_w >= 0) close(in_w), in_w = -1, in_eof = 1;
      if (fr.type == T_KILL && fr.stream == job.stream) kill(-pid, SIGKILL);
      if (fr.type == T_WINSIZE && fr.stream == job.stream && job.tty && in_w >= 0 && fr.len < 32) {
        char size[32];
        unsigned r = 0, c = 0;
        memcpy(size, fr.data, fr.len);
        size[fr.len] = '\0';
        struct winsize ws;
        if (sscanf(size, "%u %u", &r, &c) == 2 && r && c && r <= 10000 && c <= 10000) {
          ws = (struct winsize){.ws_row = (unsigned short)r, .ws_col = (unsigned short)c};
          ioctl(in_w, TIOCSWINSZ, &ws);  /* the kernel sends SIGWINCH to the foreground */
        }
      }
      if (fr.type == T_BYE) host_gone = 1;
      consume(HDR + fr.len);
    }
    if (host_gone && !timed_out) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
    reap_job(pid, &reaped, &wstatus);
    if (reaped) end = monotonic_ms();
  }
  if (in_pending) consume(HDR + in_off + in_left), in_pending = 0;
  if (in_w >= 0) close(in_w);
  kill(-pid, SIGKILL);
  kill_all_others(DRAIN_GRACE_MS);
  unsigned long long until = monotonic_ms() + DRAIN_GRACE_MS;
  while (out >= 0 || err >= 0) {
    struct pollfd fds[2];
    int types[2];
    int *which[2];
    nfds_t n = 0;
    if (out >= 0) which[n] = &out, types[n] = T_STDOUT, fds[n++] = (struct pollfd){.fd = out, .events = POLLIN};
    if (err >= 0) which[n] = &err, types[n] = T_STDERR, fds[n++] = (struct pollfd){.fd = err, .events = POLLIN};
    unsigned long long now = monotonic_ms();
    if (now >= until) break;
    if (poll(fds, n, (int)(until - now)) > 0)
      for (nfds_t i = 0; i < n; i++)
        if (fds[i].revents) pump(which[i], types[i]);
  }
  if (out >= 0) close(out);
  if (err >= 0) close(err);
  reap_zombies();

  char value[32];
  if (timed_out) {
    send_exit("timeout", "0", end - start);
  } else if (WIFEXITED(wstatus)) {
    snprintf(value, sizeof value, "%d", WEXITSTATUS(wstatus));
    send_exit("exit", value, end - start);
  } else if (WIFSIGNALED(wstatus)) {
    snprintf(value, sizeof value, "%d", WTERMSIG(wstatus));
    send_exit("signal", value, end - start);
  } else {
    snprintf(value, sizeof value, "wait status 0x%x", (unsigned)wstatus);
    send_exit("error", value, end - start);
  }
  if (host_gone) chan_lost = 1;
}

/* ---- the session ------------------------------------------------------ */

void channel_serve(const char *port) {
  for (unsigned long long until = monotonic_ms() + 10000; (chan = open_port(port)) < 0;) {
    if (monotonic_ms() >= until) {
      agent_log("channel: no virtio port named %s (no virtio_console?)", port);
      return;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  cores_init();
  /* Pseudo-terminals for jobs that ask for one (`tty`: a shell). */
  if (mkdir("/dev/pts", 0755) == 0 || errno == EEXIST)
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666") != 0 && errno != EBUSY)
      agent_log("devpts: %s", strerror(errno));
  if (await_line("AMCH1 ACK", 1) != 0) return;
  const char go[] = "AMCH1 GO\n";
  if (write_all(chan, go, sizeof go - 1) != 0 || await_line("AMCH1 BEGIN", 0) != 0) {
    agent_log("channel: handshake failed");
    return;
  }
  struct frame f;
  while (!chan_lost && next_frame(&f) == 0) {
    size_t total = HDR + f.len;
    switch (f.type) {
      case T_PUT: do_put(&f); break;
      case T_DATA: do_put_data(&f); break;
      case T_CLOSE: do_put_close(&f); break;
      case T_GET: do_get(&f); break;
      case T_MOUNT: do_mount(&f); break;
      case T_RESTORE: do_restore(&f); break;
      case T_RUN: run_job(&f); total = 0; break;  /* consumed it itself */
      case T_BYE: return;
      default: break;  /* stdin/kill without a job, or unknown: ignored */
    }
    if (total) consume(total);
  }
}
