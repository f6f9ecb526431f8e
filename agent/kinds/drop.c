// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Packet drops, the user-space third of the trio with bpf/drop.bpf.c and
 * bpf/drop.h. A hook is one instance of the program on one (network
 * namespace, device, direction, backend), attached by agent/net/attach.c;
 * faults are slots in its rule table, which the agent writes through the
 * skeleton's mmap'd .bss. tcx and xdp links die with the agent; a classic
 * tc filter does not, so its program also obeys the heartbeat, and it is
 * recorded for the next agent to remove (drop_state.c).
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "drop_int.h" /* before the skeleton: it needs struct fl_drop_rule */
#include "drop.skel.h"
#include "event.h"
#include "log.h"
#include "netns.h"
#include "parse.h"

struct drop_handle {
	struct drop_hook *hook;
	int slot;
	bool chain; /* the rule has a loss model: list shows its runs */
};

struct drop_hook *drop_hooks;
static struct kind_env cfg;
static uint64_t lost_retired; /* events lost by hooks already gone */
static int ncpus;

static int drop_init(const struct kind_env *env)
{
	cfg = *env;
	ncpus = libbpf_num_possible_cpus();
	return ncpus < 0 ? ncpus : 0;
}

/* A clsact qdisc that another tc hook of ours on this device made. */
static bool clsact_ours_on(uint64_t ino, int ifindex)
{
	for (struct drop_hook *o = drop_hooks; o; o = o->next)
		if (o->at.backend == NET_TC && o->netns_ino == ino && o->at.ifindex == ifindex &&
		    o->at.clsact_ours)
			return true;
	return false;
}

static bool other_tc_on(const struct drop_hook *h)
{
	for (struct drop_hook *o = drop_hooks; o; o = o->next)
		if (o != h && o->at.backend == NET_TC && o->netns_ino == h->netns_ino &&
		    o->at.ifindex == h->at.ifindex)
			return true;
	return false;
}

