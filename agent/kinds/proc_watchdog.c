// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The watchdog of one pause or cpu cap: a process forked from the agent
 * that holds nothing but the cgroup file, the pidfds of the stopped
 * processes and the read end of a pipe from the agent. The agent writes a
 * heartbeat byte into the pipe every tick, and 'x' once it has undone the
 * change itself. The watchdog undoes the change (proc_change_revert) when
 *   - the pipe reaches end of file: the agent has exited or was killed,
 *     even with SIGKILL (the kernel closes its end);
 *   - no heartbeat came for PROC_WATCHDOG_STALE_MS: the agent is stuck or
 *     stopped;
 * and exits. It ignores SIGINT, SIGTERM and SIGHUP and leaves the agent's
 * session, so a Ctrl-C or a hangup that stops the agent does not take it
 * first. It cannot survive SIGKILL or the killing of the whole cgroup the
 * agent runs in (systemd's KillMode=control-group): the state folder covers
 * that case at the next start (proc_change.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "proc.h"

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every descriptor but 0-2 and those in keep. */
static void close_others(int *keep, int n)
{
	int lo = 3;

	qsort(keep, n, sizeof(*keep), cmp_int);
	for (int i = 0; i < n; i++) {
		if (keep[i] < lo)
			continue;
		if (keep[i] > lo)
			close_range(lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	close_range(lo, ~0U, 0);
}

static void say(const struct proc_change *c, const char *why)
{
	dprintf(STDERR_FILENO, "fl-watchdog: fault %u: %s; undoing it (%s%s%s)\n", c->fault_id, why,
		*c->file ? c->file : "", *c->file && c->stopped ? ", " : "",
		c->stopped ? "SIGCONT to the stopped processes" : "");
}

static void __attribute__((noreturn)) watchdog_main(const struct proc_change *c, int rfd)
{
	int keep[PROC_MAX_PIDS + 2], n = 0;
	struct pollfd pfd = {.fd = rfd, .events = POLLIN};
	char buf[256];

	keep[n++] = rfd;
	if (c->fd >= 0)
		keep[n++] = c->fd;
	for (int i = 0; i < c->procs.n; i++)
		if (c->procs.pidfd[i] >= 0)
			keep[n++] = c->procs.pidfd[i];
	close_others(keep, n);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	setsid();
	prctl(PR_SET_NAME, "fl-watchdog", 0, 0, 0);
	for (;;) {
		int r = poll(&pfd, 1, PROC_WATCHDOG_STALE_MS);
		ssize_t got;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			say(c, "the agent's heartbeat stopped");
			break;
		}
		got = read(rfd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			say(c, "the agent is gone");
			break;
		}
		if (memchr(buf, 'x', got))
			_exit(0); /* the agent undid it */
	}
	proc_change_revert(c);
	_exit(0);
}

int proc_watchdog_start(struct proc_change *c, char *err, size_t errlen)
{
	int p[2], ret;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		ret = -errno;
		snprintf(err, errlen, "cannot make the watchdog's pipe: %s", strerror(-ret));
		return ret;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		watchdog_main(c, p[0]);
	}
	ret = -errno;
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		snprintf(err, errlen, "cannot start the watchdog: %s", strerror(-ret));
		return ret;
	}
	fcntl(p[1], F_SETFL, O_NONBLOCK); /* a heartbeat never blocks the agent */
	c->watchdog = pid;
	c->watchdog_fd = p[1];
	return 0;
}

void proc_watchdog_beat(struct proc_change *c)
{
	if (c->watchdog_fd >= 0 && write(c->watchdog_fd, "h", 1) < 0 && errno != EAGAIN)
		fl_debug("watchdog of fault %u: %s", c->fault_id, strerror(errno));
}

void proc_watchdog_stop(struct proc_change *c)
{
	if (c->watchdog_fd >= 0) {
		/* A full pipe means a watchdog that no longer reads: closing
		 * makes it undo the change again, which changes nothing. */
		if (write(c->watchdog_fd, "x", 1) < 0)
			fl_debug("watchdog of fault %u: %s", c->fault_id, strerror(errno));
		close(c->watchdog_fd);
	}
	if (c->watchdog > 0)
		waitpid(c->watchdog, NULL, 0);
	c->watchdog_fd = -1;
	c->watchdog = -1;
}
