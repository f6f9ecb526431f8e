// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Packet drops, user-space half. A hook is one instance of drop.bpf.c on
 * one (network namespace, device, direction, backend); faults are slots in
 * its rule table. tcx and xdp links die with the agent; a classic tc filter
 * does not, so its program also obeys the heartbeat, and its attachment is
 * recorded in the state file for the next agent to remove.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if_arp.h>
#include <linux/if_link.h>
#include <linux/membarrier.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "event.h"
#include "drop_kind.h"
#include "drop.skel.h"
#include "log.h"
#include "netns.h"
#include "tcnl.h"

/* libbpf 1.1's headers predate tcx; these are the kernel's values. */
#define FL_BPF_TCX_INGRESS 46
#define FL_BPF_TCX_EGRESS  47

enum hook_backend { HOOK_TCX, HOOK_TC, HOOK_XDP };
static const char *const backend_names[] = {"tcx", "tc", "xdp"};

struct drop_hook {
	struct drop_hook *next;
	char netns[FL_NETNS_LEN];
	uint64_t netns_id;
	int netns_fd;
	char dev[IF_NAMESIZE];
	int ifindex;
	uint8_t dir;
	enum hook_backend backend;
	bool created_clsact; /* tc: this agent made the clsact qdisc */
	struct drop_bpf *skel;
	int link_fd;   /* tcx, xdp */
	uint32_t used; /* bitmap of rule slots */
};

static struct drop_config cfg;
static struct drop_hook *hooks;
static uint64_t lost_retired; /* events lost by hooks already gone */
static int ncpus;

static const char *dir_name(uint8_t dir)
{
	return dir == FL_DIR_EGRESS ? "egress" : "ingress";
}

int drop_init(const struct drop_config *c)
{
	cfg = *c;
	ncpus = libbpf_num_possible_cpus();
	return ncpus < 0 ? ncpus : 0;
}

/* ---- state file: classic tc attachments outlive the agent ---- */

static void save_state(void)
{
	char path[512], tmp[520];
	json_t *arr = json_array();
	struct drop_hook *h;

	for (h = hooks; h; h = h->next) {
		if (h->backend != HOOK_TC)
			continue;
		json_array_append_new(arr, json_pack("{s:s,s:I,s:s,s:i,s:s,s:b}", "netns", h->netns,
						     "netns_id", (json_int_t)h->netns_id, "dev",
						     h->dev, "ifindex", h->ifindex, "direction",
						     dir_name(h->dir), "created_clsact",
						     h->created_clsact));
	}
	snprintf(path, sizeof(path), "%s/tc-hooks.json", cfg.state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(arr, tmp, JSON_COMPACT) || rename(tmp, path))
		fl_log("cannot write %s: %s (a crash now would leave tc filters for the heartbeat "
		       "to disarm, but not remove)",
		       path, strerror(errno));
	json_decref(arr);
}

/* ---- attaching ---- */

static int dev_l3_off(const char *dev)
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

static bool tc_ours(const struct tc_filter_info *f)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd;
	bool ours;

	if (f->handle != FL_TC_HANDLE || f->prio != FL_TC_PRIO || strcmp(f->kind, "bpf"))
		return false;
	fd = bpf_prog_get_fd_by_id(f->bpf_id);
	if (fd < 0)
		return false;
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, "fl_drop");
	close(fd);
	return ours;
}

static void count_foreign(const struct tc_filter_info *f, void *arg)
{
	if (!tc_ours(f))
		(*(int *)arg)++;
}

/* Remove the clsact qdisc we made, but only while nobody else has put a
 * filter on it: we never delete what we did not create. Runs inside the
 * device's namespace. */
static void maybe_destroy_clsact(int ifindex, const char *dev)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int foreign = 0, n1, n2;

	n1 = tc_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), count_foreign, &foreign);
	n2 = tc_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), count_foreign, &foreign);
	if (n1 < 0 || n2 < 0 || foreign) {
		fl_log("leaving the clsact qdisc on %s: %s", dev,
		       foreign ? "it now holds filters of others" : "cannot list its filters");
		return;
	}
	if (!bpf_tc_hook_destroy(&hook))
		fl_log("removed the clsact qdisc it had added on %s", dev);
}

