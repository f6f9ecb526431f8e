// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The changes a pause or a cpu cap makes (a cgroup file written, processes
 * stopped), kept three ways so that none outlives the agent: the agent
 * undoes them at clear, TTL and stop; a watchdog process undoes them when
 * the agent dies or stalls (proc_watchdog.c); and <state-dir>/proc-changes.json
 * lets the next agent undo whatever both missed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>
#include "jsonfield.h"
#include "log.h"
#include "proc.h"
#include "registry.h"

static struct proc_change *changes;

static void save_state(void)
{
	char path[PATH_MAX];
	int ret;
	json_t *arr = json_array();

	for (struct proc_change *c = changes; c; c = c->next) {
		json_t *pids = json_array();

		for (int i = 0; c->stopped && i < c->procs.n; i++)
			json_array_append_new(pids,
					      json_pack("{s:i,s:I}", "pid", c->procs.pid[i],
							"start", (json_int_t)c->procs.start[i]));
		json_array_append_new(
		    arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o}", "fault_id", (json_int_t)c->fault_id,
				   "kind", fl_kind_name(c->kind), "file", c->file, "set", c->set,
				   "restore", c->restore, "stopped", pids));
	}
	snprintf(path, sizeof(path), "%s/proc-changes.json", proc_env.state_dir);
	if ((ret = jf_save_atomic(path, arr)))
		fl_log("cannot write %s: %s (the watchdogs still undo pauses and cpu caps if "
		       "the agent dies)",
		       path, strerror(-ret));
	json_decref(arr);
}

/* A cgroup file takes each write whole; the truncate (harmless there) makes
 * a plain file, as the unit test uses, read back the same. */
static int write_value(int fd, const char *v)
{
	size_t n = strlen(v);

	if (pwrite(fd, v, n, 0) < 0)
		return -errno;
	if (ftruncate(fd, n)) {
		/* a cgroup file may refuse it; the write is what counts */
	}
	return 0;
}

void proc_change_revert(const struct proc_change *c)
{
	if (c->fd >= 0 && write_value(c->fd, c->restore)) {
		/* nothing more to do from here; the next agent checks again */
	}
	for (int i = 0; c->stopped && i < c->procs.n; i++)
		syscall(SYS_pidfd_send_signal, c->procs.pidfd[i], SIGCONT, NULL, 0);
}

int proc_change_apply(struct proc_change *c, char *err, size_t errlen)
{
	int ret;

	c->fd = -1;
	c->watchdog = -1;
	c->watchdog_fd = -1;
	if (*c->file) {
		c->fd = open(c->file, O_WRONLY | O_CLOEXEC);
		if (c->fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot open %s: %s", c->file, strerror(-ret));
			return ret;
		}
	}
	/* The watchdog and the record first: from the first change on, an
	 * agent that dies leaves someone to undo it. */
	ret = proc_watchdog_start(c, err, errlen);
	if (ret)
		goto fail;
	c->next = changes;
	changes = c;
	save_state();
	if (c->fd >= 0 && (ret = write_value(c->fd, c->set))) {
		snprintf(err, errlen, "cannot write '%s' to %s: %s", c->set, c->file,
			 strerror(-ret));
		goto undo;
	}
	for (int i = 0; c->stopped && i < c->procs.n; i++)
		if (syscall(SYS_pidfd_send_signal, c->procs.pidfd[i], SIGSTOP, NULL, 0) &&
		    errno != ESRCH) {
			ret = -errno;
			snprintf(err, errlen, "cannot stop pid %d: %s", (int)c->procs.pid[i],
				 strerror(-ret));
			goto undo;
		}
	return 0;
undo:
	proc_change_undo(c);
	return ret; /* the caller closes c->procs */
fail:
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	return ret;
}

void proc_change_undo(struct proc_change *c)
{
	struct proc_change **p;

	proc_change_revert(c);
	proc_watchdog_stop(c);
	for (p = &changes; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	save_state();
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int proc_change_start(struct proc_change *c, uint64_t value, char *err, size_t errlen)
{
	int ret = proc_change_apply(c, err, errlen);

	for (int i = 0; !ret && i < c->procs.n; i++)
		proc_event(c->kind, c->fault_id, &c->procs, i, value);
	return ret;
}

void proc_change_end(struct proc_change *c)
{
	proc_change_undo(c);
	for (int i = 0; i < c->procs.n; i++)
		proc_event(c->kind, c->fault_id, &c->procs, i, 0);
	proc_events_flush();
	proc_set_close(&c->procs);
}

void proc_change_counters(const void *state, struct fl_counters *c)
{
	const struct proc_change *pc = state;

	c->matched = c->injected = pc ? pc->procs.n : 0;
}

void proc_change_heartbeat(void)
{
	for (struct proc_change *c = changes; c; c = c->next) {
		if (!c->undone && c->watchdog > 0 &&
		    waitpid(c->watchdog, NULL, WNOHANG) == c->watchdog) {
			/* It stopped hearing us (the agent was stopped or stuck) and
			 * undid the change: the fault stays listed, doing nothing. */
			c->undone = true;
			c->watchdog = -1;
			fl_log("fault %u: its watchdog has undone it (the agent's heartbeat "
			       "stalled); it does nothing until cleared",
			       c->fault_id);
		}
		if (!c->undone)
			proc_watchdog_beat(c);
	}
}

int proc_change_count(void)
{
	int n = 0;

	for (struct proc_change *c = changes; c; c = c->next)
		n++;
	return n;
}

bool proc_is_watchdog(pid_t pid)
{
	for (struct proc_change *c = changes; c; c = c->next)
		if (c->watchdog == pid)
			return true;
	return false;
}

/* One record of an earlier agent: undo only what is still as it left it. */
static void undo_record(json_t *e)
{
	const char *file = json_string_value(json_object_get(e, "file"));
	const char *set = json_string_value(json_object_get(e, "set"));
	const char *restore = json_string_value(json_object_get(e, "restore"));
	json_t *pids = json_object_get(e, "stopped"), *p;
	char cur[128];
	size_t i;

	if (file && *file && set && restore && !proc_read_line(file, cur, sizeof(cur))) {
		if (!strcmp(cur, restore)) {
			fl_debug("%s is back to '%s' already", file, restore);
		} else if (strcmp(cur, set)) {
			fl_log("%s is '%s', not the '%s' an earlier agent wrote: left alone", file,
			       cur, set);
		} else {
			int fd = open(file, O_WRONLY | O_CLOEXEC);

			if (fd >= 0 && !write_value(fd, restore))
				fl_log("restored %s to '%s' (left by an earlier agent)", file,
				       restore);
			else
				fl_log("cannot restore %s to '%s': %s", file, restore,
				       strerror(errno));
			if (fd >= 0)
				close(fd);
		}
	}
	json_array_foreach(pids, i, p)
	{
		pid_t pid = json_integer_value(json_object_get(p, "pid"));
		uint64_t start = json_integer_value(json_object_get(p, "start"));

		if (pid > 1 && start && proc_start_time(pid) == start && proc_state(pid) == 'T' &&
		    !kill(pid, SIGCONT))
			fl_log("resumed pid %d (stopped by an earlier agent)", (int)pid);
	}
}

int proc_change_cleanup_leftovers(const struct kind_env *env)
{
	char path[PATH_MAX];
	json_t *arr, *e;
	size_t i;

	snprintf(path, sizeof(path), "%s/proc-changes.json", env->state_dir);
	arr = json_load_file(path, 0, NULL);
	json_array_foreach(arr, i, e) undo_record(e);
	json_decref(arr);
	unlink(path);
	return 0;
}
