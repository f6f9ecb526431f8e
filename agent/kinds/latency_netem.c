// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Backend netem of latency faults. The device's root becomes a prio qdisc
 * of ours (handle fa19:, 16 bands): bands 1-3 with the kernel's default
 * priority map, as pfifo_fast has them, carry every packet no fault
 * selects; each fault has a band of its own (4..16) with a netem qdisc in
 * it (handle fa20+band:) that holds packets for the fault's delay, jitter,
 * distribution and correlation. The fl_lat_netem program on the
 * device's egress hook (a tcx link, else a classic tc filter that obeys
 * the heartbeat) puts the packets the fault selects into its band.
 *
 * prio replaces only the kernel's own default root qdisc (noqueue, or one
 * with handle 0:), never one someone configured, and goes (the kernel's
 * default comes back) when the last netem fault on the device ends. A prio
 * left by a crash passes everything through bands 1-3 (the program stops
 * selecting 2 s after the last beat); the next agent removes it.
 *
 * Egress only: netem on ingress needs an ifb device, which we do not make.
 * netem delays each packet from its own arrival; with jitter it may reorder
 * a flow, as netem does (edt and nfqueue keep the order).
 *
 * Not run on our build machines (no netem there): tested on the kernel
 * matrix (docs/kernel-matrix.md).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "latency_kind.h"
#include "latency.skel.h"
#include "latency_rules.h"
#include "log.h"

#define PRIO_MAJOR  0xfa19u
#define PRIO_HANDLE "fa19:"
#define BAND_FIRST  4 /* bands 1-3: everyone's traffic */
#define BAND_LAST   16

struct lat_netem {
	uint64_t netns_id;
	int ifindex;
	char dev[IF_NAMESIZE];
	int band;
	struct net_attach at;
};

/* Devices with our prio root, and which bands their faults hold. */
static struct prio_dev {
	struct prio_dev *next;
	uint64_t netns_id;
	int ifindex;
	uint32_t bands; /* bit b: band b is a fault's */
} * prio_devs;

static int tc(char *const argv[], char *out, size_t outlen)
{
	int ret = lat_run_cmd(argv, out, outlen);

	out[strcspn(out, "\n")] = '\0';
	return ret < 0 ? ret : ret ? -EIO : 0;
}

static int prio_put_root(const char *dev, char *err, size_t errlen)
{
	char kind[32], handle[32], out[512];
	char *argv[] = {"tc",	  "qdisc",     "replace", "dev",   (char *)dev, "root",
			"handle", PRIO_HANDLE, "prio",	  "bands", "16",	"priomap",
			"1",	  "2",	       "2",	  "2",	   "1",		"2",
			"0",	  "0",	       "1",	  "1",	   "1",		"1",
			"1",	  "1",	       "1",	  "1",	   NULL};
	int ret = lat_root_qdisc(dev, kind, sizeof(kind), handle, sizeof(handle));

	if (ret) {
		snprintf(err, errlen, "cannot read the root qdisc of %s: %s", dev, strerror(-ret));
		return ret;
	}
	if (!strcmp(handle, PRIO_HANDLE) && !strcmp(kind, "prio"))
		return 0; /* ours, from a fault still alive or a crash */
	if (strcmp(kind, "noqueue") && strcmp(handle, "0:")) {
		snprintf(err, errlen,
			 "%s has a root qdisc of someone's (%s %s); the netem backend would "
			 "replace it: use --backend nfqueue",
			 dev, kind, handle);
		return -EBUSY;
	}
	ret = tc(argv, out, sizeof(out));
	if (ret) {
		snprintf(err, errlen, "cannot put the prio qdisc on %s: %s", dev, out);
		return ret;
	}
	fl_log("put the prio qdisc (handle %s) on %s, in place of %s", PRIO_HANDLE, dev, kind);
	return 0;
}

static void prio_del_root(const char *dev)
{
	char kind[32], handle[32], out[512];
	char *argv[] = {"tc", "qdisc", "del", "dev", (char *)dev, "root", NULL};

	if (lat_root_qdisc(dev, kind, sizeof(kind), handle, sizeof(handle)) ||
	    strcmp(handle, PRIO_HANDLE) || strcmp(kind, "prio"))
		return; /* not ours (any more) */
	if (tc(argv, out, sizeof(out)))
		fl_log("cannot remove the prio qdisc from %s: %s", dev, out);
	else
		fl_log("removed the prio qdisc (and its netem bands) from %s", dev);
}

static struct prio_dev *prio_find(uint64_t netns_id, int ifindex)
{
	for (struct prio_dev *d = prio_devs; d; d = d->next)
		if (d->netns_id == netns_id && d->ifindex == ifindex)
			return d;
	return NULL;
}

/* A band on dev for one fault: the prio root first, when it is not there. */
static int band_get(uint64_t netns_id, const char *dev, int ifindex, char *err, size_t errlen)
{
	struct prio_dev *d = prio_find(netns_id, ifindex);
	int ret, b;

	if (!d) {
		ret = prio_put_root(dev, err, errlen);
		if (ret)
			return ret;
		d = calloc(1, sizeof(*d));
		if (!d) {
			prio_del_root(dev);
			return -ENOMEM;
		}
		d->netns_id = netns_id;
		d->ifindex = ifindex;
		d->next = prio_devs;
		prio_devs = d;
	}
	for (b = BAND_FIRST; b <= BAND_LAST; b++)
		if (!(d->bands & (1u << b))) {
			d->bands |= 1u << b;
			return b;
		}
	snprintf(err, errlen, "%s has %d netem faults already, as many as prio has bands", dev,
		 BAND_LAST - BAND_FIRST + 1);
	return -ENOSPC;
}

