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
#include "pkt_parse.h"

/* A packet we do not drop goes on to the next program or filter: on a tcx
 * link TC_ACT_UNSPEC is TCX_NEXT; TC_ACT_OK (TCX_PASS) would end the chain
 * and switch off everyone else's filters on the device. */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT   2

#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#define barrier()    asm volatile("" ::: "memory")

/* Set before load. */
const volatile __u32 l3_off = 14; /* 14: Ethernet-like device; 0: raw IP, no link header */
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

/* Rules with a loss model: where each one's chain is, per CPU (drop.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_DROP_MAX_RULES);
	__type(key, __u32);
	__type(value, struct fl_loss_state);
} loss_state SEC(".maps");

/* Shared by every instance: the agent creates it once and reuses its fd. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FL_EVENTS_RINGBUF_BYTES);
} events SEC(".maps");

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

static __always_inline bool is_protected(const struct fl_pkt *p)
{
	if (!p->has_ports)
		return false;
	for (__u32 i = 0; i < FL_MAX_PROTECTED && i < nr_protected; i++)
		if (p->sport == protected_ports[i] || p->dport == protected_ports[i])
			return true;
	return false;
}

static __always_inline bool rule_match(const struct fl_drop_rule *r, const struct fl_pkt *p,
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

static __always_inline void emit(__u32 fault_id, const struct fl_pkt *p, __u64 now)
{
	struct fl_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&events_lost, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->fault_id = fault_id;
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

/* The slot still holds the rule of generation gen: the agent has not
 * refilled it since the program read that rule. */
static __always_inline bool same_rule(const struct fl_drop_rule *r, __u32 gen)
{
	barrier();
	return READ_ONCE(r->gen) == gen;
}

/* An event of probability t/2^32 (0xffffffff: always); no draw for 0 or always. */
static __always_inline bool draw(__u32 t)
{
	return t && (t == 0xffffffff || bpf_get_prandom_u32() < t);
}

/*
 * One step of a rule's loss chain on this CPU, netem's Gilbert-Elliott
 * order: the fate by the state the packet finds, then the move for the next
 * packet. A state of another generation is the slot's previous rule's: start
 * afresh in Good. Softirq context: nothing else runs this CPU's state now.
 */
static __always_inline bool chain_drop(const struct fl_drop_rule *r, __u32 slot, __u32 gen)
{
	struct fl_loss_state *s = bpf_map_lookup_elem(&loss_state, &slot);
	bool bad, lost;

	if (!s)
		return false;
	if (s->gen != gen) {
		__builtin_memset(s, 0, sizeof(*s));
		s->gen = gen;
	}
	bad = s->bad;
	lost = draw(bad ? r->chain.loss_bad : r->chain.loss_good);
	if (draw(bad ? r->chain.to_good : r->chain.to_bad))
		s->bad = !bad;
	if (lost) {
		if (!s->lost) {
			s->runs++;
			s->run = 0;
		}
		s->run++;
		if (s->run > s->longest)
			s->longest = s->run;
	}
	s->lost = lost;
	return lost;
}

/*
 * True when the packet is to be dropped. l3proto: the EtherType (network
 * byte order) on raw-IP devices, 0 when unknown; see fl_parse_pkt.
 *
 * A slot can be freed and filled with another fault's rule while this runs
 * on another CPU (drop.h, struct fl_drop_rule). The rule is read after its
 * generation, and each counter or event is written only if the generation
 * is unchanged, so a packet of the old rule does not land in the new rule's
 * counters or events, and the event names the fault whose rule matched.
 * What is left: the agent can refill the slot in the few instructions
 * between the last check and the write. The agent closes that too by waiting
 * for an RCU grace period (every program run that could hold the old rule
 * has ended) before it resets the slot's counters (agent/kinds/drop.c,
 * drop_add); where it cannot wait (membarrier refused), one packet per CPU
 * per refill can still be counted for the new rule; its event, if any, still
 * names the old fault.
 */
static __always_inline bool decide(void *data, void *end, __u16 l3proto)
{
	struct fl_pkt p = {};
	__u32 n = nr_slots;
	__u64 now;
	bool protected;

	if (!n)
		return false;
	now = bpf_ktime_get_ns();
	/* Dead-man switch: a stalled or killed agent stops every drop. Signed,
	 * because a beat written between the clock read above and the load
	 * here is later than now. */
	if ((__s64)(now - READ_ONCE(heartbeat_ns)) > (__s64)FL_HEARTBEAT_STALE_NS)
		return false;
	if (fl_parse_pkt(data, end, l3_off, l3proto, &p) < 0)
		return false;
	protected = is_protected(&p);

	for (__u32 i = 0; i < FL_DROP_MAX_RULES && i < n; i++) {
		struct fl_drop_rule *r = &rules[i];
		struct fl_drop_counters *c;
		__u32 key = i, gen, fault_id, prob, model;

		gen = READ_ONCE(r->gen);
		barrier();
		if (!READ_ONCE(r->active))
			continue;
		fault_id = r->fault_id;
		prob = r->prob;
		model = r->model;
		if (!rule_match(r, &p, protected))
			continue;
		c = bpf_map_lookup_elem(&counters, &key);
		if (!c || !same_rule(r, gen))
			continue;
		c->matched++;
		if (model == FL_LOSS_CHAIN) {
			if (!chain_drop(r, key, gen))
				continue;
		} else if (prob != 0xffffffff && bpf_get_prandom_u32() >= prob) {
			continue;
		}
		if (!same_rule(r, gen))
			continue;
		c->dropped++;
		emit(fault_id, &p, now);
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

	return decide(data, end, 0) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
