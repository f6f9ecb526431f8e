// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Packet drops. One instance of this program is loaded per device and
 * direction; it holds a table of active drop faults in .bss, which the agent
 * writes through the skeleton's mmap. Attached by a tcx link where the kernel
 * has tcx, else by a classic tc filter on clsact.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "event.h"
#include "drop.h"

/* A packet we do not drop goes on to the next program or filter: on a tcx
 * link TC_ACT_UNSPEC is TCX_NEXT; TC_ACT_OK (TCX_PASS) would end the chain
 * and switch off everyone else's filters on the device. */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT   2
#define ETH_P_IP    0x0800
#define ETH_P_IPV6  0x86DD
#define AF_INET	    2
#define AF_INET6    10
#define IP_MF	    0x2000
#define IP_OFFSET   0x1fff

/* Set before load. */
const volatile __u32 l3_off = 14; /* 14 on Ethernet-like devices, 0 on raw IP */
const volatile __u8 direction = FL_DIR_INGRESS;
const volatile __u32 ifindex = 0;
const volatile __u16 protected_ports[FL_MAX_PROTECTED] = {};
const volatile __u32 nr_protected = 0;

/* Written by the agent at run time. */
struct fl_drop_rule rules[FL_DROP_MAX_RULES] = {};
__u32 nr_slots = 0;	/* slots in use are below this */
__u64 heartbeat_ns = 0; /* bpf_ktime_get_ns() of the agent's last beat */
__u64 events_lost = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_DROP_MAX_RULES);
	__type(key, __u32);
	__type(value, struct fl_drop_counters);
} counters SEC(".maps");

/* Shared by every instance: the agent creates it once and reuses its fd. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FL_EVENTS_RINGBUF_BYTES);
} events SEC(".maps");

struct pkt {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 proto;
	__u8 has_ports;
};

/* l3proto is the EtherType in network byte order. */
static __always_inline int parse(void *data, void *end, __u16 l3proto, struct pkt *p)
{
	void *l4;

	if (l3proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + l3_off;

		if ((void *)(ip + 1) > end)
			return -1;
		p->family = AF_INET;
		p->proto = ip->protocol;
		p->saddr[0] = ip->saddr;
		p->daddr[0] = ip->daddr;
		if (ip->frag_off & bpf_htons(IP_OFFSET))
			return 0; /* a later fragment carries no ports */
		l4 = (void *)ip + ip->ihl * 4;
	} else if (l3proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + l3_off;

		if ((void *)(ip6 + 1) > end)
			return -1;
		p->family = AF_INET6;
		p->proto = ip6->nexthdr; /* extension headers are not walked */
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		l4 = ip6 + 1;
	} else {
		return -1;
	}
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		__be16 *ports = l4;

		if ((void *)(ports + 2) > end)
			return 0;
		p->sport = bpf_ntohs(ports[0]);
		p->dport = bpf_ntohs(ports[1]);
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
		if (p->sport == protected_ports[i] || p->dport == protected_ports[i])
			return true;
	return false;
}

static __always_inline bool rule_match(const struct fl_drop_rule *r, const struct pkt *p,
				       bool protected)
{
	const struct fl_match *m = &r->match;

	if (m->family && m->family != p->family)
		return false;
	if (m->proto && m->proto != p->proto)
		return false;
	if (protected && !r->force)
		return false;
	if (!port_match(p->sport, m->sport_lo, m->sport_hi, p->has_ports) ||
	    !port_match(p->dport, m->dport_lo, m->dport_hi, p->has_ports))
		return false;
	return addr_match(p->saddr, m->src, m->src_mask) &&
	       addr_match(p->daddr, m->dst, m->dst_mask);
}

static __always_inline void emit(const struct fl_drop_rule *r, const struct pkt *p, __u64 now)
{
	struct fl_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&events_lost, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->fault_id = r->fault_id;
	e->kind = FL_KIND_DROP;
	e->dir = direction;
	e->family = p->family;
	e->proto = p->proto;
	e->sport = p->sport;
	e->dport = p->dport;
	e->ifindex = ifindex;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	/* The agent reads on its 250 ms tick; wake it only when a backlog
	 * builds up, not once per packet. */
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > FL_EVENTS_WAKE_BYTES
				  ? BPF_RB_FORCE_WAKEUP
				  : BPF_RB_NO_WAKEUP);
}

/* True when the packet is to be dropped. */
static __always_inline bool decide(void *data, void *end, __u16 l3proto)
{
	struct pkt p = {};
	__u32 n = nr_slots;
	__u64 now;
	bool protected;

	if (!n)
		return false;
	now = bpf_ktime_get_ns();
	/* Dead-man switch: a stalled or killed agent stops every drop. */
	if (now - heartbeat_ns > FL_HEARTBEAT_STALE_NS)
		return false;
	if (parse(data, end, l3proto, &p) < 0)
		return false;
	protected = is_protected(&p);

	for (__u32 i = 0; i < FL_DROP_MAX_RULES && i < n; i++) {
		struct fl_drop_rule *r = &rules[i];
		struct fl_drop_counters *c;
		__u32 key = i;

		if (!r->active || !rule_match(r, &p, protected))
			continue;
		c = bpf_map_lookup_elem(&counters, &key);
		if (!c)
			continue;
		c->matched++;
		if (r->prob != 0xffffffff && bpf_get_prandom_u32() >= r->prob)
			continue;
		c->dropped++;
		emit(r, &p, now);
		return true;
	}
	return false;
}

SEC("tc")
int fl_drop(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	return decide(data, end, skb->protocol) ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

SEC("xdp")
int fl_drop_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (l3_off != sizeof(*eth) || (void *)(eth + 1) > end)
		return XDP_PASS;
	return decide(data, end, eth->h_proto) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
