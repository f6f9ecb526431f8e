/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Reading tc state over rtnetlink (libmnl), where libbpf's bpf_tc_* has no call. */
#ifndef FL_TCNL_H
#define FL_TCNL_H

#include <stdint.h>

struct tc_filter_info {
	uint32_t handle;
	uint16_t prio;
	uint32_t bpf_id; /* program id for cls_bpf filters, else 0 */
	char kind[16];
};

/* Calls cb for every filter on ifindex under parent (e.g. the clsact
 * ingress or egress parent), in the calling thread's network namespace.
 * Returns the number of filters or -errno. */
int tc_filters(int ifindex, uint32_t parent, void (*cb)(const struct tc_filter_info *f, void *arg),
	       void *arg);
/* The kind of the root-less ingress/clsact qdisc on ifindex ("clsact",
 * "ingress"), or "" when there is none. Returns 0 or -errno. */
int tc_clsact_kind(int ifindex, char *kind, int len);

#endif
