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
 * The parser is local: bpf/pkt_parse.h reads the packet directly, which a
 * socket filter may not (no skb->data access), so this one reads with
 * bpf_skb_load_bytes. It reads what that one reads past the link layer, by
 * its rules and constants: IPv4 (IHL below 5 refused, a later fragment has
 * no ports), IPv6 with up to FL_IPV6_EXT_MAX extension headers (a later
 * fragment, a longer chain or one cut short: no ports, and for the last
 * two no protocol a rule names), TCP and UDP ports. The agent's side of
 * the queue (lat_parse_pkt) reads the same.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "event.h"
#include "latency.h"
#include "pkt_parse.h"

#define AF_INET	  FL_AF_INET
#define AF_INET6  FL_AF_INET6
#define IP_OFFSET FL_IP_OFFSET
#define TCP_SYN	  0x02

const volatile __u16 protected_ports[FL_MAX_PROTECTED] = {};
const volatile __u32 nr_protected = 0;
/* Where the IP header starts: 0 in netfilter (nfqueue), 14 in tc on an
 * Ethernet device (edt), 0 there on a raw IP device. */
const volatile __u32 l3_off = 0;
const volatile __u8 direction = 0;
const volatile __u32 ifindex = 0;
__u64 events_lost = 0;
/* Backend edt: bpf_ktime_get_ns() of the agent's last beat. On a kernel
 * without tcx (before 6.6) the program sits in a classic tc filter, which
 * outlives a killed agent: it stops delaying 2 s after the last beat, as a
 * drop does (drop.bpf.c). */
__u64 heartbeat_ns = 0;

/* Written by the agent before the rule is inserted. */
struct fl_lat_rule rule = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_lat_counters);
} counters SEC(".maps");

/* EDT: one event per delayed packet. Shared by every instance: the agent
 * creates it once and reuses its fd. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FL_EVENTS_RINGBUF_BYTES);
} events SEC(".maps");

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

/* IPv6 extension headers from next header nh at *off, as fl_skip_ip6ext
 * walks them. Sets *proto to the upper-layer protocol and *off to its
 * header; returns -1 when there are no ports to read (*proto then as
 * fl_skip_ip6ext leaves it). */
static __always_inline int skip_ip6ext(struct __sk_buff *skb, __u32 *off, __u8 *proto, __u8 nh)
{
#pragma unroll
	for (int i = 0; i < FL_IPV6_EXT_MAX; i++) {
		struct fl_ip6_ext h;

		if (!fl_is_ip6ext(nh))
			break;
		if (bpf_skb_load_bytes(skb, *off, &h, sizeof(h))) {
			*proto = nh;
			return -1;
		}
		if (nh == FL_NEXTHDR_FRAG && (h.frag_off & bpf_htons(FL_IP6_OFFSET))) {
			*proto = h.nexthdr;
			return -1; /* a later fragment carries no ports */
		}
		*off += fl_ip6ext_len(nh, h.hdrlen);
		nh = h.nexthdr;
	}
	*proto = nh;
	return fl_is_ip6ext(nh) ? -1 : 0;
}

static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
	__u8 first;
	__u32 l4;

	if (bpf_skb_load_bytes(skb, l3_off, &first, 1))
		return -1;
	if (first >> 4 == 4) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, l3_off, &ip, sizeof(ip)) || ip.ihl < 5)
			return -1;
		p->family = AF_INET;
		p->k.proto = ip.protocol;
		p->k.saddr[0] = ip.saddr;
		p->k.daddr[0] = ip.daddr;
		if (ip.frag_off & bpf_htons(IP_OFFSET))
			return 0; /* a later fragment carries no ports */
		l4 = l3_off + ip.ihl * 4;
	} else if (first >> 4 == 6) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, l3_off, &ip6, sizeof(ip6)))
			return -1;
		p->family = AF_INET6;
		__builtin_memcpy(p->k.saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->k.daddr, &ip6.daddr, 16);
		l4 = l3_off + sizeof(ip6);
		if (skip_ip6ext(skb, &l4, &p->k.proto, ip6.nexthdr))
			return 0; /* no ports */
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

/* The packet starts what the fault delays (given the flow as known). */
static __always_inline bool is_start(const struct pkt *p, const struct fl_lat_flow *f)
{
	if (rule.per == FL_LAT_PER_PACKET)
		return true;
	if (rule.per == FL_LAT_PER_CONNECTION)
		return p->k.proto == IPPROTO_TCP ? p->syn : !f;
	return p->k.proto == IPPROTO_TCP && p->payload && (!f || f->last_ack != p->ack);
}

static __always_inline bool coin(void)
{
	return rule.prob == 0xffffffff || bpf_get_prandom_u32() < rule.prob;
}

/* 0: not selected; 1: it follows a selected packet of its flow; 2: it
 * starts what the fault delays. draw: the program draws the probability
 * and every selected packet extends the flow's window (netem, which
 * delays each packet from its own arrival: the flow leaves netem only
 * after a gap of follow_ns, so nothing behind overtakes it); else the
 * agent draws (nfqueue). */