static int attach_tc(struct drop_hook *h, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = h->ifindex,
			    .attach_point =
				h->dir == FL_DIR_EGRESS ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FL_TC_HANDLE, .priority = FL_TC_PRIO,
			    .prog_fd = bpf_program__fd(h->skel->progs.fl_drop));
	struct drop_hook *o;
	int ret;

	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST) {
		snprintf(err, errlen, "cannot add a clsact qdisc on %s: %s", h->dev,
			 strerror(-ret));
		return ret;
	}
	if (!ret) {
		h->created_clsact = true;
	} else {
		/* Another hook of ours on this device may have made it. */
		for (o = hooks; o; o = o->next)
			if (o->backend == HOOK_TC && o->netns_id == h->netns_id &&
			    o->ifindex == h->ifindex && o->created_clsact)
				h->created_clsact = true;
	}
	ret = bpf_tc_attach(&hook, &opts);
	if (ret) {
		snprintf(err, errlen, "cannot attach a tc filter to %s %s: %s", h->dev,
			 dir_name(h->dir), strerror(-ret));
		if (h->created_clsact)
			maybe_destroy_clsact(h->ifindex, h->dev);
		h->created_clsact = false;
	}
	return ret;
}

static int attach(struct drop_hook *h, char *err, size_t errlen)
{
	int prog_fd;

	switch (h->backend) {
	case HOOK_TCX:
		prog_fd = bpf_program__fd(h->skel->progs.fl_drop);
		h->link_fd = bpf_link_create(
		    prog_fd, h->ifindex,
		    h->dir == FL_DIR_EGRESS ? FL_BPF_TCX_EGRESS : FL_BPF_TCX_INGRESS, NULL);
		if (h->link_fd < 0) {
			snprintf(err, errlen, "cannot attach a tcx link to %s %s: %s", h->dev,
				 dir_name(h->dir), strerror(-h->link_fd));
			return h->link_fd;
		}
		return 0;
	case HOOK_XDP:
		prog_fd = bpf_program__fd(h->skel->progs.fl_drop_xdp);
		h->link_fd = bpf_link_create(prog_fd, h->ifindex, BPF_XDP, NULL);
		if (h->link_fd < 0) {
			snprintf(err, errlen, "cannot attach xdp to %s: %s", h->dev,
				 strerror(-h->link_fd));
			return h->link_fd;
		}
		return 0;
	case HOOK_TC:
		return attach_tc(h, err, errlen);
	}
	return -EINVAL;
}

static void detach(struct drop_hook *h)
{
	int saved = -1;

	if (h->backend != HOOK_TC) {
		close(h->link_fd);
		return;
	}
	if (netns_enter(h->netns_fd, &saved)) {
		fl_log("cannot enter the network namespace of %s to remove its tc filter", h->dev);
		return;
	}
	{
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = h->ifindex,
				    .attach_point =
					h->dir == FL_DIR_EGRESS ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FL_TC_HANDLE,
				    .priority = FL_TC_PRIO);
		struct drop_hook *o;
		bool last = true;
		int ret = bpf_tc_detach(&hook, &opts);

		if (ret && ret != -ENOENT)
			fl_log("cannot remove the tc filter on %s %s: %s", h->dev, dir_name(h->dir),
			       strerror(-ret));
		for (o = hooks; o; o = o->next)
			if (o != h && o->backend == HOOK_TC && o->netns_id == h->netns_id &&
			    o->ifindex == h->ifindex)
				last = false;
		if (last && h->created_clsact)
			maybe_destroy_clsact(h->ifindex, h->dev);
	}
	netns_leave(saved);
}

static void hook_free(struct drop_hook *h)
{
	if (h->skel && h->skel->bss)
		lost_retired += __atomic_load_n(&h->skel->bss->events_lost, __ATOMIC_RELAXED);
	drop_bpf__destroy(h->skel);
	if (h->netns_fd >= 0)
		close(h->netns_fd);
	free(h);
}

static int parse_backend(const char *name, enum hook_backend *b)
{
	for (size_t i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++)
		if (!strcmp(backend_names[i], name)) {
			*b = i;
			return 0;
		}
	return -EINVAL;
}

