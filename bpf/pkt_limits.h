/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The numbers the packet parsers share: pkt_parse.h (drop), latency.bpf.c
 * and the agent's side of the latency queue (agent/kinds/latency_hold.c).
 * Plain C, for BPF and user space alike: the numbers, and the two rules of
 * the IPv6 extension-header walk that do not depend on how a parser reads.
 */
#ifndef FL_PKT_LIMITS_H
#define FL_PKT_LIMITS_H

#define FL_ETH_P_IP	  0x0800
#define FL_ETH_P_IPV6	  0x86DD
#define FL_ETH_P_8021Q	  0x8100
#define FL_ETH_P_8021AD	  0x88A8
#define FL_AF_INET	  2
#define FL_AF_INET6	  10
#define FL_IP_OFFSET	  0x1fff /* IPv4 fragment offset, in 8-byte units */
#define FL_IP6_OFFSET	  0xfff8 /* IPv6 fragment offset, in the fragment header */
#define FL_NEXTHDR_HOP	  0
#define FL_NEXTHDR_ROUT	  43
#define FL_NEXTHDR_FRAG	  44
#define FL_NEXTHDR_AH	  51
#define FL_NEXTHDR_DEST	  60
#define FL_VLAN_MAX_DEPTH 2
#define FL_IPV6_EXT_MAX	  8

/* The IPv6 extension headers the parsers walk past. */
static inline __attribute__((always_inline)) int fl_is_ip6ext(unsigned char nh)
{
	return nh == FL_NEXTHDR_HOP || nh == FL_NEXTHDR_ROUT || nh == FL_NEXTHDR_FRAG ||
	       nh == FL_NEXTHDR_AH || nh == FL_NEXTHDR_DEST;
}

/* The length of extension header nh whose second byte is hdrlen: the
 * fragment header is 8 bytes, AH counts 4-byte words less 2, the others
 * 8-byte words less 1. */
static inline __attribute__((always_inline)) unsigned int fl_ip6ext_len(unsigned char nh,
									unsigned char hdrlen)
{
	if (nh == FL_NEXTHDR_FRAG)
		return 8;
	if (nh == FL_NEXTHDR_AH)
		return (hdrlen + 2) * 4;
	return (hdrlen + 1) * 8;
}

#endif
