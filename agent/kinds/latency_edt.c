// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Backend edt of latency faults: the fq qdisc as the device's root, which
 * sends each packet at its departure time, and the fl_latency_edt program
 * (latency.bpf.c) on a tcx egress link, which sets that time. fq replaces
 * only the kernel's own default root qdisc (noqueue, or one with handle
 * 0:), never one someone configured; it carries handle fa18: and is
 * deleted (the kernel's default comes back) when the last EDT fault on the
 * device ends. The link dies with the agent; an fq left by a crash only
 * queues fairly, and the next agent removes it.
 *
 * Not run on our build machines (no fq there): tested on the kernel matrix.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "latency_kind.h"
#include "latency.skel.h"
#include "latency_rules.h"
#include "log.h"

#define FQ_HANDLE	     "fa18:"
#define FL_BPF_TCX_EGRESS_AT 47 /* libbpf 1.1's headers predate tcx */

struct lat_edt {
	uint64_t netns_id;
	int ifindex;
	char dev[IF_NAMESIZE];
	int link_fd;
};

/* Devices with our fq, and how many EDT faults use each. */
static struct fq_dev {
	struct fq_dev *next;
	uint64_t netns_id;
	int ifindex;
	int users;
} * fq_devs;

/* The root qdisc of dev: its kind and handle ("noqueue", "0:"). */
static int root_qdisc(const char *dev, char *kind, size_t klen, char *handle, size_t hlen)
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
	ret = root_qdisc(dev, kind, sizeof(kind), handle, sizeof(handle));
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

	if (root_qdisc(dev, kind, sizeof(kind), handle, sizeof(handle)) ||
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
		   struct lat_edt **out, char *err, size_t errlen)
{
	struct lat_edt *e = calloc(1, sizeof(*e));
	int ret;

	*out = NULL;
	if (!e)
		return -ENOMEM;
	e->netns_id = netns_id;
	e->ifindex = ifindex;
	snprintf(e->dev, sizeof(e->dev), "%s", dev);
	ret = fq_get(netns_id, dev, ifindex, err, errlen);
	if (ret) {
		free(e);
		return ret;
	}
	e->link_fd = bpf_link_create(bpf_program__fd(skel->progs.fl_latency_edt), ifindex,
				     FL_BPF_TCX_EGRESS_AT, NULL);
	if (e->link_fd < 0) {
		ret = e->link_fd;
		snprintf(err, errlen, "cannot attach a tcx egress link to %s: %s", dev,
			 strerror(-ret));
		fq_put(netns_id, ifindex, dev);
		free(e);
		return ret;
	}
	*out = e;
	return 0;
}

void lat_edt_detach(struct lat_edt *e)
{
	if (!e)
		return;
	close(e->link_fd);
	fq_put(e->netns_id, e->ifindex, e->dev);
	free(e);
}

void lat_edt_cleanup(const char *where)
{
	struct if_nameindex *ifs = if_nameindex(), *i;

	for (i = ifs; i && i->if_index; i++) {
		char kind[32], handle[32];

		if (!root_qdisc(i->if_name, kind, sizeof(kind), handle, sizeof(handle)) &&
		    !strcmp(handle, FQ_HANDLE) && !strcmp(kind, "fq")) {
			fl_log("removing an fq qdisc left by an earlier agent on %s%s%s",
			       i->if_name, *where ? " in netns " : "", where);
			fq_del(i->if_name);
		}
	}
	if (ifs)
		if_freenameindex(ifs);
}
