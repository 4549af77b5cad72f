/* Runs one scenario under supervision (docs/protocol.md, kinds begin, beat,
 * result).
 *
 * Each scenario gets a /tmp of its own (a new, empty tmpfs), so nothing one
 * scenario leaves there, a full tmpfs included, reaches the next. The child
 * gets its own session, pipes for stdout/stderr, /dev/null for stdin, only
 * fds 0, 1 and 2, the plan's uid, cwd /tmp and a fixed small environment. The parent
 * never blocks on the child: both pipes are non-blocking, the first
 * OUTPUT_KEEP bytes of each are kept and the rest counted and thrown away,
 * SIGCHLD arrives through a signalfd in the same poll(). Scenario output
 * therefore never reaches the console directly. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

/* How long to wait for a SIGKILLed process that does not die (stuck in the
 * kernel) before reporting the timeout anyway. */
#define KILL_GRACE_MS 10000
/* How long to wait for the pipes to reach EOF once every process is killed. */
#define DRAIN_GRACE_MS 2000
/* Reads per stream before going back to poll(), so a fast writer cannot keep
 * us from the clock. */
#define READS_PER_WAKEUP 16

struct stream {
  int fd;
  char *buf;
  size_t kept;
  unsigned long long dropped;
};

static char out_buf[OUTPUT_KEEP], err_buf[OUTPUT_KEEP];
static char scratch[64 * 1024];
static int sigchld_fd = -1;
static sigset_t chld_set;

static char attempt_env[32] = "ARCHMATRIX_ATTEMPT=1";
static char *const child_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/tmp",
    "TMPDIR=/tmp",
    attempt_env,
    NULL,
};

static int echo_results;

void run_set_echo(int echo) { echo_results = echo; }

void run_set_attempt(unsigned attempt) {
  snprintf(attempt_env, sizeof attempt_env, "ARCHMATRIX_ATTEMPT=%u", attempt);
}

int run_init(void) {
  sigemptyset(&chld_set);
  sigaddset(&chld_set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld_set, NULL);
  sigchld_fd = signalfd(-1, &chld_set, SFD_NONBLOCK | SFD_CLOEXEC);
  return sigchld_fd < 0 ? -1 : 0;
}

int run_sigchld_fd(void) { return sigchld_fd; }

static void drain_signalfd(void) {
  struct signalfd_siginfo si;
  if (sigchld_fd < 0) return;
  while (read(sigchld_fd, &si, sizeof si) == (ssize_t)sizeof si) {
  }
}

