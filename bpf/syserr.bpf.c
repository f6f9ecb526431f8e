// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Errno faults on any syscall, where the kernel allows fmod_ret on syscall
 * entry functions (CONFIG_FUNCTION_ERROR_INJECTION; not on the build
 * machines, whose kernel refuses tracing programs: docs/backends.md). The
 * agent points the program at __<arch>_sys_<name> before load. A call that
 * matches returns -errno without running the syscall; any other returns 0,
 * which runs it as usual.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "event.h"
#include "sockerr.h"
#include "syserr.h"

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

static __always_inline unsigned long arg(struct pt_regs *regs, int i)
{
	switch (i) {
	case 0:
		return PT_REGS_PARM1_CORE_SYSCALL(regs);
	case 1:
		return PT_REGS_PARM2_CORE_SYSCALL(regs);
	case 2:
		return PT_REGS_PARM3_CORE_SYSCALL(regs);
	case 3:
		return PT_REGS_PARM4_CORE_SYSCALL(regs);
	default:
		return PT_REGS_PARM5_CORE_SYSCALL(regs);
	}
}

static __always_inline bool match_path(struct pt_regs *regs)
{
	char buf[FL_SYSERR_PATH] = {};
	__u32 n = cfg.path_len;

	if (bpf_probe_read_user_str(buf, sizeof(buf), (void *)arg(regs, cfg.path_arg)) <= 0)
		return false;
	for (int i = 0; i < FL_SYSERR_PATH; i++) {
		/* The prefix ends: the path is it, or below it. */
		if (i == n)
			return buf[i] == '\0' || buf[i] == '/' || (i > 0 && cfg.path[i - 1] == '/');
		if (buf[i] != cfg.path[i])
			return false;
	}
	return false;
}

SEC("fmod_ret/__x64_sys_getpid") /* the agent sets the real target */
int BPF_PROG(fl_sys_errno, struct pt_regs *regs)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	char comm[FL_COMM_LEN] = {};
	struct fl_event *e;

	if (tgid == cfg.agent_pid || (cfg.pid && tgid != cfg.pid))
		return 0;
	bpf_get_current_comm(comm, sizeof(comm));
	if (cfg.has_comm)
		for (int i = 0; i < FL_COMM_LEN; i++) {
			if (comm[i] != cfg.comm[i])
				return 0;
			if (!comm[i])
				break;
		}
	if (cfg.has_cgroup && bpf_current_task_under_cgroup(&cgroup, 0) != 1)
		return 0;
	if (cfg.path_arg >= 0 && !match_path(regs))
		return 0;
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
		e->pid = tgid;
		e->kind = FL_KIND_ERRNO;
		e->sysno = cfg.sysno;
		__builtin_memcpy(e->comm, comm, FL_COMM_LEN);
		bpf_ringbuf_submit(e, 0);
	} else {
		__sync_fetch_and_add(&counters.events_lost, 1);
	}
	return -(int)cfg.err;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
