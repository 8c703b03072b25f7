/*
 * Seccomp probe for seccomp.test.ts: tries the calls Docker's default profile refuses and prints
 * one "<name> ok" or "<name> errno <n>" line per call, plus the process's seccomp mode. Built
 * static by the test (gcc -static) and run inside a busybox container.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long rc) {
  if (rc < 0) printf("%s errno %d\n", name, errno);
  else printf("%s ok\n", name);
}

static void seccomp_mode(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  if (f == NULL) return;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "Seccomp:", 8) == 0) printf("seccomp %d\n", atoi(line + 8));
  fclose(f);
}

int main(void) {
  seccomp_mode();
  /* KEYCTL_GET_KEYRING_ID of the session keyring, creating it. */
  report("keyctl", syscall(SYS_keyctl, 0, -3, 1));
  /* A "user" key in the process keyring. */
  report("add_key", syscall(SYS_add_key, "user", "shoal-probe", "x", 1, -2));

  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  report("perf_event_open", syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));

  unsigned char params[120];
  memset(params, 0, sizeof params);
  report("io_uring_setup", syscall(SYS_io_uring_setup, 1, params));

  /* READ_IMPLIES_EXEC: every readable mapping executable. */
  report("personality", syscall(SYS_personality, 0x0400000));
  report("kcmp", syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 1, 1));

  /* CVE-2022-0185 class: a user namespace gives CAP_SYS_ADMIN over a new mount namespace. */
  report("unshare", syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS));
  report("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL));
  return 0;
}