/* Find or make the hook for the spec's target. Runs inside its netns. */
static int hook_get(const struct fl_fault_spec *s, enum hook_backend backend, int netns_fd,
		    int ifindex, bool dry_run, struct drop_hook **out, char *plan, size_t planlen,
		    char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;
	uint64_t nsid = netns_id(netns_fd);
	struct drop_hook *h;
	int ret;

	for (h = hooks; h; h = h->next)
		if (h->netns_id == nsid && h->ifindex == ifindex && h->dir == t->dir &&
		    h->backend == backend) {
			if (h->used == (uint32_t)-1ULL && FL_DROP_MAX_RULES == 32) {
				snprintf(err, errlen,
					 "%s %s already has %d drop faults, the most one device "
					 "and direction takes",
					 t->dev, dir_name(t->dir), FL_DROP_MAX_RULES);
				return -ENOSPC;
			}
			snprintf(plan, planlen, "add a rule to the %s program already on %s %s",
				 backend_names[backend], t->dev, dir_name(t->dir));
			*out = h;
			return 0;
		}
	snprintf(plan, planlen, "attach a drop program to %s %s%s%s with %s%s", t->dev,
		 dir_name(t->dir), *t->netns ? " in netns " : "", t->netns, backend_names[backend],
		 backend == HOOK_TC ? " (a classic filter on clsact, handle 0xfa17)"
				    : " (a link held by the agent)");
	if (dry_run) {
		*out = NULL;
		return 0;
	}

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->netns_fd = dup(netns_fd);
	h->netns_id = nsid;
	snprintf(h->netns, sizeof(h->netns), "%s", t->netns);
	snprintf(h->dev, sizeof(h->dev), "%s", t->dev);
	h->ifindex = ifindex;
	h->dir = t->dir;
	h->backend = backend;
	h->link_fd = -1;

	h->skel = drop_bpf__open();
	if (!h->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the drop program: %s", strerror(-ret));
		goto fail;
	}
	h->skel->rodata->l3_off = dev_l3_off(t->dev);
	h->skel->rodata->direction = t->dir;
	h->skel->rodata->ifindex = ifindex;
	for (int i = 0; i < cfg.nr_protected && i < FL_MAX_PROTECTED; i++)
		h->skel->rodata->protected_ports[i] = cfg.protected_ports[i];
	h->skel->rodata->nr_protected =
	    cfg.nr_protected < FL_MAX_PROTECTED ? cfg.nr_protected : FL_MAX_PROTECTED;
	bpf_program__set_autoload(h->skel->progs.fl_drop, backend != HOOK_XDP);
	bpf_program__set_autoload(h->skel->progs.fl_drop_xdp, backend == HOOK_XDP);
	ret = bpf_map__reuse_fd(h->skel->maps.events, cfg.ringbuf_fd);
	if (!ret)
		ret = drop_bpf__load(h->skel);
	if (ret) {
		snprintf(err, errlen,
			 "cannot load the drop program: %s (agentd -v shows the verifier log)",
			 strerror(-ret));
		goto fail;
	}
	h->skel->bss->heartbeat_ns = now_mono_ns();
	ret = attach(h, err, errlen);
	if (ret)
		goto fail;
	h->next = hooks;
	hooks = h;
	if (backend == HOOK_TC)
		save_state();
	fl_log("attached drop program to %s %s%s%s (%s)", h->dev, dir_name(h->dir),
	       *h->netns ? " in netns " : "", h->netns, backend_names[backend]);
	*out = h;
	return 0;
fail:
	hook_free(h);
	return ret;
}

static void reset_counters(struct drop_hook *h, int slot)
{
	struct fl_drop_counters *zero = calloc(ncpus, sizeof(*zero));
	__u32 key = slot;

	if (!zero)
		return;
	bpf_map__update_elem(h->skel->maps.counters, &key, sizeof(key), zero, ncpus * sizeof(*zero),
			     0);
	free(zero);
}

