// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Packet latency, the selector. An xt_bpf match (iptables -m bpf, a socket
 * filter program) in front of `-j NFQUEUE --queue-bypass`: it returns 1
 * for a packet the agent is to see, 0 for every other, so that packets no
 * fault matches never reach user space. Netfilter hands it the packet from
 * the network header on, in PREROUTING (ingress) or POSTROUTING (egress).
 *
 * What it selects, by the fault's `per`:
 *   packet      every packet the target matches;
 *   connection  a TCP SYN (or SYN-ACK), the first packet of a UDP flow;
 *   request     a TCP data packet whose ack differs from the last data
 *               packet's of its flow and direction: the other side sent
 *               something since, so this starts a new request (or reply);
 * and, in every case, each packet of a flow for follow_ns after the flow's
 * last selected packet, so that the agent can keep the flow's order
 * behind the one it holds. The agent decides (probability, delay).
 *
 * The parser is local until bpf/pkt_parse.h (shared with drop) lands.
 * IPv6 extension headers are not walked.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "latency.h"

#define AF_INET	  2
#define AF_INET6  10
#define IP_OFFSET 0x1fff
#define TCP_SYN	  0x02

const volatile __u16 protected_ports[FL_MAX_PROTECTED] = {};
const volatile __u32 nr_protected = 0;

/* Written by the agent before the rule is inserted. */
struct fl_lat_rule rule = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_lat_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_LAT_FLOWS);
	__type(key, struct fl_lat_flow_key);
	__type(value, struct fl_lat_flow);
} flows SEC(".maps");

struct pkt {
	struct fl_lat_flow_key k;
	__u8 family;
	__u8 has_ports;
	__u8 syn;
	__u32 ack;
	__u32 payload; /* TCP payload bytes */
};

static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
	__u8 first;
	__u32 l4;

	if (bpf_skb_load_bytes(skb, 0, &first, 1))
		return -1;
	if (first >> 4 == 4) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.ihl < 5)
			return -1;
		p->family = AF_INET;
		p->k.proto = ip.protocol;
		p->k.saddr[0] = ip.saddr;
		p->k.daddr[0] = ip.daddr;
		if (ip.frag_off & bpf_htons(IP_OFFSET))
			return 0; /* a later fragment carries no ports */
		l4 = ip.ihl * 4;
	} else if (first >> 4 == 6) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		p->family = AF_INET6;
		p->k.proto = ip6.nexthdr;
		__builtin_memcpy(p->k.saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->k.daddr, &ip6.daddr, 16);
		l4 = sizeof(ip6);
	} else {
		return -1;
	}
	if (p->k.proto == IPPROTO_TCP) {
		struct tcphdr th;
		__u32 hl;

		if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)))
			return 0;
		p->k.sport = bpf_ntohs(th.source);
		p->k.dport = bpf_ntohs(th.dest);
		p->has_ports = 1;
		p->syn = th.syn;
		p->ack = bpf_ntohl(th.ack_seq);
		hl = l4 + th.doff * 4;
		p->payload = skb->len > hl ? skb->len - hl : 0;
	} else if (p->k.proto == IPPROTO_UDP) {
		__be16 ports[2];

		if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
			return 0;
		p->k.sport = bpf_ntohs(ports[0]);
		p->k.dport = bpf_ntohs(ports[1]);
		p->has_ports = 1;
	}
	return 0;
}

static __always_inline bool addr_match(const __u32 *a, const __u32 *net, const __u32 *mask)
{
	return ((a[0] & mask[0]) == net[0]) & ((a[1] & mask[1]) == net[1]) &
	       ((a[2] & mask[2]) == net[2]) & ((a[3] & mask[3]) == net[3]);
}

static __always_inline bool port_match(__u16 port, __u16 lo, __u16 hi, bool has_ports)
{
	if (!lo && !hi)
		return true;
	return has_ports && port >= lo && port <= hi;
}

static __always_inline bool is_protected(const struct pkt *p)
{
	if (!p->has_ports)
		return false;
	for (__u32 i = 0; i < FL_MAX_PROTECTED && i < nr_protected; i++)
		if (p->k.sport == protected_ports[i] || p->k.dport == protected_ports[i])
			return true;
	return false;
}

static __always_inline bool target_match(const struct pkt *p)
{
	const struct fl_match *m = &rule.match;

	if (m->family && m->family != p->family)
		return false;
	if (m->proto && m->proto != p->k.proto)
		return false;
	if (!rule.force && is_protected(p))
		return false;
	if (!port_match(p->k.sport, m->sport_lo, m->sport_hi, p->has_ports) ||
	    !port_match(p->k.dport, m->dport_lo, m->dport_hi, p->has_ports))
		return false;
	return addr_match(p->k.saddr, m->src, m->src_mask) &&
	       addr_match(p->k.daddr, m->dst, m->dst_mask);
}

/* 1: the agent sees this packet. */
static __always_inline int select(struct pkt *p, __u64 now)
{
	struct fl_lat_flow *f, nf = {};
	bool start;

	if (rule.per == FL_LAT_PER_PACKET)
		return 1;
	f = bpf_map_lookup_elem(&flows, &p->k);
	if (rule.per == FL_LAT_PER_CONNECTION)
		start = p->k.proto == IPPROTO_TCP ? p->syn : !f;
	else
		start = p->k.proto == IPPROTO_TCP && p->payload && (!f || f->last_ack != p->ack);
	if (!f) {
		if (!start)
			return 0;
		nf.seen = 1;
		nf.last_ack = p->ack;
		nf.follow_until = now + rule.follow_ns;
		bpf_map_update_elem(&flows, &p->k, &nf, BPF_ANY);
		return 1;
	}
	if (start) {
		f->follow_until = now + rule.follow_ns;
		if (p->payload)
			f->last_ack = p->ack;
		return 1;
	}
	if (p->payload)
		f->last_ack = p->ack;
	return now < f->follow_until;
}

SEC("socket")
int fl_latency(struct __sk_buff *skb)
{
	struct fl_lat_counters *c;
	struct pkt p = {};
	__u32 key = 0;
	int ret;

	if (parse(skb, &p) < 0 || !target_match(&p))
		return 0;
	c = bpf_map_lookup_elem(&counters, &key);
	if (!c)
		return 0;
	c->matched++;
	ret = select(&p, bpf_ktime_get_ns());
	if (ret)
		c->queued++;
	return ret;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
