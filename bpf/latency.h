/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Shared between latency.bpf.c and agent/kinds/latency*.c. Backend
 * nfqueue: the program is an xt_bpf match (iptables -m bpf) in front of an
 * NFQUEUE rule: it says which packets the agent is to hold. Backend edt:
 * a tc program sets each delayed packet's departure time under fq. One
 * instance per latency fault.
 */
#ifndef FL_LATENCY_H
#define FL_LATENCY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "drop.h" /* struct fl_match, shared by the packet kinds */

/* What one hold is for: each delayed packet, the first packet of each
 * connection and direction, or the first data packet of each turn. */
enum fl_lat_per {
	FL_LAT_PER_PACKET = 0,
	FL_LAT_PER_CONNECTION = 1,
	FL_LAT_PER_REQUEST = 2,
};

/* Packets of a flow that follow a packet the agent may hold go to the
 * queue too for this long past the longest delay, so that they keep their
 * order behind it (the agent's reading lags the kernel by microseconds). */
#define FL_LAT_FOLLOW_MARGIN_NS 10000000ULL
#define FL_LAT_FLOWS		65536
#define FL_LAT_DIST_N		256  /* quantiles of the distribution, for EDT */
#define FL_LAT_DIST_ONE		1024 /* dist[] unit: 1/1024 of the jitter */

struct fl_lat_rule {
	__u32 per;	 /* enum fl_lat_per */
	__u32 force;	 /* 1: may touch protected ports */
	__u64 follow_ns; /* the longest delay + FL_LAT_FOLLOW_MARGIN_NS */
	struct fl_match match;
	/* EDT only: the program draws the delay itself. */
	__u32 fault_id;
	__u32 prob; /* delay when bpf_get_prandom_u32() < prob; 0xffffffff = always */
	__u64 delay_ns;
	__u64 jitter_ns;
	__s32 dist[FL_LAT_DIST_N]; /* delay = delay_ns + jitter_ns * dist[rand] / ONE */
	/* netem only: the prio band's class the program puts packets in. */
	__u32 classid;
	__u32 pad;
};

/* A flow in one direction, as the packet says (source first). */
struct fl_lat_flow_key {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct fl_lat_flow {
	__u64 follow_until; /* bpf_ktime_get_ns(): queue every packet before this */
	__u64 last_tstamp;  /* EDT: the flow's latest departure time */
	__u32 last_ack;	    /* TCP: the ack of the last data packet (a turn) */
	__u32 seen;
};

struct fl_lat_counters {
	__u64 matched; /* packets the target matched */
	__u64 queued;  /* of those, handed to the queue (EDT: given a delay) */
};

#endif
