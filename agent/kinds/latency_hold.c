// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What the latency queue holds: the headers of a packet (its flow, SYN,
 * ack, payload), the flows it has seen (a fixed table), and the packets
 * held, a min-heap by release time and arrival.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include "latency_kind.h"
#include "pkt_limits.h"

#define FLOW_PROBE   8
#define FLOW_IDLE_NS (120 * 1000000000ULL)

/* ---- flows ---- */

static uint32_t flow_hash(const struct fl_lat_flow_key *k)
{
	const uint32_t *w = (const uint32_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k) / 4; i++)
		h = (h ^ w[i]) * 16777619u;
	return h ^ (h >> 15);
}

uint32_t lat_flow_get(struct uflow *flows, const struct fl_lat_flow_key *k, uint64_t now,
		      bool *created)
{
	uint32_t h = flow_hash(k), victim = UINT32_MAX;
	uint64_t oldest = UINT64_MAX;

	*created = false;
	for (uint32_t i = 0; i < FLOW_PROBE; i++) {
		uint32_t s = (h + i) & (LAT_USER_FLOWS - 1);
		struct uflow *f = &flows[s];

		if (f->used && !memcmp(&f->k, k, sizeof(*k))) {
			f->last_used = now;
			return s;
		}
		if (!f->used || (!f->held && now - f->last_used > FLOW_IDLE_NS)) {
			if (victim == UINT32_MAX || flows[victim].used)
				victim = s;
			oldest = 0;
		} else if (!f->held && f->last_used < oldest) {
			oldest = f->last_used;
			victim = s;
		}
	}
	if (victim == UINT32_MAX)
		victim = h & (LAT_USER_FLOWS - 1); /* all held: share the slot */
	if (flows[victim].held) {
		flows[victim].last_used = now; /* keep its order; a rare shared slot */
		return victim;
	}
	memset(&flows[victim], 0, sizeof(flows[victim]));
	flows[victim].k = *k;
	flows[victim].used = true;
	flows[victim].last_used = now;
	*created = true;
	return victim;
}

/* ---- the heap ---- */

static bool before(const struct held *a, const struct held *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

void lat_heap_push(struct held *heap, uint32_t *n, const struct held *h)
{
	uint32_t i = (*n)++;

	heap[i] = *h;
	while (i) {
		uint32_t p = (i - 1) / 2;
		struct held t;

		if (!before(&heap[i], &heap[p]))
			break;
		t = heap[p];
		heap[p] = heap[i];
		heap[i] = t;
		i = p;
	}
}

struct held lat_heap_pop(struct held *heap, uint32_t *n)
{
	struct held top = heap[0];
	uint32_t i = 0;

	heap[0] = heap[--*n];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		struct held t;

		if (l < *n && before(&heap[l], &heap[m]))
			m = l;
		if (r < *n && before(&heap[r], &heap[m]))
			m = r;
		if (m == i)
			break;
		t = heap[m];
		heap[m] = heap[i];
		heap[i] = t;
		i = m;
	}
	return top;
}

/* ---- packets ---- */

/* IPv6 extension headers, as the selector walks them (bpf/latency.bpf.c,
 * by bpf/pkt_parse.h's rules), at most FL_IPV6_EXT_MAX. Sets *proto and *off to
 * the upper-layer header; -1 when it has no ports to read. */
static int skip_ip6ext(const uint8_t *d, size_t len, size_t *off, uint8_t *proto, uint8_t nh)
{
	for (int i = 0; i < FL_IPV6_EXT_MAX && fl_is_ip6ext(nh); i++) {
		const uint8_t *h = d + *off;

		if (*off + 8 > len) {
			*proto = nh;
			return -1;
		}
		if (nh == FL_NEXTHDR_FRAG && (((uint16_t)h[2] << 8 | h[3]) & FL_IP6_OFFSET)) {
			*proto = h[0];
			return -1; /* a later fragment carries no ports */
		}
		*off += fl_ip6ext_len(nh, h[1]);
		nh = h[0];
	}
	*proto = nh;
	return fl_is_ip6ext(nh) ? -1 : 0;
}

int lat_parse_pkt(const uint8_t *d, size_t len, struct lat_parsed *p)
{
	size_t l4;
	uint32_t total;

	memset(p, 0, sizeof(*p));
	if (len < 1)
		return -1;
	if (d[0] >> 4 == 4) {
		if (len < 20 || (d[0] & 15) < 5)
			return -1;
		p->family = AF_INET;
		p->k.proto = d[9];
		memcpy(&p->k.saddr[0], d + 12, 4);
		memcpy(&p->k.daddr[0], d + 16, 4);
		l4 = (d[0] & 15) * 4;
		total = (uint32_t)d[2] << 8 | d[3];
		if (((uint32_t)d[6] << 8 | d[7]) & 0x1fff)
			return 0;
	} else if (d[0] >> 4 == 6) {
		if (len < 40)
			return -1;
		p->family = AF_INET6;
		memcpy(p->k.saddr, d + 8, 16);
		memcpy(p->k.daddr, d + 24, 16);
		l4 = 40;
		total = ((uint32_t)d[4] << 8 | d[5]) + 40;
		if (skip_ip6ext(d, len, &l4, &p->k.proto, d[6]))
			return 0; /* no ports */
	} else {
		return -1;
	}
	if ((p->k.proto == IPPROTO_TCP && len >= l4 + 20) ||
	    (p->k.proto == IPPROTO_UDP && len >= l4 + 4)) {
		p->k.sport = (uint16_t)d[l4] << 8 | d[l4 + 1];
		p->k.dport = (uint16_t)d[l4 + 2] << 8 | d[l4 + 3];
	}
	if (p->k.proto == IPPROTO_TCP && len >= l4 + 20) {
		size_t hl = l4 + (d[l4 + 12] >> 4) * 4;

		p->syn = d[l4 + 13] & 0x02;
		memcpy(&p->ack, d + l4 + 8, 4);
		p->ack = ntohl(p->ack);
		/* A GSO packet past 64 KiB says 0: it carries data. */
		p->payload = !total ? 1 : total > hl ? total - hl : 0;
	}
	return 0;
}
