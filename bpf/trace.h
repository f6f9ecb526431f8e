/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Kernel latency tracing (agentctl trace): what trace.bpf.c aggregates and
 * agent/trace/trace.c reads. Histograms are log2 of microseconds, the bucket
 * layout of libbpf-tools (slot 0 holds 0 and 1 us, slot i >= 1 holds
 * [2^i, 2^(i+1)) us), so that runqlat and we can be compared bucket by bucket.
 */
#ifndef FL_TRACE_H
#define FL_TRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FL_TRACE_SLOTS	  27	/* up to 2^27 us, about 134 s; more lands in the last */
#define FL_TRACE_COMM	  16	/* TASK_COMM_LEN */
#define FL_TRACE_TIDS	  16384 /* threads seen at once (LRU) */
#define FL_TRACE_SYSCALLS 512	/* syscall numbers at most */
#define FL_TRACE_REASONS  1024	/* (kind, reason, port) keys at most */
#define FL_TRACE_SOCKS	  16384 /* TCP sockets followed at once (LRU) */
#define FL_TRACE_TCPKEYS  1024	/* (port, process) keys of connect and RTT */

/* One histogram (per CPU in the maps; user space sums the CPUs). */
struct fl_trace_hist {
	__u64 slots[FL_TRACE_SLOTS];
	__u64 count;
	__u64 sum_ns;
};

enum fl_trace_net_kind {
	FL_TRACE_RETRANS = 1, /* tcp:tcp_retransmit_skb; reason 0 */
	FL_TRACE_DROP = 2,    /* skb:kfree_skb; reason: enum skb_drop_reason */
};

/* Key of the per-CPU hash of network event counts. port: the --port that
 * matched (host order), 0 when no port was given. */
struct fl_trace_net_key {
	__u32 kind;
	__u32 reason;
	__u16 port;
	__u16 pad;
	__u32 pad2;
};

/* Key of the per-CPU hashes of TCP connect latency and RTT: the service's
 * port (host order) and the process that opened the connection (tgid 0 and
 * an empty comm when the trace did not see it connect). */
struct fl_trace_tcp_key {
	__u16 port;
	__u16 pad;
	__u32 tgid;
	char comm[FL_TRACE_COMM];
};

/* Which hooks user space asked for (the rodata cfg; set before load). */
struct fl_trace_cfg {
	__u32 tgid;		  /* --pid: 0 = any */
	__u8 has_comm;		  /* --comm given */
	__u8 has_cgroup;	  /* --cgroup: cgroup_map[0] holds it */
	__u16 port;		  /* --port (host order): 0 = any */
	char comm[FL_TRACE_COMM]; /* --comm, NUL padded */
	__u8 classic;		  /* the classic tracepoint set is loaded */
};

#endif
