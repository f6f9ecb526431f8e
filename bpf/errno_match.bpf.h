/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * BPF side only, for every errno program (sockerr, syserr, lsmerr): the
 * match of struct fl_errno_common (sockerr.h) against the current task, the
 * draw, and the start of the event of one failed call. The including
 * program defines cfg (its configuration, .c first), counters and events.
 */
#ifndef FL_ERRNO_MATCH_BPF_H
#define FL_ERRNO_MATCH_BPF_H

/* Not the agent; the pid; the comm (read into comm either way). */
static __always_inline bool match_pid_comm(char comm[FL_COMM_LEN])
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == cfg.c.agent_pid || (cfg.c.pid && tgid != cfg.c.pid))
		return false;
	bpf_get_current_comm(comm, FL_COMM_LEN);
	if (cfg.c.has_comm)
		for (int i = 0; i < FL_COMM_LEN; i++) {
			if (comm[i] != cfg.c.comm[i])
				return false;
			if (!comm[i])
				break;
		}
	return true;
}

/* A match, counted; true when the draw says fail it (counted too). */
static __always_inline bool roll(void)
{
	__sync_fetch_and_add(&counters.matched, 1);
	if (cfg.c.prob != 0xffffffffu && bpf_get_prandom_u32() >= cfg.c.prob)
		return false;
	__sync_fetch_and_add(&counters.injected, 1);
	return true;
}

/* The failed call's event with what every errno program knows; the caller
 * adds what it knows and submits. NULL (counted as lost) when the ring
 * buffer is full. */
static __always_inline struct fl_event *event_start(const char comm[FL_COMM_LEN])
{
	struct fl_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&counters.events_lost, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->value = cfg.c.err;
	e->fault_id = cfg.c.fault_id;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->kind = FL_KIND_ERRNO;
	e->sysno = cfg.c.sysno;
	__builtin_memcpy(e->comm, comm, FL_COMM_LEN);
	return e;
}

#endif
