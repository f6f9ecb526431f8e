// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <net/if_arp.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "event.h"
#include "log.h"

/* libbpf 1.1 and the system's linux/bpf.h predate tcx (kernel 6.6): the
 * kernel's values, and the link_create layout of union bpf_attr for tcx. */
#define FL_BPF_TCX_INGRESS 46
#define FL_BPF_TCX_EGRESS  47
#define FL_BPF_F_BEFORE	   (1U << 3)

struct fl_tcx_link_create {
	__u32 prog_fd;
	__u32 target_ifindex;
	__u32 attach_type;
	__u32 flags;
	__u32 relative_fd; /* 0 with BPF_F_BEFORE: the head of the chain */
	__u32 pad;
	__u64 expected_revision;
};

static const char *const backend_names[] = {"tcx", "tc", "xdp"};

const char *net_backend_name(enum net_backend b)
{
	return (unsigned)b < 3 ? backend_names[b] : "?";
}

int net_backend_parse(const char *name, enum net_backend *b)
{
	for (unsigned i = 0; i < 3; i++)
		if (!strcmp(backend_names[i], name)) {
			*b = i;
			return 0;
		}
	return -EINVAL;
}

const char *net_dir_name(uint8_t dir)
{
	return dir == FL_DIR_EGRESS ? "egress" : "ingress";
}

static uint32_t tcx_type(uint8_t dir)
{
	return dir == FL_DIR_EGRESS ? FL_BPF_TCX_EGRESS : FL_BPF_TCX_INGRESS;
}

static uint32_t clsact_parent(uint8_t dir)
{
	return TC_H_MAKE(TC_H_CLSACT, dir == FL_DIR_EGRESS ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
}

int net_dev_l3_off(const char *dev)
{
	struct ifreq ifr = {};
	int fd, type = ARPHRD_ETHER;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 14;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (!ioctl(fd, SIOCGIFHWADDR, &ifr))
		type = ifr.ifr_hwaddr.sa_family;
	close(fd);
	return type == ARPHRD_ETHER || type == ARPHRD_LOOPBACK ? 14 : 0;
}

bool net_tc_filter_ours(const struct tc_filter_info *f)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd;
	bool ours;

	if (f->handle < FL_TC_HANDLE_MIN || f->handle > FL_TC_HANDLE_MAX || f->prio != FL_TC_PRIO ||
	    strcmp(f->kind, "bpf"))
		return false;
	fd = bpf_prog_get_fd_by_id(f->bpf_id);
	if (fd < 0)
		return false;
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strncmp(info.name, "fl_", 3);
	close(fd);
	return ours;
}

/* The clsact qdiscs this agent made, by namespace and device, whichever
 * kind's hook made one: the last of our filters to leave it removes it,
 * though another kind made it (an EDT latency filter, then a drop on the
 * same device). */
static struct clsact_made {
	struct clsact_made *next;
	uint64_t netns_ino;
	int ifindex;
} * clsact_made;

static uint64_t cur_netns_ino(void)
{
	struct stat st;

	/* thread-self: the agent enters namespaces per thread */
	return stat("/proc/thread-self/ns/net", &st) ? 0 : (uint64_t)st.st_ino;
}

static struct clsact_made **made_find(int ifindex)
{
	uint64_t ino = cur_netns_ino();
	struct clsact_made **p;

	for (p = &clsact_made; *p; p = &(*p)->next)
		if ((*p)->netns_ino == ino && (*p)->ifindex == ifindex)
			break;
	return p;
}

static void made_add(int ifindex)
{
	struct clsact_made *m;

	if (*made_find(ifindex) || !(m = calloc(1, sizeof(*m))))
		return;
	m->netns_ino = cur_netns_ino();
	m->ifindex = ifindex;
	m->next = clsact_made;
	clsact_made = m;
}

static void made_del(int ifindex)
{
	struct clsact_made **p = made_find(ifindex), *m = *p;

	if (m) {
		*p = m->next;
		free(m);
	}
}

/* Every filter still on the qdisc counts, ours too: the caller has removed
 * its own, and a filter of another kind of ours (a drop beside an EDT
 * latency on clsact egress) must not go with the qdisc. A handle of 0 is
 * the chain's header, not a filter. */
static void count_left(const struct tc_filter_info *f, void *arg)
{
	if (f->handle)
		(*(int *)arg)++;
}

void net_clsact_remove_if_unused(int ifindex, const char *dev)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int left = 0, n1, n2;

	n1 = tc_filters(ifindex, clsact_parent(FL_DIR_INGRESS), count_left, &left);
	n2 = tc_filters(ifindex, clsact_parent(FL_DIR_EGRESS), count_left, &left);
	if (n1 < 0 || n2 < 0 || left) {
		fl_log("leaving the clsact qdisc on %s: %s", dev,
		       left ? "other filters are on it" : "cannot list its filters");
		return;
	}
	if (!bpf_tc_hook_destroy(&hook))
		fl_log("removed the clsact qdisc it had added on %s", dev);
	made_del(ifindex);
}

