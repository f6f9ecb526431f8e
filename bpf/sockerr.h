/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Shared between sockerr.bpf.c and agent/kinds/errno_cgroup.c: what one
 * errno fault on socket calls matches. One program instance per fault; the
 * agent fills this in before load (read-only data), so that the verifier
 * drops the branches a fault does not use.
 */
#ifndef FL_SOCKERR_H
#define FL_SOCKERR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* What every errno program (sockerr, syserr, lsmerr) matches and reports;
 * first in each one's configuration. */
struct fl_errno_common {
	__u32 fault_id;
	__u32 err;	 /* positive errno */
	__u32 prob;	 /* fail when bpf_get_prandom_u32() < prob; 0xffffffff = always */
	__u32 pid;	 /* tgid, 0 = any */
	__u32 agent_pid; /* never fail the agent's own calls */
	__u16 sysno;	 /* for the event */
	__u8 has_comm;	 /* match comm */
	__u8 pad;
	char comm[16];
};

struct fl_sockerr_cfg {
	struct fl_errno_common c;
	__u8 family;	/* 0 any, AF_INET, AF_INET6: of the address in the call */
	__u8 proto;	/* 0 any, IPPROTO_TCP or IPPROTO_UDP */
	__u16 dport_lo; /* host byte order; 0 = any */
	__u16 dport_hi;
	__u16 pad;
	__u32 dst[4]; /* network byte order, IPv4 in word 0 */
	__u32 dst_mask[4];
};

/* Counters, in each errno program's .bss (atomic adds). */
struct fl_sockerr_counters {
	__u64 matched;
	__u64 injected;
	__u64 events_lost;
};

#endif
