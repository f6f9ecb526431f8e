/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * BPF side only, shared by syserr.bpf.c (fmod_ret) and lsmerr.bpf.c (BPF
 * LSM): their configuration (struct fl_syserr_cfg, syserr.h), counters,
 * cgroup array and events ring buffer, and the match against the current
 * task (errno_match.bpf.h) and a path.
 */
#ifndef FL_SYSERR_MATCH_BPF_H
#define FL_SYSERR_MATCH_BPF_H

const volatile struct fl_syserr_cfg cfg = {};

struct fl_sockerr_counters counters = {};

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup SEC(".maps");

/* Shared by every instance: the agent creates it once and reuses its fd. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FL_EVENTS_RINGBUF_BYTES);
} events SEC(".maps");

#include "errno_match.bpf.h"

/* The task: not the agent, the pid, the comm, the cgroup. */
static __always_inline bool match_task(char comm[FL_COMM_LEN])
{
	return match_pid_comm(comm) &&
	       (!cfg.has_cgroup || bpf_current_task_under_cgroup(&cgroup, 0) == 1);
}

/* buf (a NUL-terminated path) is the prefix, or below it. */
static __always_inline bool match_prefix(const char *buf)
{
	__u32 n = cfg.path_len;

	for (int i = 0; i < FL_SYSERR_PATH; i++) {
		if (i == n)
			return buf[i] == '\0' || buf[i] == '/' || (i > 0 && cfg.path[i - 1] == '/');
		if (buf[i] != cfg.path[i])
			return false;
	}
	return false;
}

/* 0 (go on) or -errno (fail it, with its event). */
static __always_inline int decide(const char comm[FL_COMM_LEN])
{
	struct fl_event *e;

	if (!roll())
		return 0;
	e = event_start(comm);
	if (e)
		bpf_ringbuf_submit(e, 0);
	return -(int)cfg.c.err;
}

#endif
