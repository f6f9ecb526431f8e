// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * cpu: a cgroup capped at a share of one CPU, with cgroup v2 cpu.max
 * ("QUOTA PERIOD") where the cpu controller is on cgroup v2, else with the
 * cgroup v1 cpu controller's cpu.cfs_quota_us (hosts in the hybrid layout).
 * The file's value before is restored at clear, TTL, stop, by the watchdog
 * when the agent dies, and at the next start (proc_change.c). An event per
 * process of the cgroup at start ("cap", with the quota) and end ("restore").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "proc.h"

static int cpu_check(const struct fl_fault_spec *s, const char *backend, char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;
	int ret = proc_check_target(s, err, errlen);

	(void)backend;
	if (!ret && (!*t->cgroup || t->pid || *t->comm)) {
		snprintf(err, errlen, "a cpu cap applies to a whole cgroup: give --cgroup alone");
		ret = -EINVAL;
	}
	return ret;
}

/* The change for backend (cpu_max or cfs_quota) on the cgroup folder dir. */
static int cpu_change(const char *backend, const char *dir, double quota, struct proc_change *c,
		      char *err, size_t errlen)
{
	bool v2 = !strcmp(backend, "cpu_max");
	char path[PATH_MAX + 32], cur[64];
	unsigned long long period = 100000, q;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, v2 ? "cpu.max" : "cpu.cfs_period_us");
	ret = proc_read_line(path, cur, sizeof(cur));
	if (!ret && sscanf(cur, v2 ? "%*s %llu" : "%llu", &period) != 1)
		ret = -EINVAL;
	if (ret) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	q = (unsigned long long)(quota * period + 0.5);
	if (q < 1000)
		q = 1000; /* the kernel's least quota: 1 ms */
	if (v2) {
		snprintf(c->restore, sizeof(c->restore), "%s", cur);
		snprintf(c->set, sizeof(c->set), "%llu %llu", q, period);
		snprintf(c->file, sizeof(c->file), "%s/cpu.max", dir);
		return 0;
	}
	snprintf(c->file, sizeof(c->file), "%s/cpu.cfs_quota_us", dir);
	ret = proc_read_line(c->file, cur, sizeof(cur));
	if (!ret && !*cur)
		ret = -EIO;
	if (ret) {
		snprintf(err, errlen, "cannot read %s: %s", c->file, strerror(-ret));
		return ret;
	}
	snprintf(c->restore, sizeof(c->restore), "%s", cur);
	snprintf(c->set, sizeof(c->set), "%llu", q);
	return 0;
}

static int cpu_add(const struct fl_fault_spec *s, const char *backend, uint32_t fault_id,
		   bool dry_run, void **state, char *plan, size_t planlen, char *err, size_t errlen)
{
	bool v2 = !strcmp(backend, "cpu_max");
	const char *mount =
	    v2 ? proc_env.facts->cgroup2_path : proc_env.facts->r[FACT_CGROUP1_CPU].detail;
	char dir[PATH_MAX] = "", list[384];
	struct proc_change *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	ret = proc_cgroup_dir(s->target.cgroup, mount, v2 ? "0::" : "cpu", dir, sizeof(dir), err,
			      errlen);
	if (!ret)
		ret = cpu_change(backend, dir, s->proc.quota, c, err, errlen);
	if (!ret)
		ret = proc_collect(&s->target, dir, &c->procs, err, errlen);
	if (ret)
		goto fail;
	proc_set_drop_fds(&c->procs); /* only named in events */
	proc_plan_list(&c->procs, list, sizeof(list));
	snprintf(plan, planlen, "write '%s' to %s (now '%s'; %d process%s: %s), restore it after",
		 c->set, c->file, c->restore, c->procs.n, c->procs.n == 1 ? "" : "es",
		 c->procs.n ? list : "none now");
	if (dry_run)
		goto fail;
	c->fault_id = fault_id;
	c->kind = FL_KIND_CPU;
	ret = proc_change_start(c, (uint64_t)(s->proc.quota * 1e6 + 0.5), err, errlen);
	if (ret)
		goto fail;
	fl_log("fault %u: wrote '%s' to %s (was '%s')", fault_id, c->set, c->file, c->restore);
	*state = c;
	return 0;
fail:
	proc_set_close(&c->procs);
	free(c);
	return ret;
}

static void cpu_remove(void *state)
{
	struct proc_change *c = state;

	if (!c)
		return;
	proc_change_end(c);
	fl_log("fault %u: restored %s to '%s'", c->fault_id, c->file, c->restore);
	free(c);
}

static void cpu_describe(const void *state, json_t *fault)
{
	const struct proc_change *pc = state;

	if (!pc)
		return;
	json_object_set_new(fault, "file", json_string(pc->file));
	json_object_set_new(fault, "set", json_string(pc->set));
	json_object_set_new(fault, "restore", json_string(pc->restore));
	if (pc->undone)
		json_object_set_new(fault, "undone", json_true());
	json_object_set_new(fault, "watchdog_pid", json_integer(pc->watchdog));
}

/* The heartbeat, the hook count and the leftovers of every change (pause
 * and cpu alike) are pause_kind's: once is enough. */
const struct fault_kind cpu_kind = {
    .kind = FL_KIND_CPU,
    .init = proc_init,
    .check = cpu_check,
    .add = cpu_add,
    .remove = cpu_remove,
    .counters = proc_change_counters,
    .describe = cpu_describe,
};