int drop_add(const struct fl_fault_spec *s, const char *backend_name, uint32_t fault_id,
	     bool dry_run, struct drop_handle *out, char *plan, size_t planlen, char *err,
	     size_t errlen)
{
	const struct fl_target *t = &s->target;
	enum hook_backend backend;
	struct drop_hook *h = NULL;
	struct fl_drop_rule *r;
	int netns_fd, saved = -1, ifindex, slot, ret;

	if (parse_backend(backend_name, &backend)) {
		snprintf(err, errlen, "backend '%s' cannot drop packets (use tcx, tc or xdp)",
			 backend_name);
		return -EINVAL;
	}
	if (backend == HOOK_XDP && t->dir != FL_DIR_INGRESS) {
		snprintf(err, errlen,
			 "the xdp backend sees ingress only (use --backend tcx or tc for egress)");
		return -EINVAL;
	}
	netns_fd = netns_open(t->netns, err, errlen);
	if (netns_fd < 0)
		return netns_fd;
	ret = netns_enter(netns_fd, &saved);
	if (ret) {
		snprintf(err, errlen, "cannot enter netns '%s': %s", t->netns, strerror(-ret));
		goto out;
	}
	ifindex = if_nametoindex(t->dev);
	if (!ifindex) {
		ret = -ENODEV;
		snprintf(err, errlen, "unknown device '%s'%s%s (see: ip link)", t->dev,
			 *t->netns ? " in netns " : "", t->netns);
		goto out;
	}
	ret = hook_get(s, backend, netns_fd, ifindex, dry_run, &h, plan, planlen, err, errlen);
	if (ret || dry_run)
		goto out;
	slot = __builtin_ctz(~h->used);
	h->used |= 1u << slot;
	r = &h->skel->bss->rules[slot];
	r->active = 0;
	/* A new generation first: a program still acting on the slot's old
	 * rule sees it change and writes nothing more for that rule. Before
	 * the counters are reset, a refilled slot waits for an RCU grace
	 * period (membarrier GLOBAL is synchronize_rcu), so no program run
	 * that read the old rule is left; see decide() in drop.bpf.c for what
	 * remains when the kernel refuses. */
	__atomic_store_n(&r->gen, r->gen + 1, __ATOMIC_SEQ_CST);
	if (r->gen != 1 && syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		fl_log("cannot wait for drop programs to finish with slot %d: %s", slot,
		       strerror(errno));
	reset_counters(h, slot);
	r->fault_id = fault_id;
	r->prob = s->prob >= 1.0 ? 0xffffffffu : (uint32_t)(s->prob * 4294967296.0);
	r->force = s->force;
	r->match = t->match;
	if ((uint32_t)slot >= h->skel->bss->nr_slots)
		h->skel->bss->nr_slots = slot + 1;
	__atomic_store_n(&r->active, 1, __ATOMIC_RELEASE);
	out->hook = h;
	out->slot = slot;
out:
	netns_leave(saved);
	close(netns_fd);
	return ret;
}

static void hook_unlink(struct drop_hook *h)
{
	struct drop_hook **p;

	for (p = &hooks; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			return;
		}
}

void drop_remove(struct drop_handle *dh)
{
	struct drop_hook *h = dh->hook;
	uint32_t n;

	if (!h)
		return;
	__atomic_store_n(&h->skel->bss->rules[dh->slot].active, 0, __ATOMIC_RELEASE);
	h->used &= ~(1u << dh->slot);
	n = h->used ? 32 - __builtin_clz(h->used) : 0;
	h->skel->bss->nr_slots = n;
	dh->hook = NULL;
	if (h->used)
		return;
	/* The last fault on this hook: take the program off the device. */
	detach(h);
	hook_unlink(h);
	if (h->backend == HOOK_TC)
		save_state();
	fl_log("detached drop program from %s %s (%s)", h->dev, dir_name(h->dir),
	       backend_names[h->backend]);
	hook_free(h);
}

void drop_counters(const struct drop_handle *dh, struct fl_drop_counters *c)
{
	struct fl_drop_counters *v;
	__u32 key;

	memset(c, 0, sizeof(*c));
	if (!dh->hook)
		return;
	v = calloc(ncpus, sizeof(*v));
	key = dh->slot;
	if (v && !bpf_map__lookup_elem(dh->hook->skel->maps.counters, &key, sizeof(key), v,
				       ncpus * sizeof(*v), 0)) {
		for (int i = 0; i < ncpus; i++) {
			c->matched += v[i].matched;
			c->dropped += v[i].dropped;
		}
	}
	free(v);
}

void drop_heartbeat(void)
{
	uint64_t now = now_mono_ns();

	for (struct drop_hook *h = hooks; h; h = h->next)
		h->skel->bss->heartbeat_ns = now;
}

uint64_t drop_events_lost(void)
{
	uint64_t n = lost_retired;

	for (struct drop_hook *h = hooks; h; h = h->next)
		n += __atomic_load_n(&h->skel->bss->events_lost, __ATOMIC_RELAXED);
	return n;
}

int drop_hook_count(void)
{
	int n = 0;

	for (struct drop_hook *h = hooks; h; h = h->next)
		n++;
	return n;
}

void drop_fini(void)
{
	while (hooks) {
		struct drop_hook *h = hooks;

		detach(h);
		hooks = h->next;
		hook_free(h);
	}
	save_state();
}

/* ---- leftovers of an earlier agent ---- */

/* The heartbeat in the .bss of drop program prog_id; 0 when unreadable. */
static __u64 prog_heartbeat(__u32 prog_id)
{
	__u32 ids[16], key = 0;
	struct bpf_prog_info info = {.nr_map_ids = 16, .map_ids = (__u64)(unsigned long)ids};
	__u32 len = sizeof(info);
	struct drop_bpf__bss bss;
	__u64 beat = 0;
	int fd = bpf_prog_get_fd_by_id(prog_id);

	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		for (__u32 i = 0; i < info.nr_map_ids && i < 16 && !beat; i++) {
			struct bpf_map_info mi = {};
			__u32 mlen = sizeof(mi);
			int mfd = bpf_map_get_fd_by_id(ids[i]);

			if (mfd < 0)
				continue;
			if (!bpf_obj_get_info_by_fd(mfd, &mi, &mlen) && strstr(mi.name, ".bss") &&
			    mi.value_size == sizeof(bss) && !bpf_map_lookup_elem(mfd, &key, &bss))
				beat = bss.heartbeat_ns;
			close(mfd);
		}
	}
	close(fd);
	return beat;
}