void reap_zombies(void) {
  drain_signalfd();
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

/* poll() for at most `ms`, waking early on SIGCHLD or pipe activity. */
static int wait_events(struct pollfd *fds, nfds_t n, long long ms) {
  if (ms < 0) ms = 0;
  if (ms > 60000) ms = 60000;
  /* Without a signalfd, SIGCHLD cannot wake us: poll in short steps. */
  if (sigchld_fd < 0 && ms > 100) ms = 100;
  return poll(fds, n, (int)ms);
}

void kill_all_others(int wait_ms) {
  /* From PID 1, kill(-1) reaches every process except ourselves. */
  kill(-1, SIGKILL);
  unsigned long long until = monotonic_ms() + (unsigned long long)wait_ms;
  for (;;) {
    drain_signalfd();
    pid_t w;
    while ((w = waitpid(-1, NULL, WNOHANG)) > 0) {
    }
    if (w < 0 && errno == ECHILD) return;  /* no children left at all */
    unsigned long long now = monotonic_ms();
    if (now >= until) return;
    struct pollfd p = {.fd = sigchld_fd, .events = POLLIN};
    wait_events(&p, sigchld_fd < 0 ? 0 : 1, (long long)(until - now));
  }
}

/* Reads what is available; returns when the pipe is empty, at EOF, or after
 * READS_PER_WAKEUP reads. */
static void stream_read(struct stream *st) {
  for (int i = 0; st->fd >= 0 && i < READS_PER_WAKEUP; i++) {
    size_t room = OUTPUT_KEEP - st->kept;
    ssize_t r = room ? read(st->fd, st->buf + st->kept, room) : read(st->fd, scratch, sizeof scratch);
    if (r > 0) {
      if (room)
        st->kept += (size_t)r;
      else
        st->dropped += (unsigned long long)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    close(st->fd);  /* EOF, or an error we cannot do anything about */
    st->fd = -1;
  }
}

static void send_result(const char *name, const char *status, const char *value,
                        unsigned long long duration_ms, const struct stream *out,
                        const struct stream *err) {
  msg_begin();
  msg_str("name", name);
  msg_str("status", status);
  msg_str("value", value);
  msg_uint("duration_ms", duration_ms);
  msg_field("stdout", out ? out->buf : "", out ? out->kept : 0);
  msg_uint("stdout_dropped", out ? out->dropped : 0);
  msg_field("stderr", err ? err->buf : "", err ? err->kept : 0);
  msg_uint("stderr_dropped", err ? err->dropped : 0);
  msg_send("result");
  if (echo_results) {
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s| ", name);
    if (out) agent_echo(prefix, out->buf, out->kept);
    snprintf(prefix, sizeof prefix, "%s|2 ", name);
    if (err) agent_echo(prefix, err->buf, err->kept);
    agent_log("result %s: %s %s after %llu ms%s", name, status, value, duration_ms,
              (out && out->dropped) || (err && err->dropped) ? " (output beyond 64 KiB dropped)" : "");
  }
}

/* Replaces /tmp with a new, empty tmpfs. Every process of the previous
 * scenario is dead by now, so the old one is normally unmounted at once; a
 * lazy unmount covers a mount that is still busy anyway. Returns 0, or -1
 * with errno set when the new tmpfs cannot be mounted. */
int fresh_tmp(void) {
  if (umount2(TMP_PATH, 0) != 0 && errno != EINVAL) umount2(TMP_PATH, MNT_DETACH);
  if (mount("tmpfs", TMP_PATH, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) return -1;
  return chmod(TMP_PATH, 01777);
}

/* In the child, between fork and exec. Any failure is written to `errfd` (a
 * close-on-exec pipe: the parent reads EOF when exec succeeds). */
static void child_exec(const struct scenario *s, int out_w, int err_w, int errfd) {
  char msg[512];
  const char *stage = "stdin";
  const char *what = "/dev/null";
  setsid();
  /* Close-on-exec, so the scenario gets fd 0 and not a second copy of it
   * (fds 0-2 are always open here, so `in` is never 0 itself). */
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    /* No /dev/null: an empty pipe gives the same EOF. */
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) goto fail;
    close(p[1]);
    in = p[0];
  }
  if (dup2(in, 0) < 0) goto fail;
  close(in);
  stage = "dup2";
  what = "stdout/stderr";
  if (dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) goto fail;
  if (s->uid != 0) {
    gid_t gid = (gid_t)s->uid;
    uid_t uid = (uid_t)s->uid;
    what = "";
    stage = "setgroups";
    if (setgroups(0, NULL) != 0) goto fail;
    stage = "setgid";
    if (setgid(gid) != 0) goto fail;
    stage = "setuid";
    if (setuid(uid) != 0) goto fail;
  }
  stage = "chdir";
  what = "/tmp";
  if (chdir("/tmp") != 0) goto fail;
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  stage = "exec";
  what = s->path;
  execve(s->path, s->argv, child_env);
fail:;
  int e = errno;
  /* execve says ENOENT for an existing file whose ELF interpreter is missing. */
  const char *hint =
      e == ENOENT && what == s->path && access(s->path, F_OK) == 0 ? " (its ELF interpreter is missing)" : "";
  int n = snprintf(msg, sizeof msg, "%s%s%s: %s%s", stage, what[0] ? " " : "", what, strerror(e), hint);
  if (n > 0) (void)!write(errfd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
  _exit(127);
}

static void error_result(const struct scenario *s, const char *what, int e) {
  char value[256];
  snprintf(value, sizeof value, "%s: %s", what, strerror(e));
  send_result(s->name, "error", value, 0, NULL, NULL);
}

void run_scenario(const struct scenario *s) {
  msg_begin();
  msg_str("name", s->name);
  msg_send("begin");
  if (s->error) {
    send_result(s->name, "error", s->error, 0, NULL, NULL);
    return;
  }
  reap_zombies();
  if (fresh_tmp() != 0) {
    error_result(s, "a fresh /tmp (tmpfs)", errno);
    return;
  }

  int op[2] = {-1, -1}, ep[2] = {-1, -1}, xp[2] = {-1, -1};
  if (pipe2(op, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0 || pipe2(xp, O_CLOEXEC) != 0) {
    int e = errno;
    for (int i = 0; i < 2; i++) {
      if (op[i] >= 0) close(op[i]);
      if (ep[i] >= 0) close(ep[i]);
    }
    error_result(s, "pipe", e);
    return;
  }
  fcntl(op[0], F_SETFL, O_NONBLOCK);
  fcntl(ep[0], F_SETFL, O_NONBLOCK);

  const unsigned long long start = monotonic_ms();
  pid_t pid = fork();
  if (pid == 0) child_exec(s, op[1], ep[1], xp[1]);
  int fork_errno = errno;
  close(op[1]), close(ep[1]), close(xp[1]);
  struct stream out = {.fd = op[0], .buf = out_buf};
  struct stream err = {.fd = ep[0], .buf = err_buf};
  if (pid < 0) {
    close(op[0]), close(ep[0]), close(xp[0]);
    error_result(s, "fork", fork_errno);
    return;
  }

  /* Blocks only until the child has exec'd (EOF) or failed (a message). */
  char why[512];
  ssize_t wn;
  do wn = read(xp[0], why, sizeof why - 1);
  while (wn < 0 && errno == EINTR);
  close(xp[0]);
  if (wn > 0) {
    why[wn] = '\0';
    waitpid(pid, NULL, 0);
    close(op[0]), close(ep[0]);
    send_result(s->name, "error", why, monotonic_ms() - start, NULL, NULL);
    return;
  }

  unsigned long long deadline = start + s->timeout_ms;
  unsigned long long next_beat = start + BEAT_INTERVAL_MS;
  unsigned long long killed_at = 0, end = 0;
  int reaped = 0, wstatus = 0, timed_out = 0;
  while (!reaped) {
    unsigned long long now = monotonic_ms();
    if (!timed_out && now >= deadline) {
      kill(-pid, SIGKILL);  /* its whole process group (setsid made it leader) */
      kill(pid, SIGKILL);   /* in case it moved to another group */
      timed_out = 1;
      killed_at = now;
    }
    if (timed_out && now >= killed_at + KILL_GRACE_MS) {
      end = now;
      break;  /* unkillable: report the timeout anyway */
    }
    if (now >= next_beat) {
      msg_begin();
      msg_str("name", s->name);
      msg_uint("elapsed_ms", now - start);
      msg_send("beat");
      while (next_beat <= now) next_beat += BEAT_INTERVAL_MS;
    }
    unsigned long long wake = next_beat;
    if (!timed_out && deadline < wake) wake = deadline;
    if (timed_out && killed_at + KILL_GRACE_MS < wake) wake = killed_at + KILL_GRACE_MS;

    struct pollfd fds[3];
    struct stream *which[3];
    nfds_t n = 0;
    if (out.fd >= 0) which[n] = &out, fds[n++] = (struct pollfd){.fd = out.fd, .events = POLLIN};
    if (err.fd >= 0) which[n] = &err, fds[n++] = (struct pollfd){.fd = err.fd, .events = POLLIN};
    nfds_t npipes = n;
    if (sigchld_fd >= 0) fds[n++] = (struct pollfd){.fd = sigchld_fd, .events = POLLIN};
    if (wait_events(fds, n, (long long)(wake - now)) > 0)
      for (nfds_t i = 0; i < npipes; i++)
        if (fds[i].revents) stream_read(which[i]);

    drain_signalfd();
    pid_t w;
    int st;
    while ((w = waitpid(-1, &st, WNOHANG)) > 0)
      if (w == pid) reaped = 1, wstatus = st, end = monotonic_ms();
  }

  /* Nothing of the scenario may outlive it (or keep its pipes open). */
  kill(-pid, SIGKILL);
  kill_all_others(DRAIN_GRACE_MS);
  unsigned long long until = monotonic_ms() + DRAIN_GRACE_MS;
  while (out.fd >= 0 || err.fd >= 0) {
    struct pollfd fds[2];
    struct stream *which[2];
    nfds_t n = 0;
    if (out.fd >= 0) which[n] = &out, fds[n++] = (struct pollfd){.fd = out.fd, .events = POLLIN};
    if (err.fd >= 0) which[n] = &err, fds[n++] = (struct pollfd){.fd = err.fd, .events = POLLIN};
    unsigned long long now = monotonic_ms();
    if (now >= until) break;
    if (poll(fds, n, (int)(until - now)) > 0)
      for (nfds_t i = 0; i < n; i++)
        if (fds[i].revents) stream_read(which[i]);
  }
  if (out.fd >= 0) close(out.fd);
  if (err.fd >= 0) close(err.fd);
  reap_zombies();

  char value[32];
  const char *status;
  if (timed_out) {
    status = "timeout";
    snprintf(value, sizeof value, "0");
  } else if (WIFEXITED(wstatus)) {
    status = "exit";
    snprintf(value, sizeof value, "%d", WEXITSTATUS(wstatus));
  } else if (WIFSIGNALED(wstatus)) {
    status = "signal";
    snprintf(value, sizeof value, "%d", WTERMSIG(wstatus));
  } else {
    status = "error";
    snprintf(value, sizeof value, "wait status 0x%x", (unsigned)wstatus);
  }
  send_result(s->name, status, value, end - start, &out, &err);
}
