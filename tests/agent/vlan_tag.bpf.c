// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A test's own tc filter (t_drop_parse.sh): puts priority tags (802.1Q,
 * VLAN id 0) on every packet it sees, so that real traffic crosses a veth
 * tagged and a receiver without VLAN devices still takes it (the stack drops
 * VLAN 0 tags). The kernel keeps the outermost tag in skb metadata; with
 * QINQ, a second push moves the first tag into the frame and puts an 802.1ad
 * tag in metadata. Built by the test: clang -O2 -target bpf [-DQINQ].
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("tc")
int fl_test_vlan_tag(struct __sk_buff *skb)
{
	bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 0);
#ifdef QINQ
	bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021AD), 0);
#endif
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
