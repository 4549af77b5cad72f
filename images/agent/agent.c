/* archmatrix guest agent: /init (PID 1) of every Linux guest.
 *
 * Mounts the pseudo filesystems, quiets the kernel console, reads and
 * removes the plan, sends hello and facts, runs each scenario, sends end,
 * and powers the guest off. PID 1 must never exit (the kernel panics), so
 * every path ends in power-off, reboot, or an endless reaping loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define SYSLOG_ACTION_CONSOLE_LEVEL 8
#define QUIET_CONSOLE_LEVEL 1  /* only KERN_EMERG; oops/panic raise it themselves */

static struct plan plan;
/* Mount problems happen before the console is open: remember, log later. */
static char early_errors[1024];

unsigned long long monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

long read_small_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  while (len + 1 < size) {
    ssize_t r = read(fd, buf + len, size - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(fd);
  buf[len] = '\0';
  return (long)len;
}

static void note_early(const char *what, const char *path) {
  size_t used = strlen(early_errors);
  snprintf(early_errors + used, sizeof early_errors - used, "%s %s: %s; ", what, path,
           strerror(errno));
}

static void mount_fs(const char *type, const char *target, unsigned long flags, const char *data) {
  if (mkdir(target, 0755) != 0 && errno != EEXIST) note_early("mkdir", target);
  if (mount(type, target, type, flags, data) != 0 && errno != EBUSY) note_early("mount", target);
}

static int open_console_node(int flags) {
  int fd = open("/dev/console", flags | O_NOCTTY);
  if (fd < 0) {
    /* No devtmpfs: make the node ourselves (we are root). */
    mknod("/dev/console", S_IFCHR | 0600, makedev(5, 1));
    fd = open("/dev/console", flags | O_NOCTTY);
  }
  return fd;
}

/* Our own write-only handle on the console for framed lines. */
static int open_console(void) {
  int fd = open_console_node(O_WRONLY | O_CLOEXEC);
  if (fd < 0 && fcntl(1, F_GETFD) >= 0) fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (fd >= 0 && isatty(fd)) {
    /* Nothing typed on the serial line may echo into our records, and no
     * ^S may stop our output. Output processing (\n -> \r\n) stays. */
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
      t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
      t.c_iflag &= ~(tcflag_t)(IXON | IXOFF);
      tcsetattr(fd, TCSANOW, &t);
    }
  }
  return fd;
}

/* fds 0-2 must be open, so no pipe or file of ours lands on them. */
static void ensure_std_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int n = open_console_node(O_RDWR);
    if (n < 0) n = open("/dev/null", O_RDWR);
    if (n >= 0 && n != fd) {
      dup2(n, fd);
      close(n);
    }
  }
}

static void drain_console(void) {
  int fd = frame_console_fd();
  if (fd >= 0) tcdrain(fd);  /* the UART may still hold the last lines */
}

static void power_off(void) {
  drain_console();
  kill_all_others(1000);
  sync();
  reboot(RB_POWER_OFF);
  agent_log("power-off failed (%s); rebooting", strerror(errno));
  drain_console();
  reboot(RB_AUTOBOOT);  /* with -no-reboot, QEMU exits on this too */
  agent_log("reboot failed (%s); idling", strerror(errno));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (;;) {
    sigwaitinfo(&set, NULL);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
  }
}

int main(void) {
  if (getpid() != 1) {
    static const char msg[] =
        "archmatrix-agent: this is the /init of an archmatrix guest and must run as PID 1\n";
    (void)!write(2, msg, sizeof msg - 1);
    return 2;
  }
  umask(022);
  /* A cpio archive made from a private staging directory can give "/" mode
   * 0700, which would lock every unprivileged scenario out of the tree. */
  chmod("/", 0755);
  mount_fs("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_fs("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_fs("devtmpfs", "/dev", MS_NOSUID, "mode=0755");
  mount_fs("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
  chmod("/tmp", 01777);  /* umask applied to mkdir if we created it */
  ensure_std_fds();
  int console = open_console();
  klogctl(SYSLOG_ACTION_CONSOLE_LEVEL, NULL, QUIET_CONSOLE_LEVEL);
  signal(SIGPIPE, SIG_IGN);
  frame_init(console, "0000000000000000");
  if (early_errors[0]) agent_log("%s", early_errors);
  if (run_init() != 0) agent_log("signalfd: %s (falling back to polling)", strerror(errno));
  /* Only guests with a planned channel have modules (a Debian kernel's
   * virtio_console): run's guests have none, so nothing changes for them. */
  load_modules();

  char err[256];
  if (plan_load(PLAN_PATH, &plan, err, sizeof err) != 0) {
    agent_log("no usable plan: %s", err);
    power_off();
  }
  frame_init(console, plan.nonce);
  run_set_attempt(plan.attempt);
  run_set_echo(plan.echo);
  if (plan.dropped)
    agent_log("plan: %zu scenario lines beyond the limit of %d were ignored", plan.dropped,
              MAX_SCENARIOS);

  msg_begin();
  msg_str("agent", AGENT_VERSION);
  msg_str("protocol", PROTOCOL_VERSION);
  msg_send("hello");

  facts_send();

  for (size_t i = 0; i < plan.count; i++) run_scenario(&plan.scenarios[i]);
  if (plan.channel[0]) channel_serve(plan.channel);

  msg_begin();
  msg_uint("results", msg_count("result"));
  msg_send("end");
  power_off();
  return 0;  /* not reached */
}
