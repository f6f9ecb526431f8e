// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Someone else's tc programs, for the tests that hold the agent to sharing
 * chains: they must keep working while a fault of ours is on the same hook.
 * Their names do not start with "fl_", so the agent never takes them for
 * its own.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK     0
#define TC_ACT_SHOT   2
#define ETH_P_IP      0x0800

static __always_inline int udp_dport(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct udphdr *udp;

	if (skb->protocol != bpf_htons(ETH_P_IP) || (void *)(ip + 1) > end ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return -1;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return -1;
	return bpf_ntohs(udp->dest);
}

SEC("tc")
int foreign_drop5001(struct __sk_buff *skb)
{
	return udp_dport(skb) == 5001 ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

SEC("tc")
int foreign_drop5002(struct __sk_buff *skb)
{
	return udp_dport(skb) == 5002 ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

/* Ends the chain for every packet (TCX_PASS): nothing after it runs. */
SEC("tc")
int foreign_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
