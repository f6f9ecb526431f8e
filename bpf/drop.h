/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Shared between drop.bpf.c and agent/kinds/drop.c: the packet match and counters. */
#ifndef FL_DROP_H
#define FL_DROP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FL_DROP_MAX_RULES     32 /* active drop faults per device and direction */
#define FL_MAX_PROTECTED      8
#define FL_HEARTBEAT_STALE_NS 2000000000ULL /* stop injecting 2 s after the last beat */

/*
 * A packet match, used by every packet fault kind. Zero fields match
 * anything. Addresses are in network byte order, IPv4 in word 0; the agent
 * turns a CIDR into address & mask so that the program does four ANDs.
 */
struct fl_match {
	__u8 family;	/* 0 any, AF_INET, AF_INET6 */
	__u8 proto;	/* 0 any, IPPROTO_TCP/UDP/ICMP/ICMPV6 */
	__u16 sport_lo; /* host byte order; lo = hi = 0 matches any */
	__u16 sport_hi;
	__u16 dport_lo;
	__u16 dport_hi;
	__u16 pad;
	__u32 src[4];
	__u32 src_mask[4];
	__u32 dst[4];
	__u32 dst_mask[4];
};

/*
 * A rule slot in the program's table. The agent fills a slot as a seqlock
 * whose "being written" state is active == 0: it bumps gen (slot free, so
 * active is 0 already), writes the other fields, and sets active last. The
 * program reads gen, then active and the rule, and writes counters and
 * events only while gen is still the one it read: a packet matched against
 * the slot's old rule is never counted or reported for the new one
 * (drop.bpf.c, decide). The program's loads keep their order on x86 (TSO);
 * BPF has no load-acquire before kernel 6.15 and clang 20, so on a weakly
 * ordered CPU (arm64) a packet that arrives while a slot is being filled
 * may still be matched against the slot's previous rule.
 */
/*
 * A rule's loss model (docs/backends.md, "Loss models"). Independent: each
 * matched packet is dropped with prob on its own, no state. Chain: a
 * two-state (Good, Bad) Markov chain in netem's Gilbert-Elliott convention:
 * a packet's fate is drawn with the loss probability of the state it finds,
 * then the chain moves (to_bad from Good, to_good from Bad) for the next
 * one. The agent turns both --model ge:... and --correlation into a chain.
 * Every field is a threshold like prob: the event happens when
 * bpf_get_prandom_u32() < it; 0 never, 0xffffffff always.
 */
enum fl_loss_model {
	FL_LOSS_INDEPENDENT = 0,
	FL_LOSS_CHAIN = 1,
};

struct fl_loss_chain {
	__u32 to_bad;	 /* P(Good -> Bad): ge p */
	__u32 to_good;	 /* P(Bad -> Good): ge r */
	__u32 loss_good; /* P(drop | Good): 1 - ge k */
	__u32 loss_bad;	 /* P(drop | Bad): 1 - ge h */
};

struct fl_drop_rule {
	__u32 active; /* written last by the agent; the program skips inactive slots */
	__u32 gen;    /* bumped by the agent each time it fills the slot */
	__u32 fault_id;
	__u32 prob;  /* drop when bpf_get_prandom_u32() < prob; 0xffffffff = always */
	__u32 force; /* 1: may touch protected ports */
	__u32 model; /* enum fl_loss_model; FL_LOSS_CHAIN ignores prob */
	struct fl_loss_chain chain;
	struct fl_match match;
};

/*
 * Where a rule's chain is, per CPU and rule slot (the loss_state per-CPU
 * array): each CPU runs its own chain, so bursts are bursts of the packets
 * one CPU handles. A state whose gen is not the rule's belongs to the slot's
 * previous rule: the program starts afresh (Good, no runs) on the first
 * packet it sees for the new generation, so a refilled slot needs no reset
 * from the agent, and the agent sums only the states of the rule's gen.
 */
struct fl_loss_state {
	__u32 gen;
	__u8 bad;  /* the chain is in Bad */
	__u8 lost; /* the last packet through the chain was dropped */
	__u16 pad;
	__u32 run;     /* length of the current run of drops */
	__u32 longest; /* the longest run of drops on this CPU */
	__u64 runs;    /* runs of consecutive drops begun (bursts) */
};

struct fl_drop_counters {
	__u64 matched;
	__u64 dropped;
};

#endif
