// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pause: a cgroup frozen (cgroup v2 cgroup.freeze), or processes stopped
 * with SIGSTOP where the target is not a whole cgroup, and resumed at
 * clear, at the end of the time to live, when the agent stops, and by the
 * watchdog when the agent dies (proc_change.c, proc_watchdog.c). An event
 * per process paused, at start ("pause") and end ("resume").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "proc.h"

static bool want_freeze(const struct fl_fault_spec *s, const char *backend)
{
	const struct fl_target *t = &s->target;

	return !strcmp(backend, "freeze") && *t->cgroup && !t->pid && !*t->comm;
}

static int pause_check(const struct fl_fault_spec *s, const char *backend, char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;
	int ret = proc_check_target(s, err, errlen);

	if (ret)
		return ret;
	/* freeze takes a whole cgroup. Chosen by the probe, it gives way to
	 * sigstop (the next backend) for a pid or a command name, so that the
	 * fault, its events and list name the mechanism used. */
	if (!strcmp(backend, "freeze") && (!*t->cgroup || t->pid || *t->comm)) {
		snprintf(err, errlen,
			 "the freeze backend pauses a whole cgroup: give --cgroup alone, or "
			 "--backend sigstop to stop only the matching processes");
		return !strcmp(s->backend, "freeze") ? -EINVAL : -ENOTSUP;
	}
	return 0;
}

/* A process stopped already (by someone else, or traced) is theirs: SIGCONT
 * at the end would change what they set. Named by pid it is refused, else
 * left out. */
static int drop_stopped(struct proc_set *set, bool named, char *err, size_t errlen)
{
	int n = 0;

	for (int i = 0; i < set->n; i++) {
		char st = proc_state(set->pid[i]);

		if (st == 'T' || st == 't') {
			if (named) {
				snprintf(err, errlen,
					 "pid %d is stopped already (by someone else): left alone",
					 (int)set->pid[i]);
				return -EBUSY;
			}
			close(set->pidfd[i]);
			continue;
		}
		set->pid[n] = set->pid[i];
		set->pidfd[n] = set->pidfd[i];
		set->start[n] = set->start[i];
		memcpy(set->comm[n], set->comm[i], sizeof(set->comm[0]));
		n++;
	}
	set->n = n;
	return 0;
}

static int pause_add(const struct fl_fault_spec *s, const char *backend, uint32_t fault_id,
		     bool dry_run, void **state, char *plan, size_t planlen, char *err,
		     size_t errlen)
{
	const struct fl_target *t = &s->target;
	bool freeze = want_freeze(s, backend);
	char cgdir[PATH_MAX] = "", list[384], val[16] = "";
	struct proc_change *c;
	int ret = 0;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	if (*t->cgroup)
		ret = proc_cgroup_dir(t->cgroup, proc_env.facts->cgroup2_path, "0::", cgdir,
				      sizeof(cgdir), err, errlen);
	if (!ret && freeze) {
		snprintf(c->file, sizeof(c->file), "%s/cgroup.freeze", cgdir);
		ret = proc_read_line(c->file, val, sizeof(val));
		if (ret)
			snprintf(err, errlen, "cannot read %s/cgroup.freeze: %s", cgdir,
				 strerror(-ret));
		else if (strcmp(val, "0")) {
			ret = -EBUSY;
			snprintf(err, errlen,
				 "cgroup %s is frozen already (by someone else): left alone",
				 cgdir);
		}
	}
	if (!ret)
		ret = proc_collect(t, cgdir, &c->procs, err, errlen);
	if (!ret && !freeze)
		ret = drop_stopped(&c->procs, t->pid != 0, err, errlen);
	if (!ret && !freeze && !c->procs.n) {
		ret = -ESRCH;
		snprintf(err, errlen, "no process in cgroup %s (that a fault may touch)", cgdir);
	}
	if (ret)
		goto fail;
	if (freeze)
		proc_set_drop_fds(&c->procs); /* the freeze holds them, not pidfds */
	proc_plan_list(&c->procs, list, sizeof(list));
	if (freeze)
		snprintf(plan, planlen, "freeze cgroup %s (%d process%s: %s), thaw it after", cgdir,
			 c->procs.n, c->procs.n == 1 ? "" : "es", c->procs.n ? list : "none now");
	else
		snprintf(plan, planlen, "SIGSTOP %d process%s (%s), SIGCONT after", c->procs.n,
			 c->procs.n == 1 ? "" : "es", list);
	if (dry_run)
		goto fail;
	c->fault_id = fault_id;
	c->kind = FL_KIND_PAUSE;
	c->stopped = !freeze;
	if (freeze) {
		snprintf(c->set, sizeof(c->set), "1");
		snprintf(c->restore, sizeof(c->restore), "0");
	}
	ret = proc_change_start(c, 1, err, errlen);
	if (ret)
		goto fail;
	fl_log("fault %u: %s %s", fault_id, freeze ? "froze" : "stopped", freeze ? cgdir : list);
	*state = c;
	return 0;
fail:
	proc_set_close(&c->procs);
	free(c);
	return ret;
}

static void pause_remove(void *state)
{
	struct proc_change *c = state;

	if (!c)
		return;
	proc_change_end(c);
	fl_log("fault %u: %s", c->fault_id, c->stopped ? "sent SIGCONT" : "thawed the cgroup");
	free(c);
}

static void pause_describe(const void *state, json_t *fault)
{
	const struct proc_change *pc = state;

	if (!pc)
		return;
	/* The mechanism used: SIGSTOP where the probe's pick (freeze) cannot
	 * take the target. */
	json_object_set_new(fault, "backend", json_string(pc->stopped ? "sigstop" : "freeze"));
	json_object_set_new(fault, "paused", json_integer(pc->procs.n));
	if (pc->undone)
		json_object_set_new(fault, "undone", json_true());
	json_object_set_new(fault, "watchdog_pid", json_integer(pc->watchdog));
}

/* Every process fault's tick (kill and cpu have none of their own). */
static void proc_tick(uint64_t now)
{
	(void)now;
	proc_events_flush();
	proc_change_heartbeat();
}

const struct fault_kind pause_kind = {
    .kind = FL_KIND_PAUSE,
    .init = proc_init,
    .check = pause_check,
    .add = pause_add,
    .remove = pause_remove,
    .counters = proc_change_counters,
    .describe = pause_describe,
    .heartbeat = proc_tick,
    .hooks = proc_change_count,
    .cleanup_leftovers = proc_change_cleanup_leftovers,
    .shutdown = proc_shutdown,
};
