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

enum backend { B_CGROUP, B_FMOD, B_LSM, B_SECCOMP, B_NONE };

struct errno_fault {
	enum backend b;
	void *impl;
	char warning[sizeof(((struct fl_errno_params *)0)->warning)]; /* for list */
};

static enum backend backend_of(const char *name)
{
	return !strcmp(name, "cgroup")	   ? B_CGROUP
	       : !strcmp(name, "fmod_ret") ? B_FMOD
	       : !strcmp(name, "lsm")	   ? B_LSM
	       : !strcmp(name, "seccomp")  ? B_SECCOMP
					   : B_NONE;
}

static int errno_init(const struct kind_env *env)
{
	sysbpf_init(env);
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
	switch (backend_of(backend)) {
	case B_SECCOMP:
		return seccomp_check(s, err, errlen);
	case B_FMOD:
	case B_LSM:
		if (*t->cgroup && errno_cgroup_dir(t, (char[512]){0}, 512, err, errlen))
			return -ENOENT;
		return sysbpf_check(s, backend_of(backend) == B_LSM, err, errlen);
	case B_CGROUP:
		if (!*t->cgroup && !t->pid && !*t->comm) {
			snprintf(err, errlen,
				 "fault.target: the cgroup backend needs a cgroup, a pid or a "
				 "comm (a fault on every process of the host is refused)");
			return -EINVAL;
		}
		return sockerr_check(s, err, errlen);
	default:
		snprintf(err, errlen,
			 "no backend %s for errno faults (cgroup, fmod_ret, lsm, seccomp)",
			 backend);
		return -EOPNOTSUPP;
	}
}

/* Undo the backend's add. */
static void sys_remove_impl(struct errno_fault *f)
{
	if (f->b == B_CGROUP)
		sockerr_remove(f->impl);
	else if (f->b == B_SECCOMP)
		seccomp_remove(f->impl);
	else
		sysbpf_remove(f->impl);
}

static int sys_add(const struct fl_fault_spec *s, const char *backend, uint32_t fault_id,
		   bool dry_run, void **state, char *plan, size_t planlen, char *err, size_t errlen)
{
	enum backend b = backend_of(backend);
	struct errno_fault *f;
	void *impl = NULL;
	int ret;

	switch (b) {
	case B_CGROUP:
		ret = sockerr_add(s, fault_id, dry_run, &impl, plan, planlen, err, errlen);
		break;
	case B_FMOD:
	case B_LSM:
		ret =
		    sysbpf_add(s, b == B_LSM, fault_id, dry_run, &impl, plan, planlen, err, errlen);
		break;
	case B_SECCOMP:
		ret = seccomp_add(s, fault_id, dry_run, &impl, plan, planlen, err, errlen);
		break;
	default:
		snprintf(err, errlen, "no backend %s for this fault", backend);
		return -EINVAL;
	}
	if (ret || dry_run)
		return ret;
	f = malloc(sizeof(*f));
	if (!f) {
		f = &(struct errno_fault){.b = b, .impl = impl};
		sys_remove_impl(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->b = b;
	f->impl = impl;
	snprintf(f->warning, sizeof(f->warning), "%s", s->sys.warning);
	*state = f;
	return 0;
}

static void sys_remove(void *state)
{
	sys_remove_impl(state);
	free(state);
}

static void sys_counters(const void *state, struct fl_counters *c)
{
	const struct errno_fault *f = state;

	if (f->b == B_CGROUP)
		sockerr_counters(f->impl, c);
	else if (f->b == B_SECCOMP)
		seccomp_counters(f->impl, c);
	else
		sysbpf_counters(f->impl, c);
}

static void sys_describe(const void *state, json_t *fault)
{
	const struct errno_fault *f = state;

	if (*f->warning)
		json_object_set_new(fault, "warning", json_string(f->warning));
	if (f->b == B_SECCOMP)
		seccomp_describe(f->impl, fault);
}

static uint64_t errno_events_lost(void)
{
	return sockerr_events_lost() + sysbpf_events_lost();
}

static int errno_hooks(void)
{
	return sockerr_hooks() + sysbpf_hooks() + seccomp_hooks();
}

const struct fault_kind errno_kind = {
    .kind = FL_KIND_ERRNO,
    .init = errno_init,
    .check = sys_check,
    .add = sys_add,
    .remove = sys_remove,
    .counters = sys_counters,
    .describe = sys_describe,
    .events_lost = errno_events_lost,
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
