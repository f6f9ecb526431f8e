// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * kill: a signal (SIGKILL unless another is asked for) to every process the
 * target names, once, when the fault is injected; one event per process
 * signalled. The fault then stays listed, with its counts, until its time
 * to live ends or it is cleared; clearing it undoes nothing (a killed
 * process stays dead: restarting it is the scenario's business).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "log.h"
#include "proc.h"

struct kill_state {
	uint64_t matched, signalled;
	int signal;
};

static int kill_check(const struct fl_fault_spec *s, const char *backend, char *err, size_t errlen)
{
	(void)backend;
	return proc_check_target(s, err, errlen);
}

static int kill_add(const struct fl_fault_spec *s, const char *backend, uint32_t fault_id,
		    bool dry_run, void **state, char *plan, size_t planlen, char *err,
		    size_t errlen)
{
	const struct fl_target *t = &s->target;
	char cgdir[PATH_MAX] = "", list[384];
	struct kill_state *ks = NULL;
	struct proc_set *set;
	int ret;

	(void)backend;
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	ret = *t->cgroup ? proc_cgroup_dir(t->cgroup, proc_env.facts->cgroup2_path, "0::", cgdir,
					   sizeof(cgdir), err, errlen)
			 : 0;
	if (!ret)
		ret = proc_collect(t, cgdir, set, err, errlen);
	if (ret)
		goto out;
	if (!set->n) {
		ret = -ESRCH;
		snprintf(err, errlen, "no process in cgroup %s (that a fault may touch)", cgdir);
		goto out;
	}
	proc_plan_list(set, list, sizeof(list));
	snprintf(plan, planlen, "send SIG%s to %d process%s: %s", proto_signal_name(s->proc.signal),
		 set->n, set->n == 1 ? "" : "es", list);
	if (dry_run)
		goto out;
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ks->signal = s->proc.signal;
	ks->matched = set->n;
	for (int i = 0; i < set->n; i++) {
		/* what it listens on, before the signal closes it */
		json_t *listen = proc_listen_of(set, i);

		if (syscall(SYS_pidfd_send_signal, set->pidfd[i], s->proc.signal, NULL, 0)) {
			if (errno != ESRCH)
				fl_log("fault %u: cannot signal pid %d: %s", fault_id,
				       (int)set->pid[i], strerror(errno));
			json_decref(listen);
			continue;
		}
		ks->signalled++;
		proc_event_with(FL_KIND_KILL, fault_id, set, i, s->proc.signal, listen);
	}
	fl_log("fault %u: sent SIG%s to %llu of %llu processes: %s", fault_id,
	       proto_signal_name(s->proc.signal), (unsigned long long)ks->signalled,
	       (unsigned long long)ks->matched, list);
	*state = ks;
out:
	proc_set_close(set);
	free(set);
	return ret;
}

static void kill_remove(void *state)
{
	proc_events_flush();
	free(state);
}

static void kill_counters(const void *state, struct fl_counters *c)
{
	const struct kill_state *ks = state;

	c->matched = ks ? ks->matched : 0;
	c->injected = ks ? ks->signalled : 0;
}

static void kill_describe(const void *state, json_t *fault)
{
	const struct kill_state *ks = state;

	json_object_set_new(fault, "signalled", json_integer(ks ? (json_int_t)ks->signalled : 0));
}

const struct fault_kind kill_kind = {
    .kind = FL_KIND_KILL,
    .init = proc_init,
    .check = kill_check,
    .add = kill_add,
    .remove = kill_remove,
    .counters = kill_counters,
    .describe = kill_describe,
};