/* A live agent (a private one beside us, with its own state folder) still
 * beats this program's heartbeat every tick; a dead one's stands still. */
static bool prog_alive(__u32 prog_id)
{
	__u64 beat = prog_heartbeat(prog_id);

	if (!beat || now_mono_ns() - beat > FL_HEARTBEAT_STALE_NS)
		return false;
	for (int i = 0; i < 12; i++) {
		usleep(50000);
		if (prog_heartbeat(prog_id) != beat)
			return true;
	}
	return false;
}

static void remove_ours_on(int ifindex, const char *dev)
{
	static const uint32_t parents[] = {BPF_TC_INGRESS, BPF_TC_EGRESS};

	for (int i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = parents[i]);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FL_TC_HANDLE,
				    .priority = FL_TC_PRIO);
		struct tc_filter_info f = {.handle = FL_TC_HANDLE, .prio = FL_TC_PRIO};

		if (bpf_tc_query(&hook, &opts))
			continue;
		f.bpf_id = opts.prog_id;
		snprintf(f.kind, sizeof(f.kind), "bpf");
		if (!tc_ours(&f))
			continue;
		if (prog_alive(opts.prog_id)) {
			fl_log("left the tc filter on %s %s alone: another running agent owns it",
			       dev, parents[i] == BPF_TC_INGRESS ? "ingress" : "egress");
			continue;
		}
		opts.prog_id = 0;
		opts.prog_fd = 0;
		opts.flags = 0;
		if (!bpf_tc_detach(&hook, &opts))
			fl_log("removed a tc filter left by an earlier agent on %s %s", dev,
			       parents[i] == BPF_TC_INGRESS ? "ingress" : "egress");
	}
}

int drop_cleanup_leftovers(const char *state_dir)
{
	char path[512], err[256];
	struct if_nameindex *ifs, *i;
	json_t *arr, *e;
	size_t k;

	/* Recorded attachments, in any namespace that still exists. */
	snprintf(path, sizeof(path), "%s/tc-hooks.json", state_dir);
	arr = json_load_file(path, 0, NULL);
	json_array_foreach(arr, k, e)
	{
		const char *ns = json_string_value(json_object_get(e, "netns"));
		const char *dev = json_string_value(json_object_get(e, "dev"));
		int ifindex = json_integer_value(json_object_get(e, "ifindex"));
		uint64_t id = json_integer_value(json_object_get(e, "netns_id"));
		int fd, saved = -1;

		if (!ns || !dev)
			continue;
		fd = netns_open(ns, err, sizeof(err));
		if (fd < 0)
			continue; /* the namespace and its filters are gone */
		if (netns_id(fd) == id && !netns_enter(fd, &saved)) {
			remove_ours_on(ifindex, dev);
			if (json_is_true(json_object_get(e, "created_clsact"))) {
				char kind[16];

				if (!tc_clsact_kind(ifindex, kind, sizeof(kind)) &&
				    !strcmp(kind, "clsact"))
					maybe_destroy_clsact(ifindex, dev);
			}
			netns_leave(saved);
		}
		close(fd);
	}
	json_decref(arr);
	unlink(path);

	/* And anything of ours in the agent's own namespace, state file or not. */
	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++)
		remove_ours_on(i->if_index, i->if_name);
	if (ifs)
		if_freenameindex(ifs);
	return 0;
}
