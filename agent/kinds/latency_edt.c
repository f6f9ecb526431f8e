// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Backend edt of latency faults: the fq qdisc as the device's root, which
 * sends each packet at its departure time, and the fl_latency_edt program
 * (latency.bpf.c) on the device's egress hook, which sets that time. fq
 * replaces only the kernel's own default root qdisc (noqueue, or one with
 * handle 0:), never one someone configured; it carries handle fa18: and is
 * deleted (the kernel's default comes back) when the last EDT fault on the
 * device ends. An fq left by a crash only queues fairly, and the next
 * agent removes it.
 *
 * The program's hook: a tcx link where the kernel has tcx (6.6+; it dies
 * with the agent), else a classic cls_bpf filter on clsact egress (pref
 * 64023, handle 0xfa18), which outlives a killed agent: the program then
 * obeys the heartbeat (stops delaying 2 s after the agent's last beat),
 * and the next agent removes the filter (lat_edt_cleanup). Debian's 6.1
 * has fq but no tcx: there the filter is what runs (docs/kernel-matrix.md).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "latency_kind.h"
#include "latency.skel.h"
#include "latency_rules.h"
#include "log.h"

#define FQ_HANDLE "fa18:"

struct lat_edt {
	uint64_t netns_id;
	int ifindex;
	char dev[IF_NAMESIZE];
	struct net_attach at; /* tcx link or classic tc filter, egress */
};

/* Devices with our fq, and how many EDT faults use each. */
static struct fq_dev {
	struct fq_dev *next;
	uint64_t netns_id;
	int ifindex;
	int users;
} * fq_devs;

/* The root qdisc of dev: its kind and handle ("noqueue", "0:"). */
int lat_root_qdisc(const char *dev, char *kind, size_t klen, char *handle, size_t hlen)
{
	char out[1024];
	char *argv[] = {"tc", "qdisc", "show", "dev", (char *)dev, "root", NULL};
	int rc = lat_run_cmd(argv, out, sizeof(out));
	char k[32] = "", h[32] = "";

	if (rc)
		return rc < 0 ? rc : -EIO;
	if (sscanf(out, "qdisc %31s %31s", k, h) != 2)
		return -ENOENT;
	snprintf(kind, klen, "%s", k);
	snprintf(handle, hlen, "%s", h);
	return 0;
}

static int fq_get(uint64_t netns_id, const char *dev, int ifindex, char *err, size_t errlen)
{
	char kind[32], handle[32], out[512];
	struct fq_dev *d;
	int ret;

	for (d = fq_devs; d; d = d->next)
		if (d->netns_id == netns_id && d->ifindex == ifindex) {
			d->users++;
			return 0;
		}
	ret = lat_root_qdisc(dev, kind, sizeof(kind), handle, sizeof(handle));
	if (ret) {
		snprintf(err, errlen, "cannot read the root qdisc of %s: %s", dev, strerror(-ret));
		return ret;
	}
	if (strcmp(handle, FQ_HANDLE) && strcmp(kind, "noqueue") && strcmp(handle, "0:")) {
		snprintf(err, errlen,
			 "%s has a root qdisc of someone's (%s %s); the edt backend would replace "
			 "it: use --backend nfqueue",
			 dev, kind, handle);
		return -EBUSY;
	}
	if (strcmp(handle, FQ_HANDLE)) {
		char *argv[] = {"tc",	"qdisc",  "replace", "dev", (char *)dev,
				"root", "handle", FQ_HANDLE, "fq",  NULL};

		ret = lat_run_cmd(argv, out, sizeof(out));
		if (ret) {
			out[strcspn(out, "\n")] = '\0';
			snprintf(err, errlen, "cannot put the fq qdisc on %s: %s", dev, out);
			return ret < 0 ? ret : -EIO;
		}
		fl_log("put the fq qdisc (handle %s) on %s, in place of %s", FQ_HANDLE, dev, kind);
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->netns_id = netns_id;
	d->ifindex = ifindex;
	d->users = 1;
	d->next = fq_devs;
	fq_devs = d;
	return 0;
}

static void fq_del(const char *dev)
{
	char kind[32], handle[32], out[512];
	char *argv[] = {"tc",	"qdisc",  "del",     "dev", (char *)dev,
			"root", "handle", FQ_HANDLE, NULL};

	if (lat_root_qdisc(dev, kind, sizeof(kind), handle, sizeof(handle)) ||
	    strcmp(handle, FQ_HANDLE) || strcmp(kind, "fq"))
		return; /* not ours (any more) */
	if (lat_run_cmd(argv, out, sizeof(out)))
		fl_log("cannot remove the fq qdisc from %s: %s", dev, out);
	else
		fl_log("removed the fq qdisc from %s", dev);
}

static void fq_put(uint64_t netns_id, int ifindex, const char *dev)
{
	for (struct fq_dev **p = &fq_devs; *p; p = &(*p)->next) {
		struct fq_dev *d = *p;

		if (d->netns_id != netns_id || d->ifindex != ifindex)
			continue;
		if (--d->users)
			return;
		*p = d->next;
		free(d);
		fq_del(dev);
		return;
	}
}

int lat_edt_attach(struct latency_bpf *skel, uint64_t netns_id, const char *dev, int ifindex,
		   bool tcx, struct lat_edt **out, char *err, size_t errlen)
{
	struct lat_edt *e = calloc(1, sizeof(*e));
	int ret;

	*out = NULL;
	if (!e)
		return -ENOMEM;
	e->netns_id = netns_id;
	e->ifindex = ifindex;
	snprintf(e->dev, sizeof(e->dev), "%s", dev);
	e->at = (struct net_attach){
	    .ifindex = ifindex,
	    .dir = FL_DIR_EGRESS,
	    .backend = tcx ? NET_TCX : NET_TC,
	    .dev = e->dev,
	    .tc_handle = FL_TC_HANDLE_LATENCY,
	};
	ret = fq_get(netns_id, dev, ifindex, err, errlen);
	if (ret) {
		free(e);
		return ret;
	}
	/* Beat before the program can see a packet: 0 is "stale" to it. */
	skel->bss->heartbeat_ns = now_mono_ns();
	ret = net_attach(&e->at, bpf_program__fd(skel->progs.fl_latency_edt), err, errlen);
	if (ret) {
		if (!tcx && ret == -EEXIST)
			snprintf(err, errlen,
				 "%s has an EDT fault of this agent already: without tcx (kernel "
				 "6.6+) a device takes one; clear it or use --backend nfqueue",
				 dev);
		fq_put(netns_id, ifindex, dev);
		free(e);
		return ret;
	}
	fl_log("edt on %s: the program on %s", dev,
	       tcx ? "a tcx egress link" : "a classic tc egress filter, with the heartbeat");
	*out = e;
	return 0;
}

void lat_edt_detach(struct lat_edt *e)
{
	if (!e)
		return;
	/* true: a clsact qdisc the filter needed goes too, when unused. */
	net_detach(&e->at, true);
	fq_put(e->netns_id, e->ifindex, e->dev);
	free(e);
}

/* The classic tc egress filter (handle) of an earlier agent's fault on
 * ifindex, and the clsact qdisc it stood on when nothing else stands
 * there. what: the backend, for the log. */
void lat_tc_filter_cleanup(int ifindex, const char *dev, const char *where, uint32_t handle,
			   const char *what)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = FL_TC_PRIO);
	struct tc_filter_info f = {.handle = handle, .prio = FL_TC_PRIO};

	if (bpf_tc_query(&hook, &opts))
		return;
	f.bpf_id = opts.prog_id;
	snprintf(f.kind, sizeof(f.kind), "bpf");
	if (!net_tc_filter_ours(&f))
		return;
	opts.prog_id = 0;
	opts.prog_fd = 0;
	opts.flags = 0;
	if (bpf_tc_detach(&hook, &opts))
		return;
	fl_log("removed the %s tc filter left by an earlier agent on %s%s%s", what, dev,
	       *where ? " in netns " : "", where);
	net_clsact_remove_if_unused(ifindex, dev);
}

void lat_edt_cleanup(const char *where)
{
	struct if_nameindex *ifs = if_nameindex(), *i;

	for (i = ifs; i && i->if_index; i++) {
		char kind[32], handle[32];

		lat_tc_filter_cleanup((int)i->if_index, i->if_name, where, FL_TC_HANDLE_LATENCY,
				      "EDT");

		if (!lat_root_qdisc(i->if_name, kind, sizeof(kind), handle, sizeof(handle)) &&
		    !strcmp(handle, FQ_HANDLE) && !strcmp(kind, "fq")) {
			fl_log("removing an fq qdisc left by an earlier agent on %s%s%s",
			       i->if_name, *where ? " in netns " : "", where);
			fq_del(i->if_name);
		}
	}
	if (ifs)
		if_freenameindex(ifs);
}
