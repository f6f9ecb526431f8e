/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Packet parsing for the packet fault kinds that read the packet directly
 * (drop.bpf.c), BPF side only; latency.bpf.c, a socket filter that must use
 * bpf_skb_load_bytes, and the agent's queue read by the same rules and
 * limits (pkt_limits.h). A cursor walks the packet; there is one small
 * function per header, which checks the bounds, records what the match needs
 * in struct fl_pkt, moves the cursor past the header and returns the type of
 * the header that follows, or -1 when it cannot go further. The shape is that
 * of xdp-tools' parsing_helpers.h; the code is ours, and it also refuses what
 * that file lets through (an IPv4 header with IHL < 5).
 *
 * What is parsed (docs/backends.md, "What the programs parse"):
 * - Ethernet with up to FL_VLAN_MAX_DEPTH 802.1Q (0x8100) or 802.1ad
 *   (0x88A8) tags in the packet data. On tc the kernel may already have
 *   moved the outer tag into skb->vlan_tci (always on ingress, and on egress
 *   when the device inserts tags itself): the data then holds the Ethernet
 *   header with the inner EtherType and any further tags, and the parser
 *   reads it the same way (a tag in metadata does not count against
 *   FL_VLAN_MAX_DEPTH). skb->protocol is not the EtherType to parse on
 *   Ethernet (it names the tag type while a tag is in the data); it is used
 *   on raw-IP devices only, where there is no Ethernet header.
 * - IPv4: an IHL below 5 or past the data, or a fragment after the first,
 *   gives addresses and protocol but no ports.
 * - IPv6 with up to FL_IPV6_EXT_MAX extension headers (hop-by-hop, routing,
 *   fragment, destination options, AH); the protocol is the upper-layer one.
 *   A fragment after the first has no ports; a longer chain, or one that runs
 *   past the data, gives no protocol and no ports.
 * - TCP and UDP ports.
 * Only the linear part of an skb is read (data..data_end); the stack keeps
 * the headers there on the paths we hook.
 */
#ifndef FL_PKT_PARSE_H
#define FL_PKT_PARSE_H

#include "pkt_limits.h"

struct fl_cursor {
	void *pos;
	void *end;
};

/* What the match needs from a packet. Addresses in network byte order
 * (IPv4 in word 0), ports in host byte order. */
struct fl_pkt {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 family; /* 0 until an IPv4 or IPv6 header was read */
	__u8 proto;
	__u8 has_ports;
};

struct fl_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* The first 8 bytes of every IPv6 extension header we walk. */
struct fl_ip6_ext {
	__u8 nexthdr;
	__u8 hdrlen; /* fragment header: reserved */
	__be16 frag_off;
	__be32 rest;
};

static __always_inline bool fl_is_vlan(__be16 proto)
{
	return proto == bpf_htons(FL_ETH_P_8021Q) || proto == bpf_htons(FL_ETH_P_8021AD);
}

/* Ethernet and its VLAN tags. Returns the EtherType after the last tag, in
 * network byte order; -1 when cut short or with more tags than we walk. */
static __always_inline int fl_parse_ethhdr(struct fl_cursor *c)
{
	struct ethhdr *eth = c->pos;
	__be16 proto;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < FL_VLAN_MAX_DEPTH; i++) {
		struct fl_vlan_hdr *vh = c->pos;

		if (!fl_is_vlan(proto))
			break;
		if ((void *)(vh + 1) > c->end)
			return -1;
		proto = vh->proto;
		c->pos = vh + 1;
	}
	return fl_is_vlan(proto) ? -1 : proto;
}

/* A raw-IP device with no EtherType known: the version nibble says. */
static __always_inline int fl_ip_version_proto(const struct fl_cursor *c)
{
	__u8 *v = c->pos;

	if ((void *)(v + 1) > c->end)
		return -1;
	if (*v >> 4 == 4)
		return bpf_htons(FL_ETH_P_IP);
	if (*v >> 4 == 6)
		return bpf_htons(FL_ETH_P_IPV6);
	return -1;
}

/* IPv4. Returns the protocol, with the cursor on its header; -1 when not
 * IPv4, or (p->family set, no ports) when the header is malformed (IHL < 5:
 * where the next header starts is unknown), its options run past the data,
 * or it is a fragment after the first. */
