/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Shared between syserr.bpf.c, lsmerr.bpf.c and agent/kinds/errno_fmod.c,
 * errno_lsm.c: what one errno fault on any syscall matches, for the fmod_ret
 * and lsm backends. One program instance per fault; the agent fills this in
 * before load. Counters: struct fl_sockerr_counters.
 */
#ifndef FL_SYSERR_H
#define FL_SYSERR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FL_SYSERR_PATH 128 /* the longest path prefix this backend matches */

struct fl_syserr_cfg {
	__u32 fault_id;
	__u32 err;	 /* positive errno */
	__u32 prob;	 /* fail when bpf_get_prandom_u32() < prob; 0xffffffff = always */
	__u32 pid;	 /* tgid, 0 = any */
	__u32 agent_pid; /* never fail the agent's own calls */
	__u16 sysno;
	__u8 has_comm;
	__u8 has_cgroup; /* match the cgroup in the program's cgroup array, slot 0 */
	__s8 path_arg;	 /* the argument holding the path, -1: no path match */
	__u8 lsm_mask;	 /* lsm file_permission: MAY_READ (4) or MAY_WRITE (2) */
	__u8 pad[2];
	__u32 path_len; /* of the prefix */
	char comm[16];
	char path[FL_SYSERR_PATH];
};

#endif
