// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The capability probe: one tiny program per hook. agent/probe.c opens this
 * skeleton once per test, keeps one program's autoload on, loads and
 * attaches it. The programs do nothing: each returns "pass/allow/no change".
 * They touch no kernel structure, so the object has no CO-RE relocations and
 * only the BTF-attached types (tp_btf, fentry, fmod_ret, lsm) make libbpf
 * parse vmlinux BTF. Names start with "flp_" so that a test can tell a
 * leftover of the probe from anyone else's program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* The syscall function that fentry/fmod_ret hook: its name depends on the
 * architecture's syscall wrappers. Not getpid: SYSCALL_DEFINE0 wrappers are
 * missing from vmlinux BTF (6.18 here). Keep in step with agent/probe.c. */
#if defined(__TARGET_ARCH_x86)
#define FLP_SYSCALL "__x64_sys_connect"
#elif defined(__TARGET_ARCH_arm64)
#define FLP_SYSCALL "__arm64_sys_connect"
#elif defined(__TARGET_ARCH_s390)
#define FLP_SYSCALL "__s390x_sys_connect"
#else
#define FLP_SYSCALL "sys_connect"
#endif

#define TC_ACT_OK 0

SEC("tc")
int flp_tcx(void *ctx)
{
	return TC_ACT_OK;
}

SEC("tc")
int flp_tc(void *ctx)
{
	return TC_ACT_OK;
}

SEC("xdp")
int flp_xdp(void *ctx)
{
	return XDP_PASS;
}

SEC("cgroup_skb/egress")
int flp_cg_skb(void *ctx)
{
	return 1;
}

SEC("cgroup/connect4")
int flp_connect4(void *ctx)
{
	return 1;
}

/* The sock errno backend: the verifier rejects the helper where it is
 * missing (before 5.18). A retval of 0 and "allow" change nothing. */
SEC("cgroup/connect4")
int flp_set_retval(void *ctx)
{
	bpf_set_retval(0);
	return 1;
}

SEC("sockops")
int flp_sockops(void *ctx)
{
	return 1;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int flp_tp(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int flp_raw_tp(void *ctx)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int flp_tp_btf(void *ctx)
{
	return 0;
}

/* Attached by agent/probe.c to a function of its own process. */
SEC("uprobe")
int flp_uprobe(void *ctx)
{
	return 0;
}

/* Attached by agent/probe.c to the same syscall function. */
SEC("kprobe")
int flp_kprobe(void *ctx)
{
	return 0;
}

SEC("fentry/" FLP_SYSCALL)
int flp_fentry(void *ctx)
{
	return 0;
}

/* 0: leave the syscall's return value alone. */
SEC("fmod_ret/" FLP_SYSCALL)
int flp_fmod_ret(void *ctx)
{
	return 0;
}

SEC("lsm/socket_connect")
int flp_lsm(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
