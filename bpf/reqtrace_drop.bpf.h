/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Drops for reqtrace.bpf.c (per-request stage records, docs/tracing.md): a
 * freed packet's TCP 4-tuple, and the followed socket it counts for. Only
 * reqtrace.bpf.c includes it, after reqtrace_core.bpf.h.
 */
#ifndef FL_REQTRACE_DROP_BPF_H
#define FL_REQTRACE_DROP_BPF_H

/* A packet's TCP 4-tuple from its headers; 0 or -1. */
static __always_inline int skb_tuple(struct sk_buff *skb, struct fl_rq_tuple *t)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	__u16 ports[2];
	__u32 off;

	if (nh == (__u16)~0U)
		return -1;
	if (proto == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) || ip.ihl < 5 ||
		    ip.protocol != IPPROTO_TCP)
			return -1;
		__builtin_memcpy(t->local, &ip.saddr, 4);
		__builtin_memcpy(t->remote, &ip.daddr, 4);
		off = nh + ip.ihl * 4;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh) ||
		    ip6.nexthdr != IPPROTO_TCP)
			return -1;
		__builtin_memcpy(t->local, &ip6.saddr, 16);
		__builtin_memcpy(t->remote, &ip6.daddr, 16);
		off = nh + sizeof(ip6);
	} else {
		return -1;
	}
	if (bpf_probe_read_kernel(ports, sizeof(ports), head + off))
		return -1;
	t->lport = bpf_ntohs(ports[0]);
	t->rport = bpf_ntohs(ports[1]);
	return 0;
}

/* The address of the followed client socket of a packet's 4-tuple, in
 * either direction; NULL when none. */
static __always_inline __u64 *tuple_sock(struct sk_buff *skb)
{
	struct fl_rq_tuple t = {}, r = {};
	__u64 *k;

	if (skb_tuple(skb, &t))
		return NULL;
	k = bpf_map_lookup_elem(&tuples, &t);
	if (k)
		return k;
	__builtin_memcpy(r.local, t.remote, 16);
	__builtin_memcpy(r.remote, t.local, 16);
	r.lport = t.rport;
	r.rport = t.lport;
	return bpf_map_lookup_elem(&tuples, &r);
}

/* tp_btf: park a drop for the socket at address k (see parked). */
static __always_inline void park_drop(__u64 k, __u32 reason)
{
	struct fl_rq_drop_box *b = bpf_map_lookup_elem(&parked, &k);

	if (!b) {
		struct fl_rq_drop_box n = {};

		bpf_map_update_elem(&parked, &k, &n, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&parked, &k);
		if (!b)
			return;
	}
	if (!b->drops) {
		b->reason = reason;
		b->drop_ns = bpf_ktime_get_ns();
	}
	__sync_fetch_and_add(&b->drops, 1);
	__sync_fetch_and_add(&drop_gen, 1);
}

/* A drop counts for the followed socket it belongs to: its own socket, or
 * the client socket of its 4-tuple (a packet dropped at ingress has none). */
static __always_inline int on_drop(struct sk_buff *skb, __u32 reason, bool local)
{
	struct fl_rq_sock *s;
	struct sock *sk;
	__u64 *k;

	if (reason == cfg.purge_reason || reason == cfg.consumed_reason)
		return 0; /* freed with the socket, or consumed: no packet lost */
	/* tp_btf reads the socket as a typed pointer, for its storage */
	sk = local ? skb->sk : BPF_CORE_READ(skb, sk);
	s = sk ? state_of(sk, local) : NULL;
	if (s) {
		note_drops(s, 1, reason, bpf_ktime_get_ns());
		return 0;
	}
	k = tuple_sock(skb);
	if (!k)
		return 0;
	if (local) {
		park_drop(*k, reason);
		return 0;
	}
	s = bpf_map_lookup_elem(&socks, k);
	if (s)
		note_drops(s, 1, reason, bpf_ktime_get_ns());
	return 0;
}

#endif
