// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * agentctl run with "trace": true (docs/scenarios.md): this agentctl again,
 * as `agentctl trace requests --comm LOADGEN`, started before loadgen so
 * that it sees its first connects, ended after it; its log is OUT/trace.log.
 * A process of its own: its programs go with it, whatever becomes of the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "run_trace.h"

#define READY_MS 20000 /* loading the programs on a busy machine */

static int log_says(const char *log, const char *what)
{
	char buf[4096];
	ssize_t n;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

pid_t run_trace_start(const char *out_dir, const char *loadgen, uint64_t for_ns, char *path,
		      size_t len, char *err, size_t errlen)
{
	char comm[16], base[PATH_MAX], log[PATH_MAX + 16], dur[32];
	pid_t pid;
	int fd, status;

	snprintf(base, sizeof(base), "%s", loadgen);
	snprintf(comm, sizeof(comm), "%s", basename(base)); /* the kernel keeps 15 bytes */
	snprintf(path, len, "%s/traces.ndjson.gz", out_dir);
	snprintf(log, sizeof(log), "%s/trace.log", out_dir);
	snprintf(dur, sizeof(dur), "%llums", (unsigned long long)(for_ns / 1000000));
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot start the trace: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/proc/self/exe", "agentctl", "trace", "requests", "--comm", comm, "--out",
		      path, "--for", dur, (char *)NULL);
		fprintf(stderr, "cannot run agentctl: %s\n", strerror(errno));
		_exit(127);
	}
	for (int ms = 0; ms < READY_MS; ms += 20) {
		if (log_says(log, "tracing requests on"))
			return pid;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			snprintf(err, errlen, "the trace could not start (see %s)", log);
			return -1;
		}
		poll(NULL, 0, 20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	snprintf(err, errlen, "the trace did not attach within %d s (see %s)", READY_MS / 1000,
		 log);
	return -1;
}

int run_trace_stop(pid_t pid, const char *out_dir, char *err, size_t errlen)
{
	int status = 0;

	kill(pid, SIGTERM);
	/* It writes what is left and its end line, then exits; a bound for
	 * a stuck one. */
	for (int ms = 0; ms < 20000; ms += 20) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (WIFEXITED(status) && !WEXITSTATUS(status))
				return 0;
			snprintf(err, errlen, "the trace failed (see %s/trace.log)", out_dir);
			return -1;
		}
		poll(NULL, 0, 20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	snprintf(err, errlen, "the trace did not end within 20 s (see %s/trace.log)", out_dir);
	return -1;
}