static int prog_fd(const struct drop_hook *h)
{
	return bpf_program__fd(h->at.backend == NET_XDP ? h->skel->progs.fl_drop_xdp
							: h->skel->progs.fl_drop);
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

static int hook_load(struct drop_hook *h, char *err, size_t errlen)
{
	int ret;

	h->skel = drop_bpf__open();
	if (!h->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the drop program: %s", strerror(-ret));
		return ret;
	}
	h->skel->rodata->l3_off = net_dev_l3_off(h->dev);
	h->skel->rodata->direction = h->at.dir;
	h->skel->rodata->ifindex = h->at.ifindex;
	for (int i = 0; i < cfg.nr_protected && i < FL_MAX_PROTECTED; i++)
		h->skel->rodata->protected_ports[i] = cfg.protected_ports[i];
	h->skel->rodata->nr_protected =
	    cfg.nr_protected < FL_MAX_PROTECTED ? cfg.nr_protected : FL_MAX_PROTECTED;
	bpf_program__set_autoload(h->skel->progs.fl_drop, h->at.backend != NET_XDP);
	bpf_program__set_autoload(h->skel->progs.fl_drop_xdp, h->at.backend == NET_XDP);
	ret = bpf_map__reuse_fd(h->skel->maps.events, cfg.ringbuf_fd);
	if (!ret)
		ret = drop_bpf__load(h->skel);
	if (ret)
		snprintf(err, errlen,
			 "cannot load the drop program: %s (agentd -v shows the verifier log)",
			 strerror(-ret));
	return ret;
}

/* Where the program stands in its chain, noted in h->chain and logged when
 * that changes for the worse. Runs inside the hook's namespace. */
static void chain_note(struct drop_hook *h, struct net_chain *out)
{
	struct net_chain c;
	char now[sizeof(h->chain)];

	net_chain_position(&h->at, prog_fd(h), &c);
	net_chain_describe(&c, now, sizeof(now));
	if (out)
		*out = c;
	if (strcmp(now, h->chain) && c.ahead > 0)
		fl_log("drop program on %s %s: %s", h->dev, net_dir_name(h->at.dir), now);
	snprintf(h->chain, sizeof(h->chain), "%s", now);
}

/* Find or make the hook for the spec's target. Runs inside its netns. */
static int hook_get(const struct fl_fault_spec *s, enum net_backend backend, int netns_fd,
		    int ifindex, bool dry_run, struct drop_hook **out, char *plan, size_t planlen,
		    char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;
	uint64_t ino = netns_id(netns_fd);
	struct drop_hook *h;
	int ret;

	for (h = drop_hooks; h; h = h->next)
		if (h->netns_ino == ino && h->at.ifindex == ifindex && h->at.dir == t->dir &&
		    h->at.backend == backend) {
			if (h->used == UINT32_MAX) {
				snprintf(err, errlen,
					 "%s %s already has %d drop faults, the most one device "
					 "and direction takes",
					 t->dev, net_dir_name(t->dir), FL_DROP_MAX_RULES);
				return -ENOSPC;
			}
			chain_note(h, NULL);
			snprintf(plan, planlen,
				 "add a rule to the %s program already on %s %s (%s)",
				 net_backend_name(backend), t->dev, net_dir_name(t->dir), h->chain);
			*out = h;
			return 0;
		}
	snprintf(plan, planlen, "attach a drop program to %s %s%s%s with %s%s", t->dev,
		 net_dir_name(t->dir), *t->netns ? " in netns " : "", t->netns,
		 net_backend_name(backend),
		 backend == NET_TC    ? " (a classic filter on clsact, pref 64023 handle 0xfa17; "
					"tcx programs and filters of lower pref run before it)"
		 : backend == NET_TCX ? " (a link held by the agent, at the head of the chain)"
				      : " (a link held by the agent)");
	if (dry_run) {
		*out = NULL;
		return 0;
	}

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->netns_fd = dup(netns_fd);
	h->netns_ino = ino;
	h->netns_dev = netns_dev(netns_fd);
	snprintf(h->netns, sizeof(h->netns), "%s", t->netns);
	snprintf(h->dev, sizeof(h->dev), "%s", t->dev);
	h->at = (struct net_attach){
	    .ifindex = ifindex,
	    .dir = t->dir,
	    .backend = backend,
	    .dev = h->dev,
	    .tc_handle = FL_TC_HANDLE_DROP,
	    .clsact_ours = backend == NET_TC && clsact_ours_on(ino, ifindex),
	    .link_fd = -1,
	};
	ret = hook_load(h, err, errlen);
	if (ret)
		goto fail;
	h->skel->bss->heartbeat_ns = now_mono_ns();
	ret = net_attach(&h->at, prog_fd(h), err, errlen);
	if (ret)
		goto fail;
	h->next = drop_hooks;
	drop_hooks = h;
	if (backend == NET_TC)
		drop_state_save(cfg.state_dir);
	chain_note(h, NULL);
	fl_log("attached drop program to %s %s%s%s (%s; %s)", h->dev, net_dir_name(h->at.dir),
	       *h->netns ? " in netns " : "", h->netns, net_backend_name(backend), h->chain);
	*out = h;
	return 0;
fail:
	hook_free(h);
	return ret;
}

static void hook_unlink(struct drop_hook *h)
{
	for (struct drop_hook **p = &drop_hooks; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			return;
		}
}

/* Take the program off its device, inside its namespace. */
static void hook_detach(struct drop_hook *h)
{
	int saved = -1;

	if (h->at.backend != NET_TC) {
		net_detach(&h->at, false);
		return;
	}
	if (netns_enter(h->netns_fd, &saved)) {
		fl_log("cannot enter the network namespace of %s to remove its tc filter", h->dev);
		return;
	}
	net_detach(&h->at, !other_tc_on(h));
	netns_leave(saved);
}

/* The last fault on this hook has gone. */
static void hook_release(struct drop_hook *h)
{
	hook_detach(h);
	hook_unlink(h);
	if (h->at.backend == NET_TC)
		drop_state_save(cfg.state_dir);
	fl_log("detached drop program from %s %s (%s)", h->dev, net_dir_name(h->at.dir),
	       net_backend_name(h->at.backend));
	hook_free(h);
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

static int drop_add(const struct fl_fault_spec *s, const char *backend_name, uint32_t fault_id,
		    bool dry_run, void **state, char *plan, size_t planlen, char *err,
		    size_t errlen)
{
	const struct fl_target *t = &s->target;
	struct drop_handle *out = NULL;
	enum net_backend backend;
	struct drop_hook *h = NULL;
	struct fl_drop_rule *r;
	int netns_fd, saved = -1, ifindex, slot, ret;

	if (net_backend_parse(backend_name, &backend)) {
		snprintf(err, errlen, "backend '%s' cannot drop packets (use tcx, tc or xdp)",
			 backend_name);
		return -EINVAL;
	}
	if (backend == NET_XDP && t->dir != FL_DIR_INGRESS) {
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
	out = malloc(sizeof(*out));
	if (!out) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		if (!h->used) {
			netns_leave(saved);
			saved = -1;
			hook_release(h);
		}
		goto out;
	}
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
	r->model = loss_chain(&s->loss, s->prob, &r->chain) ? FL_LOSS_CHAIN : FL_LOSS_INDEPENDENT;
	r->match = t->match;
	if ((uint32_t)slot >= h->skel->bss->nr_slots)
		h->skel->bss->nr_slots = slot + 1;
	__atomic_store_n(&r->active, 1, __ATOMIC_RELEASE);
	out->hook = h;
	out->slot = slot;
	out->chain = r->model == FL_LOSS_CHAIN;
	*state = out;
out:
	netns_leave(saved);
	close(netns_fd);
	return ret;
}

static void drop_remove(void *state)
{
	struct drop_handle *dh = state;
	struct drop_hook *h = dh ? dh->hook : NULL;
	int slot = dh ? dh->slot : 0;

	free(dh);
	if (!h)
		return;
	__atomic_store_n(&h->skel->bss->rules[slot].active, 0, __ATOMIC_RELEASE);
	h->used &= ~(1u << slot);
	h->skel->bss->nr_slots = h->used ? 32 - __builtin_clz(h->used) : 0;
	if (!h->used)
		hook_release(h);
}

static void drop_counters(const struct drop_handle *dh, struct fl_drop_counters *c)
{
	struct fl_drop_counters *v;
	__u32 key;

	memset(c, 0, sizeof(*c));
	if (!dh || !dh->hook)
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

static void kind_counters(const void *state, struct fl_counters *c)
{
	struct fl_drop_counters d;

	drop_counters(state, &d);
	c->matched = d.matched;
	c->injected = d.dropped;
}

/* A loss model's promise and what its chains did so far: runs of drops
 * summed over the CPUs whose state is this rule's generation (drop.h). */
static void loss_describe(const struct drop_handle *dh, const struct fl_drop_counters *d,
			  json_t *fault)
{
	const struct fl_drop_rule *r = &dh->hook->skel->bss->rules[dh->slot];
	struct fl_loss_state *v = calloc(ncpus, sizeof(*v));
	uint64_t runs = 0;
	uint32_t longest = 0;
	double loss, mean_run;
	__u32 key = dh->slot;

	loss_expect(&r->chain, &loss, &mean_run);
	if (v && !bpf_map__lookup_elem(dh->hook->skel->maps.loss_state, &key, sizeof(key), v,
				       ncpus * sizeof(*v), 0)) {
		for (int i = 0; i < ncpus; i++) {
			if (v[i].gen != r->gen)
				continue;
			runs += v[i].runs;
			longest = v[i].longest > longest ? v[i].longest : longest;
		}
	}
	free(v);
	json_object_set_new(fault, "loss",
			    json_pack("{s:f,s:f,s:I,s:f,s:i}", "expected_loss", loss,
				      "expected_mean_run", mean_run, "runs", (json_int_t)runs,
				      "mean_run", runs ? (double)d->dropped / runs : 0.0,
				      "longest_run", (int)longest));
}

/* For `list`: the drop count, and where the program stands in its chain:
 * a program or filter before ours that ends the chain keeps packets from
 * this fault, and list says so rather than show a fault that does nothing. */
static void kind_describe(const void *state, json_t *fault)
{
	const struct drop_handle *dh = state;
	struct drop_hook *h = dh ? dh->hook : NULL;
	struct fl_drop_counters d;
	struct net_chain c = {.ahead = -1};
	int saved = -1;

	drop_counters(dh, &d);
	json_object_set_new(fault, "dropped", json_integer((json_int_t)d.dropped));
	if (h && dh->chain)
		loss_describe(dh, &d, fault);
	if (!h || netns_enter(h->netns_fd, &saved))
		return;
	chain_note(h, &c);
	netns_leave(saved);
	json_object_set_new(fault, "chain",
			    json_pack("{s:i,s:i,s:b,s:s}", "ahead", c.ahead, "total", c.total,
				      "first", c.ahead == 0, "note", h->chain));
}

static void drop_heartbeat(uint64_t now)
{
	for (struct drop_hook *h = drop_hooks; h; h = h->next)
		h->skel->bss->heartbeat_ns = now;
}

static uint64_t drop_events_lost(void)
{
	uint64_t n = lost_retired;

	for (struct drop_hook *h = drop_hooks; h; h = h->next)
		n += __atomic_load_n(&h->skel->bss->events_lost, __ATOMIC_RELAXED);
	return n;
}

static int drop_hook_count(void)
{
	int n = 0;

	for (struct drop_hook *h = drop_hooks; h; h = h->next)
		n++;
	return n;
}

static void drop_shutdown(void)
{
	while (drop_hooks) {
		struct drop_hook *h = drop_hooks;

		hook_detach(h);
		drop_hooks = h->next;
		hook_free(h);
	}
	drop_state_save(cfg.state_dir);
}

/* A drop matches packets; process targets are for other kinds. */
static int drop_check(const struct fl_fault_spec *s, const char *backend, char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;
	const char *key = *t->cgroup ? "cgroup"
			  : t->pid   ? "pid"
			  : *t->comm ? "comm"
			  : *t->path ? "path"
				     : NULL;

	if (!key)
		return 0;
	snprintf(err, errlen,
		 "fault.target.%s: a drop matches packets (dev, direction, proto, addresses, "
		 "ports), not processes",
		 key);
	return -EINVAL;
}

const struct fault_kind drop_kind = {
    .kind = FL_KIND_DROP,
    .init = drop_init,
    .check = drop_check,
    .add = drop_add,
    .remove = drop_remove,
    .counters = kind_counters,
    .describe = kind_describe,
    .heartbeat = drop_heartbeat,
    .events_lost = drop_events_lost,
    .hooks = drop_hook_count,
    .cleanup_leftovers = drop_state_cleanup,
    .shutdown = drop_shutdown,
};
