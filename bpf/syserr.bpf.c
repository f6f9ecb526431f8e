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

#include "syserr_match.bpf.h"

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

	if (bpf_probe_read_user_str(buf, sizeof(buf), (void *)arg(regs, cfg.path_arg)) <= 0)
		return false;
	return match_prefix(buf);
}

SEC("fmod_ret/__x64_sys_getpid") /* the agent sets the real target */
int BPF_PROG(fl_sys_errno, struct pt_regs *regs)
{
	char comm[FL_COMM_LEN] = {};

	if (!match_task(comm) || (cfg.path_arg >= 0 && !match_path(regs)))
		return 0;
	return decide(comm);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