static __always_inline int fl_parse_iphdr(struct fl_cursor *c, struct fl_pkt *p)
{
	struct iphdr *ip = c->pos;
	__u8 vihl;
	__u32 hlen;

	if ((void *)(ip + 1) > c->end)
		return -1;
	vihl = *(__u8 *)ip; /* version and IHL, without bit fields */
	if (vihl >> 4 != 4)
		return -1;
	p->family = FL_AF_INET;
	p->proto = ip->protocol;
	p->saddr[0] = ip->saddr;
	p->daddr[0] = ip->daddr;
	hlen = (vihl & 0xf) * 4;
	if (hlen < sizeof(*ip))
		return -1;
	if (ip->frag_off & bpf_htons(FL_IP_OFFSET))
		return -1; /* a later fragment carries no ports */
	if (c->pos + hlen > c->end)
		return -1;
	c->pos += hlen;
	return ip->protocol;
}

/* IPv6 extension headers, from next header nh. Returns the upper-layer
 * protocol (also in p->proto), with the cursor on its header; -1 for a
 * fragment after the first (p->proto is the fragment's next header), a chain
 * longer than FL_IPV6_EXT_MAX or one that runs past the data (p->proto is
 * the last extension header reached, which no protocol rule names). */
static __always_inline int fl_skip_ip6ext(struct fl_cursor *c, struct fl_pkt *p, __u8 nh)
{
#pragma unroll
	for (int i = 0; i < FL_IPV6_EXT_MAX; i++) {
		struct fl_ip6_ext *h = c->pos;

		if (!fl_is_ip6ext(nh))
			break;
		if ((void *)(h + 1) > c->end) {
			p->proto = nh;
			return -1;
		}
		if (nh == FL_NEXTHDR_FRAG && (h->frag_off & bpf_htons(FL_IP6_OFFSET))) {
			p->proto = h->nexthdr;
			return -1; /* a later fragment carries no ports */
		}
		c->pos += fl_ip6ext_len(nh, h->hdrlen);
		nh = h->nexthdr;
	}
	p->proto = nh;
	return fl_is_ip6ext(nh) ? -1 : nh;
}

/* IPv6. Returns the upper-layer protocol, with the cursor on its header; -1
 * when not IPv6, or (p->family set) as fl_skip_ip6ext says. */
static __always_inline int fl_parse_ip6hdr(struct fl_cursor *c, struct fl_pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > c->end)
		return -1;
	if (*(__u8 *)ip6 >> 4 != 6)
		return -1;
	p->family = FL_AF_INET6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	c->pos = ip6 + 1;
	return fl_skip_ip6ext(c, p, ip6->nexthdr);
}

/* TCP or UDP ports. Returns 0; -1 when cut short. */
static __always_inline int fl_parse_ports(struct fl_cursor *c, struct fl_pkt *p)
{
	__be16 *ports = c->pos;

	if ((void *)(ports + 2) > c->end)
		return -1;
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
	p->has_ports = 1;
	c->pos = ports + 2;
	return 0;
}

/*
 * A whole packet: Ethernet (l3_off != 0) or raw IP (l3_off == 0, where
 * l3proto is the EtherType in network byte order, skb->protocol on tc, or 0
 * to go by the IP version). Returns 0 when the packet is IPv4 or IPv6
 * (p->family set; p->has_ports when TCP or UDP ports were read), -1 when the
 * packet is of no kind a rule can match.
 */
static __always_inline int fl_parse_pkt(void *data, void *end, __u32 l3_off, __u16 l3proto,
					struct fl_pkt *p)
{
	struct fl_cursor c = {.pos = data, .end = end};
	int next;

	if (l3_off)
		next = fl_parse_ethhdr(&c);
	else
		next = l3proto ? l3proto : fl_ip_version_proto(&c);
	if (next == bpf_htons(FL_ETH_P_IP))
		next = fl_parse_iphdr(&c, p);
	else if (next == bpf_htons(FL_ETH_P_IPV6))
		next = fl_parse_ip6hdr(&c, p);
	else
		return -1;
	if (!p->family)
		return -1;
	if (next == IPPROTO_TCP || next == IPPROTO_UDP)
		fl_parse_ports(&c, p);
	return 0;
}

#endif
