/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Classic tracepoint contexts whose type name changed between kernels, by
 * their fixed layout instead of vmlinux.h's type (CO-RE finds a type by its
 * name). tcp:tcp_retransmit_skb is an event of the class tcp_event_sk_skb
 * up to 6.x (its context `trace_event_raw_tcp_event_sk_skb`, as on Debian's
 * 6.1) and an event of its own later (`trace_event_raw_tcp_retransmit_skb`,
 * with an `err` field at the end); the fields read here sit at the same
 * offsets in both, as the tracepoint's format file gives them.
 */
#ifndef FL_TP_CTX_BPF_H
#define FL_TP_CTX_BPF_H

struct fl_tp_tcp_retransmit_skb {
	__u64 common; /* struct trace_entry: type, flags, preempt_count, pid */
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
};

#endif
