// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "registry.h"

#define END FACT_MAX

/* DESIGN.md, "Choosing a mechanism": each kind's backends in order. */
static const struct fl_backend_desc drop_backends[] = {
    {"tcx", {FACT_TCX, END}, {END}, NULL, "a tcx link (kernel 6.6+) at the head of the chain"},
    {"tc", {FACT_TC, END}, {END}, NULL, "a classic cls_bpf filter on clsact, with a heartbeat"},
    {"xdp", {FACT_XDP, END}, {END}, NULL, "an XDP link, ingress only"},
    {NULL},
};

static const struct fl_backend_desc latency_backends[] = {
    {"edt",
     {FACT_QDISC_FQ, END},
     {FACT_TCX, FACT_TC, END},
     "tcx or tc",
     "a tcx (else classic tc, with a heartbeat) egress program sets the departure time "
     "under an fq qdisc (egress only)"},
    {"netem",
     {FACT_QDISC_NETEM, END},
     {FACT_TCX, FACT_TC, END},
     "tcx or tc",
     "a tcx (else classic tc, with a heartbeat) egress program sends the packets to a netem "
     "band of a prio root qdisc (egress only)"},
    {"nfqueue",
     {FACT_NFQUEUE, FACT_XT_BPF, END},
     {END},
     NULL,
     "an xt_bpf match selects packets, NFQUEUE hands them to the agent, which holds each"},
    {NULL},
};

static const struct fl_backend_desc errno_backends[] = {
    {"cgroup",
     {FACT_CGROUP_SOCK_ADDR, FACT_SET_RETVAL, FACT_CGROUP2},
     {END},
     NULL,
     "cgroup v2 socket hooks with bpf_set_retval (socket calls only)"},
    {"fmod_ret", {FACT_FMOD_RET, END}, {END}, NULL, "fmod_ret on the syscall"},
    {"lsm", {FACT_LSM, END}, {END}, NULL, "BPF LSM hooks"},
    {"seccomp",
     {FACT_SECCOMP_NOTIFY, END},
     {END},
     NULL,
     "seccomp user notification (processes started by agentctl exec)"},
    {NULL},
};

static const struct fl_backend_desc syscall_latency_backends[] = {
    {"seccomp",
     {FACT_SECCOMP_NOTIFY, END},
     {END},
     NULL,
     "seccomp user notification holds the call (processes started by agentctl exec)"},
    {NULL},
};

static const struct fl_backend_desc kill_backends[] = {
    {"signal", {END}, {END}, NULL, "a signal to each chosen process"},
    {NULL},
};

static const struct fl_backend_desc pause_backends[] = {
    {"freeze",
     {FACT_CGROUP2, FACT_CGROUP_FREEZE, END},
     {END},
     NULL,
     "cgroup v2 cgroup.freeze (a pid or comm target: SIGSTOP)"},
    {"sigstop", {END}, {END}, NULL, "SIGSTOP, then SIGCONT"},
    {NULL},
};

static const struct fl_backend_desc cpu_backends[] = {
    {"cpu_max", {FACT_CGROUP2_CPU, END}, {END}, NULL, "cgroup v2 cpu.max, restored"},
    {"cfs_quota",
     {FACT_CGROUP1_CPU, END},
     {END},
     NULL,
     "cgroup v1 cpu.cfs_quota_us, restored (the cpu controller on v1)"},
    {NULL},
};

const struct fl_kind_desc fl_kinds[] = {
    {FL_KIND_DROP, "drop", "packet drop", drop_backends, FL_EXPLAINS_TRANSPORT, true},
    {FL_KIND_LATENCY, "latency", "packet delay and jitter", latency_backends,
     FL_EXPLAINS_SLOW | FL_EXPLAINS_DEADLINE, true},
    {FL_KIND_ERRNO, "errno", "a syscall or socket call fails with an errno", errno_backends,
     FL_EXPLAINS_ERRNO, true},
    {FL_KIND_SYSCALL_LATENCY, "syscall-latency", "a syscall is held for a while",
     syscall_latency_backends, FL_EXPLAINS_SLOW | FL_EXPLAINS_DEADLINE, true},
    {FL_KIND_KILL, "kill", "processes are killed", kill_backends, FL_EXPLAINS_DEPENDENCY, true},
    {FL_KIND_PAUSE, "pause", "processes are paused, then resumed", pause_backends,
     FL_EXPLAINS_DEPENDENCY, true},
    {FL_KIND_CPU, "cpu", "a cgroup's CPU is capped", cpu_backends, FL_EXPLAINS_SLOW, true},
    {FL_KIND_NONE, NULL, NULL, NULL, 0, false},
};

const struct fl_kind_desc *fl_kind_by_id(uint16_t kind)
{
	for (const struct fl_kind_desc *k = fl_kinds; k->name; k++)
		if (k->kind == kind)
			return k;
	return NULL;
}

const struct fl_kind_desc *fl_kind_by_name(const char *name)
{
	for (const struct fl_kind_desc *k = fl_kinds; name && k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

const char *fl_kind_name(uint16_t kind)
{
	const struct fl_kind_desc *k = fl_kind_by_id(kind);

	return k ? k->name : "?";
}

const struct fl_backend_desc *fl_backend_by_name(const struct fl_kind_desc *k, const char *name)
{
	for (const struct fl_backend_desc *b = k ? k->backends : NULL; b && name && b->name; b++)
		if (!strcmp(b->name, name))
			return b;
	return NULL;
}

const char *fl_kind_names(bool served_only)
{
	static char buf[2][160];
	char *s = buf[served_only];
	size_t n = 0;

	if (s[0])
		return s;
	for (const struct fl_kind_desc *k = fl_kinds; k->name; k++)
		if (!served_only || k->served)
			n += snprintf(s + n, n < sizeof(buf[0]) ? sizeof(buf[0]) - n : 0, "%s%s",
				      n ? ", " : "", k->name);
	return s;
}