static __always_inline int select(struct pkt *p, __u64 now, bool draw)
{
	struct fl_lat_flow *f, nf = {};
	bool start;

	if (rule.per == FL_LAT_PER_PACKET)
		return !draw || coin() ? 2 : 0;
	f = bpf_map_lookup_elem(&flows, &p->k);
	start = is_start(p, f) && (!draw || coin());
	if (!f) {
		if (!start)
			return 0;
		nf.seen = 1;
		nf.last_ack = p->ack;
		nf.follow_until = now + rule.follow_ns;
		bpf_map_update_elem(&flows, &p->k, &nf, BPF_ANY);
		return 2;
	}
	if (p->payload)
		f->last_ack = p->ack;
	if (start || (draw && now < f->follow_until)) {
		f->follow_until = now + rule.follow_ns;
		return start ? 2 : 1;
	}
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
	ret = select(&p, bpf_ktime_get_ns(), false);
	if (ret)
		c->queued++;
	return !!ret;
}

static __always_inline void emit(const struct pkt *p, __u64 now, __u64 delay)
{
	struct fl_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&events_lost, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->value = delay;
	e->fault_id = rule.fault_id;
	e->kind = FL_KIND_LATENCY;
	e->dir = direction;
	e->family = p->family;
	e->proto = p->k.proto;
	e->sport = p->k.sport;
	e->dport = p->k.dport;
	e->ifindex = ifindex;
	__builtin_memcpy(e->saddr, p->k.saddr, 16);
	__builtin_memcpy(e->daddr, p->k.daddr, 16);
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > FL_EVENTS_WAKE_BYTES
				  ? BPF_RB_FORCE_WAKEUP
				  : BPF_RB_NO_WAKEUP);
}

/* The tc backends (edt, netem): the packet parsed into p and counted when
 * the fault's target matches it and the agent is alive; the counters, or
 * NULL to let the packet go on untouched. */
static __always_inline struct fl_lat_counters *tc_match(struct __sk_buff *skb, struct pkt *p,
							__u64 *now)
{
	struct fl_lat_counters *c;
	__u32 key = 0;

	if (parse(skb, p) < 0 || !target_match(p))
		return NULL;
	c = bpf_map_lookup_elem(&counters, &key);
	if (!c)
		return NULL;
	c->matched++;
	*now = bpf_ktime_get_ns();
	/* Dead-man switch; signed: a beat after the clock read is later than now. */
	if ((__s64)(*now - *(volatile __u64 *)&heartbeat_ns) > (__s64)FL_HEARTBEAT_STALE_NS)
		return NULL;
	return c;
}

/*
 * Backend edt: on egress under the fq qdisc the agent installs, a packet
 * leaves at its departure time (skb->tstamp, CLOCK_MONOTONIC). The program
 * draws the delay (a quantile table the agent fills for the distribution;
 * correlation is not applied here), sets the departure time, and keeps
 * each flow's packets in order behind its latest departure. Every packet
 * goes on to the next program (TCX_NEXT / TC_ACT_UNSPEC).
 */
SEC("tc")
int fl_latency_edt(struct __sk_buff *skb)
{
	struct fl_lat_flow *f, nf = {};
	struct fl_lat_counters *c;
	struct pkt p = {};
	__u64 now, base, t = 0;

	c = tc_match(skb, &p, &now);
	if (!c)
		return -1;
	base = skb->tstamp > now ? skb->tstamp : now; /* TCP may pace it already */
	f = bpf_map_lookup_elem(&flows, &p.k);
	if (is_start(&p, f) && (rule.prob == 0xffffffff || bpf_get_prandom_u32() < rule.prob)) {
		__u32 i = bpf_get_prandom_u32() % FL_LAT_DIST_N;
		/* dist[] is in 1/1024 (FL_LAT_DIST_ONE): a shift, BPF has no sdiv */
		__s64 d = (__s64)rule.delay_ns +
			  (((__s64)rule.jitter_ns * rule.dist[i & (FL_LAT_DIST_N - 1)]) >> 10);

		t = base + (d > 0 ? d : 0);
		c->queued++;
		emit(&p, now, t - base);
	}
	if (!f) {
		if (!t)
			return -1;
		nf.last_ack = p.ack;
		nf.last_tstamp = t;
		bpf_map_update_elem(&flows, &p.k, &nf, BPF_ANY);
	} else {
		if (p.payload)
			f->last_ack = p.ack;
		if (f->last_tstamp > (t ? t : base))
			t = f->last_tstamp; /* behind the flow's latest: no reordering */
		if (t)
			f->last_tstamp = t;
	}
	if (t && t != skb->tstamp)
		bpf_skb_set_tstamp(skb, t, BPF_SKB_CLOCK_MONOTONIC);
	return -1; /* TCX_NEXT, TC_ACT_UNSPEC */
}

/*
 * Backend netem: on egress, the packets to delay go to the fault's netem
 * qdisc, a band of the prio qdisc the agent installs as the device's root
 * (skb->priority = that band's class: prio takes a priority whose major
 * is its own handle as the band). netem delays each one from its arrival
 * and draws the jitter itself; events carry the nominal delay. (Its
 * name is short: the kernel keeps 15 characters of a program's.)
 */
SEC("tc")
int fl_lat_netem(struct __sk_buff *skb)
{
	struct fl_lat_counters *c;
	struct pkt p = {};
	__u64 now;
	int sel;

	c = tc_match(skb, &p, &now);
	if (!c)
		return -1;
	sel = select(&p, now, true);
	if (!sel)
		return -1;
	skb->priority = rule.classid;
	c->queued++;
	if (sel == 2)
		emit(&p, now, rule.delay_ns);
	return -1; /* TCX_NEXT, TC_ACT_UNSPEC */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