static int attach_tc(struct net_attach *a, int prog_fd, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
			    .attach_point =
				a->dir == FL_DIR_EGRESS ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = a->tc_handle, .priority = FL_TC_PRIO,
			    .prog_fd = prog_fd);
	int ret = bpf_tc_hook_create(&hook);

	if (ret && ret != -EEXIST) {
		snprintf(err, errlen, "cannot add a clsact qdisc on %s: %s", a->dev,
			 strerror(-ret));
		return ret;
	}
	if (!ret)
		made_add(a->ifindex);
	if (!ret || *made_find(a->ifindex))
		a->clsact_ours = true;
	ret = bpf_tc_attach(&hook, &opts);
	if (ret) {
		snprintf(err, errlen, "cannot attach a tc filter to %s %s: %s", a->dev,
			 net_dir_name(a->dir), strerror(-ret));
		if (a->clsact_ours)
			net_clsact_remove_if_unused(a->ifindex, a->dev);
		a->clsact_ours = false;
	}
	return ret;
}

static int attach_tcx_first(struct net_attach *a, int prog_fd)
{
	struct fl_tcx_link_create attr = {
	    .prog_fd = prog_fd,
	    .target_ifindex = a->ifindex,
	    .attach_type = tcx_type(a->dir),
	    .flags = FL_BPF_F_BEFORE,
	};
	int fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}

int net_attach(struct net_attach *a, int prog_fd, char *err, size_t errlen)
{
	a->link_fd = -1;
	switch (a->backend) {
	case NET_TCX:
		a->link_fd = attach_tcx_first(a, prog_fd);
		if (a->link_fd < 0) {
			snprintf(err, errlen, "cannot attach a tcx link to %s %s: %s", a->dev,
				 net_dir_name(a->dir), strerror(-a->link_fd));
			return a->link_fd;
		}
		return 0;
	case NET_XDP:
		a->link_fd = bpf_link_create(prog_fd, a->ifindex, BPF_XDP, NULL);
		if (a->link_fd < 0) {
			snprintf(err, errlen, "cannot attach xdp to %s: %s", a->dev,
				 strerror(-a->link_fd));
			return a->link_fd;
		}
		return 0;
	case NET_TC:
		return attach_tc(a, prog_fd, err, errlen);
	}
	return -EINVAL;
}

void net_detach(struct net_attach *a, bool last_tc)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
			    .attach_point =
				a->dir == FL_DIR_EGRESS ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = a->tc_handle, .priority = FL_TC_PRIO);
	int ret;

	if (a->backend != NET_TC) {
		if (a->link_fd >= 0)
			close(a->link_fd);
		a->link_fd = -1;
		return;
	}
	ret = bpf_tc_detach(&hook, &opts);
	if (ret && ret != -ENOENT)
		fl_log("cannot remove the tc filter on %s %s: %s", a->dev, net_dir_name(a->dir),
		       strerror(-ret));
	if (last_tc && a->clsact_ours)
		net_clsact_remove_if_unused(a->ifindex, a->dev);
}

/* ---- the chain ---- */

static uint32_t prog_id_of(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

/* The tcx programs on the hook, in the order they run. */
static int tcx_progs(int ifindex, uint8_t dir, __u32 *ids, __u32 *n)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = *n);
	int ret = bpf_prog_query_opts(ifindex, tcx_type(dir), &q);

	*n = ret ? 0 : q.prog_cnt;
	return ret;
}

struct tc_count {
	int before, all;
};

static void count_tc(const struct tc_filter_info *f, void *arg)
{
	struct tc_count *c = arg;

	c->all++;
	if (f->prio < FL_TC_PRIO)
		c->before++;
}

int net_chain_position(const struct net_attach *a, int prog_fd, struct net_chain *c)
{
	__u32 ids[64], n = 64, me = prog_id_of(prog_fd);
	struct tc_count tc = {};
	int ret;

	c->ahead = -1;
	c->total = 0;
	if (a->backend == NET_XDP) { /* one program per device: nobody before us */
		c->ahead = 0;
		c->total = 1;
		return 0;
	}
	ret = tcx_progs(a->ifindex, a->dir, ids, &n);
	if (ret && ret != -EINVAL && ret != -EOPNOTSUPP && a->backend == NET_TCX)
		return ret;
	if (tc_filters(a->ifindex, clsact_parent(a->dir), count_tc, &tc) < 0)
		tc.all = tc.before = 0;
	c->total = n + tc.all;
	if (a->backend == NET_TCX) {
		for (__u32 i = 0; i < n; i++)
			if (ids[i] == me)
				c->ahead = i;
		if (c->ahead < 0)
			c->total++;
		return c->ahead < 0 ? -ENOENT : 0;
	}
	/* Every tcx program runs before the classic filters. */
	c->ahead = n + tc.before;
	return 0;
}

void net_chain_describe(const struct net_chain *c, char *buf, size_t len)
{
	if (c->ahead < 0)
		snprintf(buf, len, "its place in the chain is unknown");
	else if (!c->ahead)
		snprintf(buf, len, "first of %d on the hook", c->total);
	else
		snprintf(buf, len,
			 "%d program%s or filter%s run before it; one that ends the chain keeps "
			 "packets from this fault",
			 c->ahead, c->ahead == 1 ? "" : "s", c->ahead == 1 ? "" : "s");
}
