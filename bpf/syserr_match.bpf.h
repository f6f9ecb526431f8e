/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * BPF side only: the match of struct fl_syserr_cfg (syserr.h) against the
 * current task and a path, and the event of one failed call; shared by
 * syserr.bpf.c (fmod_ret) and lsmerr.bpf.c (BPF LSM). The including program
 * defines cfg, counters, the cgroup array and the events ring buffer.
 */
#ifndef FL_SYSERR_MATCH_BPF_H
#define FL_SYSERR_MATCH_BPF_H

/* The task: not the agent, the pid, the comm, the cgroup. */
static __always_inline bool match_task(char comm[FL_COMM_LEN])
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == cfg.agent_pid || (cfg.pid && tgid != cfg.pid))
		return false;
	bpf_get_current_comm(comm, FL_COMM_LEN);
	if (cfg.has_comm)
		for (int i = 0; i < FL_COMM_LEN; i++) {
			if (comm[i] != cfg.comm[i])
				return false;
			if (!comm[i])
				break;
		}
	return !cfg.has_cgroup || bpf_current_task_under_cgroup(&cgroup, 0) == 1;
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

/* Counted as matched; 0 (go on) or -errno (fail it), with its event. */
static __always_inline int decide(const char comm[FL_COMM_LEN])
{
	struct fl_event *e;

	__sync_fetch_and_add(&counters.matched, 1);
	if (cfg.prob != 0xffffffffu && bpf_get_prandom_u32() >= cfg.prob)
		return 0;
	__sync_fetch_and_add(&counters.injected, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->ts_ns = bpf_ktime_get_ns();
		e->value = cfg.err;
		e->fault_id = cfg.fault_id;
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->kind = FL_KIND_ERRNO;
		e->sysno = cfg.sysno;
		__builtin_memcpy(e->comm, comm, FL_COMM_LEN);
		bpf_ringbuf_submit(e, 0);
	} else {
		__sync_fetch_and_add(&counters.events_lost, 1);
	}
	return -(int)cfg.err;
}

#endif
