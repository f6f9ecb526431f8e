// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The errno and syscall-latency kinds: the checks they share, and the
 * dispatch to their backends (errno_kind.h). The probe's order for errno
 * is cgroup, fmod_ret, lsm, seccomp; the cgroup backend's check refuses
 * what is not a socket call, so the fault table moves on to the next.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "errno_kind.h"
#include "errno_names.h"
#include "event.h"

struct errno_fault {
	bool seccomp;
	void *impl;
};

static int errno_init(const struct kind_env *env)
{
	return sockerr_init(env);
}

static int sys_check(const struct fl_fault_spec *s, const char *backend, char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;

	if (*t->dev || *t->netns) {
		snprintf(err, errlen,
			 "fault.target.%s: a %s fault targets processes (cgroup, pid, comm, path), "
			 "not devices",
			 *t->dev ? "dev" : "netns",
			 s->kind == FL_KIND_ERRNO ? "errno" : "syscall-latency");
		return -EINVAL;
	}
	if (t->pid && kill(t->pid, 0) && errno == ESRCH) {
		snprintf(err, errlen, "fault.target.pid: no process with pid %u", t->pid);
		return -ESRCH;
	}
	if (!strcmp(backend, "seccomp"))
		return seccomp_check(s, err, errlen);
	if (!strcmp(backend, "cgroup")) {
		if (!*t->cgroup && !t->pid && !*t->comm) {
			snprintf(err, errlen,
				 "fault.target: the cgroup backend needs a cgroup, a pid or a "
				 "comm (a fault on every process of the host is refused)");
			return -EINVAL;
		}
		return sockerr_check(s, err, errlen);
	}
	snprintf(err, errlen,
		 "the %s backend is not built into this agent yet; use cgroup (socket calls) or "
		 "seccomp (agentctl exec)",
		 backend);
	return -EOPNOTSUPP;
}

static int sys_add(const struct fl_fault_spec *s, const char *backend, uint32_t fault_id,
		   bool dry_run, void **state, char *plan, size_t planlen, char *err, size_t errlen)
{
	struct errno_fault *f;
	bool sc = !strcmp(backend, "seccomp");
	void *impl = NULL;
	int ret;

	ret = sc ? seccomp_add(s, fault_id, dry_run, &impl, plan, planlen, err, errlen)
		 : sockerr_add(s, fault_id, dry_run, &impl, plan, planlen, err, errlen);
	if (ret || dry_run)
		return ret;
	f = malloc(sizeof(*f));
	if (!f) {
		sc ? seccomp_remove(impl) : sockerr_remove(impl);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->seccomp = sc;
	f->impl = impl;
	*state = f;
	return 0;
}

static void sys_remove(void *state)
{
	struct errno_fault *f = state;

	if (f->seccomp)
		seccomp_remove(f->impl);
	else
		sockerr_remove(f->impl);
	free(f);
}

static void sys_counters(const void *state, struct fl_counters *c)
{
	const struct errno_fault *f = state;

	if (f->seccomp)
		seccomp_counters(f->impl, c);
	else
		sockerr_counters(f->impl, c);
}

static void sys_describe(const void *state, json_t *fault)
{
	const struct errno_fault *f = state;

	if (f->seccomp)
		seccomp_describe(f->impl, fault);
}

static int errno_hooks(void)
{
	return sockerr_hooks() + seccomp_hooks();
}

const struct fault_kind errno_kind = {
    .kind = FL_KIND_ERRNO,
    .init = errno_init,
    .check = sys_check,
    .add = sys_add,
    .remove = sys_remove,
    .counters = sys_counters,
    .describe = sys_describe,
    .events_lost = sockerr_events_lost,
    .hooks = errno_hooks,
};

const struct fault_kind syscall_latency_kind = {
    .kind = FL_KIND_SYSCALL_LATENCY,
    .check = sys_check,
    .add = sys_add,
    .remove = sys_remove,
    .counters = sys_counters,
    .describe = sys_describe,
};