static void band_put(uint64_t netns_id, int ifindex, const char *dev, int band)
{
	for (struct prio_dev **p = &prio_devs; *p; p = &(*p)->next) {
		struct prio_dev *d = *p;

		if (d->netns_id != netns_id || d->ifindex != ifindex)
			continue;
		d->bands &= ~(1u << band);
		if (d->bands)
			return;
		*p = d->next;
		free(d);
		prio_del_root(dev); /* its netem children go with it */
		return;
	}
}

/* The netem qdisc in band b: the fault's delay, spread and queue. */
static int netem_add(const char *dev, int band, const struct fl_latency_params *l, char *err,
		     size_t errlen)
{
	char parent[16], handle[16], delay[32], jitter[32], corr[16], limit[16], out[512];
	char *argv[24] = {"tc",	    "qdisc", "replace", "dev",	 (char *)dev, "parent", parent,
			  "handle", handle,  "netem",	"limit", limit,	      "delay",	delay};
	int n = 14, ret;

	snprintf(parent, sizeof(parent), "%x:%x", PRIO_MAJOR, (unsigned)band);
	snprintf(handle, sizeof(handle), "%x:", 0xfa20u + (unsigned)band);
	snprintf(limit, sizeof(limit), "%u", l->queue_len ? l->queue_len : 16384);
	snprintf(delay, sizeof(delay), "%lluus", (unsigned long long)(l->delay_ns / 1000));
	if (l->jitter_ns) {
		snprintf(jitter, sizeof(jitter), "%lluus",
			 (unsigned long long)(l->jitter_ns / 1000));
		argv[n++] = jitter;
		if (l->correlation > 0) {
			snprintf(corr, sizeof(corr), "%g%%", l->correlation * 100);
			argv[n++] = corr;
		}
		if (l->dist != FL_DIST_UNIFORM) { /* netem's own default is uniform */
			argv[n++] = "distribution";
			argv[n++] = (char *)fl_lat_dist_name(l->dist);
		}
	}
	argv[n] = NULL;
	ret = tc(argv, out, sizeof(out));
	if (ret)
		snprintf(err, errlen, "cannot put a netem qdisc in band %d of %s: %s", band, dev,
			 out);
	return ret;
}

int lat_netem_attach(struct latency_bpf *skel, const struct fl_latency_params *l, uint64_t netns_id,
		     const char *dev, int ifindex, bool tcx, struct lat_netem **out, char *err,
		     size_t errlen)
{
	struct lat_netem *n = calloc(1, sizeof(*n));
	int ret;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	n->netns_id = netns_id;
	n->ifindex = ifindex;
	snprintf(n->dev, sizeof(n->dev), "%s", dev);
	n->at = (struct net_attach){
	    .ifindex = ifindex,
	    .dir = FL_DIR_EGRESS,
	    .backend = tcx ? NET_TCX : NET_TC,
	    .dev = n->dev,
	    .tc_handle = FL_TC_HANDLE_NETEM,
	};
	ret = band_get(netns_id, dev, ifindex, err, errlen);
	if (ret < 0) {
		free(n);
		return ret;
	}
	n->band = ret;
	ret = netem_add(dev, n->band, l, err, errlen);
	if (ret)
		goto fail;
	skel->bss->rule.classid = (PRIO_MAJOR << 16) | (unsigned)n->band;
	/* Beat before the program can see a packet: 0 is "stale" to it. */
	skel->bss->heartbeat_ns = now_mono_ns();
	ret = net_attach(&n->at, bpf_program__fd(skel->progs.fl_lat_netem), err, errlen);
	if (ret) {
		if (!tcx && ret == -EEXIST)
			snprintf(err, errlen,
				 "%s has a netem fault of this agent already: without tcx (kernel "
				 "6.6+) a device takes one; clear it or use --backend nfqueue",
				 dev);
		goto fail;
	}
	fl_log("netem on %s: band %d, the program on %s", dev, n->band,
	       tcx ? "a tcx egress link" : "a classic tc egress filter, with the heartbeat");
	*out = n;
	return 0;
fail:
	band_put(netns_id, ifindex, dev, n->band);
	free(n);
	return ret;
}

void lat_netem_detach(struct lat_netem *n)
{
	char parent[16], out[512];
	char *argv[] = {"tc", "qdisc", "del", "dev", n ? n->dev : "", "parent", parent, NULL};

	if (!n)
		return;
	net_detach(&n->at, true); /* no new packets into the band first */
	snprintf(parent, sizeof(parent), "%x:%x", PRIO_MAJOR, (unsigned)n->band);
	if (tc(argv, out, sizeof(out))) /* the band's default fifo comes back */
		fl_log("cannot remove the netem qdisc of band %d from %s: %s", n->band, n->dev,
		       out);
	band_put(n->netns_id, n->ifindex, n->dev, n->band);
	free(n);
}

int lat_netem_band(const struct lat_netem *n)
{
	return n ? n->band : 0;
}

void lat_netem_cleanup(const char *where)
{
	struct if_nameindex *ifs = if_nameindex(), *i;

	for (i = ifs; i && i->if_index; i++) {
		char kind[32], handle[32];

		lat_tc_filter_cleanup((int)i->if_index, i->if_name, where, FL_TC_HANDLE_NETEM,
				      "netem");
		if (!lat_root_qdisc(i->if_name, kind, sizeof(kind), handle, sizeof(handle)) &&
		    !strcmp(handle, PRIO_HANDLE) && !strcmp(kind, "prio")) {
			fl_log("removing a prio qdisc left by an earlier agent on %s%s%s",
			       i->if_name, *where ? " in netns " : "", where);
			prio_del_root(i->if_name);
		}
	}
	if (ifs)
		if_freenameindex(ifs);
}
