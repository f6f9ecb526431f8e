/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Attaching one BPF program to one device and direction, by tcx link,
 * classic tc filter or xdp link, for every packet fault kind; and where
 * that program stands in the device's chain. Call inside the device's
 * network namespace (netns.h).
 */
#ifndef FL_ATTACH_H
#define FL_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tcnl.h"

/* Classic tc filters of ours sit at this priority, with a handle per kind
 * and a program whose name starts with "fl_": that is how this agent and a
 * later one tell them from everyone else's. */
#define FL_TC_PRIO	     0xfa17
#define FL_TC_HANDLE_DROP    0xfa17
#define FL_TC_HANDLE_LATENCY 0xfa18 /* edt */
#define FL_TC_HANDLE_NETEM   0xfa19
#define FL_TC_HANDLE_MIN     0xfa17
#define FL_TC_HANDLE_MAX     0xfa1f

enum net_backend { NET_TCX, NET_TC, NET_XDP };

const char *net_backend_name(enum net_backend b);
int net_backend_parse(const char *name, enum net_backend *b); /* 0 or -EINVAL */
const char *net_dir_name(uint8_t dir);			      /* enum fl_dir */

struct net_attach {
	/* Filled by the caller. */
	int ifindex;
	uint8_t dir; /* enum fl_dir */
	enum net_backend backend;
	const char *dev;    /* for messages */
	uint32_t tc_handle; /* classic tc: FL_TC_HANDLE_* of the kind */
	/* Classic tc, in: a clsact qdisc made by this agent is on the device
	 * already; out: the qdisc on the device is ours to remove. */
	bool clsact_ours;
	/* Set by net_attach. */
	int link_fd; /* tcx, xdp; -1 for tc */
};

/* tcx: a link at the head of the chain (BPF_F_BEFORE), so that a program
 * that ends the chain cannot hide ours; tc: a filter at FL_TC_PRIO on
 * clsact (made when missing); xdp: an xdp link. Returns 0 or -errno with
 * a one-line reason. */
int net_attach(struct net_attach *a, int prog_fd, char *err, size_t errlen);
/* Undo net_attach. last_tc: no other tc filter of this agent stays on the
 * device, so a clsact qdisc it made goes too (when nobody else uses it). */
void net_detach(struct net_attach *a, bool last_tc);

/* Where our program stands: how many programs or filters run before it on
 * this hook (tcx programs, then classic filters of lower priority). Any of
 * them that ends the chain keeps packets from ours. */
struct net_chain {
	int ahead; /* -1 when it cannot be told */
	int total; /* programs and filters on the hook, ours included */
};
int net_chain_position(const struct net_attach *a, int prog_fd, struct net_chain *c);
/* "first of 3 on the hook", "2 ahead of it: ...". */
void net_chain_describe(const struct net_chain *c, char *buf, size_t len);

/* A classic tc filter of this agent's (any kind's). */
bool net_tc_filter_ours(const struct tc_filter_info *f);
/* Remove the clsact qdisc on ifindex, which we made, unless filters are on
 * it now (others', or ours of another kind): we never delete what we did
 * not create. */
void net_clsact_remove_if_unused(int ifindex, const char *dev);
/* 14 on Ethernet-like devices and loopback, 0 on raw-IP devices. */
int net_dev_l3_off(const char *dev);

#endif
