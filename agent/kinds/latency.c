// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Packet latency, the kind. Backend nfqueue: per fault, one instance of
 * latency.bpf.c (an xt_bpf match that selects the packets to hold), one
 * iptables NFQUEUE rule per IP version in the device's namespace, and one
 * queue with its thread (latency_queue.c). The pin the rule needs is
 * removed as soon as the rule holds the program. Rules carry the agent's
 * pid in their comment and are recorded in the state folder, so the next
 * agent removes them after a crash (--queue-bypass passes traffic until
 * then). Backend edt: latency_edt.c; backend netem: latency_netem.c.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "attach.h"
#include "events.h"
#include "kind.h"
#include "latency_kind.h"
#include "latency.skel.h"
#include "latency_rules.h"
#include "log.h"
#include "netns.h"
#include "parse.h"

#define PIN_DIR	   "/sys/fs/bpf"
#define PIN_PREFIX "faultline-lat-"

struct lat_fault {
	struct lat_fault *next;
	uint32_t id;
	char netns[FL_NETNS_LEN];
	uint64_t netns_id;
	int netns_fd;
	char dev[IF_NAMESIZE];
	uint8_t dir;
	int ifindex;
	uint8_t family; /* of the match: 0 any */
	bool edt_backend;
	bool netem_backend;
	bool ipv[2]; /* rules in iptables, ip6tables */
	uint16_t qnum;
	char comment[64];
	struct latency_bpf *skel;
	struct lat_queue *q;	 /* nfqueue */
	struct lat_edt *edt;	 /* edt */
	struct lat_netem *netem; /* netem */
	int ncpus;
};

static struct kind_env cfg;
static struct lat_fault *faults;
static uint64_t lost_retired;

/* edt and netem: a tc program decides and the kernel holds the packets. */
static bool in_tc(const struct lat_fault *f)
{
	return f->edt_backend || f->netem_backend;
}

static const char *dir_name(uint8_t dir)
{
	return dir == FL_DIR_EGRESS ? "egress" : "ingress";
}

static int lat_init(const struct kind_env *env)
{
	cfg = *env;
	return 0;
}

/* ---- state file: rules outlive a killed agent ---- */

static void save_state(void)
{
	char path[512], tmp[520];
	json_t *arr = json_array();

	for (struct lat_fault *f = faults; f; f = f->next)
		json_array_append_new(arr, json_pack("{s:s,s:I,s:s,s:b,s:b}", "netns", f->netns,
						     "netns_id", (json_int_t)f->netns_id, "comment",
						     f->comment, "edt", f->edt_backend, "netem",
						     f->netem_backend));
	snprintf(path, sizeof(path), "%s/latency-rules.json", cfg.state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(arr, tmp, JSON_COMPACT) || rename(tmp, path))
		fl_log("cannot write %s: %s (after a crash, the next agent finds the NFQUEUE "
		       "rules only in its own namespace)",
		       path, strerror(errno));
	json_decref(arr);
}

/* ---- checks ---- */

static int lat_check(const struct fl_fault_spec *s, const char *backend, char *err, size_t errlen)
{
	const char *key = fl_target_process_field(&s->target);

	if (key) {
		snprintf(err, errlen,
			 "fault.target.%s: a latency fault matches packets (dev, direction, "
			 "proto, addresses, ports), not processes",
			 key);
		return -EINVAL;
	}
	if (!strcmp(backend, "netem") && s->target.dir != FL_DIR_EGRESS) {
		snprintf(err, errlen,
			 "the netem backend delays egress only (netem on ingress needs an ifb "
			 "device, which the agent does not make); use --egress or --backend "
			 "nfqueue");
		return -ENOTSUP;
	}
	if (!strcmp(backend, "edt") && s->target.dir != FL_DIR_EGRESS) {
		snprintf(err, errlen,
			 "the edt backend delays egress only (fq is an egress qdisc); use --egress "
			 "or --backend nfqueue");
		return -ENOTSUP;
	}
	if (strcmp(backend, "nfqueue") && strcmp(backend, "edt") && strcmp(backend, "netem")) {
		snprintf(err, errlen, "'%s' is not a latency backend (nfqueue, edt, netem)",
			 backend);
		return -ENOTSUP;
	}
	return 0;
}

/* ---- add / remove ---- */

static void fault_free(struct lat_fault *f)
{
	if (!f)
		return;
	lat_queue_close(f->q);
	lat_edt_detach(f->edt);
	lat_netem_detach(f->netem);
	latency_bpf__destroy(f->skel);
	if (f->netns_fd >= 0)
		close(f->netns_fd);
	free(f);
}

/* Delete this fault's rules; runs inside its namespace. */
static void rules_del(struct lat_fault *f)
{
	for (int i = 0; i < 2; i++)
		if (f->ipv[i]) {
			int ret = lat_rule_del(i ? 6 : 4, f->dir, f->comment);

			if (ret)
				fl_log("latency fault %u: cannot remove its %s rule: %s", f->id,
				       i ? "ip6tables" : "iptables", strerror(-ret));
			f->ipv[i] = false;
		}
}

static int load(struct lat_fault *f, const struct fl_fault_spec *s, char *err, size_t errlen)
{
	const struct fl_latency_params *l = &s->latency;
	struct fl_lat_rule *r;
	int ret, nr_prot;

	f->skel = latency_bpf__open();
	if (!f->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the latency program: %s", strerror(-ret));
		return ret;
	}
	nr_prot = cfg.nr_protected < FL_MAX_PROTECTED ? cfg.nr_protected : FL_MAX_PROTECTED;
	for (int i = 0; i < nr_prot; i++)
		f->skel->rodata->protected_ports[i] = cfg.protected_ports[i];
	f->skel->rodata->nr_protected = nr_prot;
	f->skel->rodata->l3_off = in_tc(f) ? net_dev_l3_off(f->dev) : 0;
	f->skel->rodata->direction = f->dir;
	f->skel->rodata->ifindex = f->ifindex;
	bpf_program__set_autoload(f->skel->progs.fl_latency, !in_tc(f));
	bpf_program__set_autoload(f->skel->progs.fl_latency_edt, f->edt_backend);
	bpf_program__set_autoload(f->skel->progs.fl_lat_netem, f->netem_backend);
	ret = bpf_map__reuse_fd(f->skel->maps.events, cfg.ringbuf_fd);
	if (!ret)
		ret = latency_bpf__load(f->skel);
	if (ret) {
		snprintf(err, errlen,
			 "cannot load the latency program: %s (agentd -v shows the verifier log)",
			 strerror(-ret));
		return ret;
	}
	r = &f->skel->bss->rule;
	r->per = l->per;
	r->force = s->force;
	/* netem holds each follower for the delay itself: no reading lag */
	r->follow_ns = lat_max_delay_ns(l) + (f->netem_backend ? 0 : FL_LAT_FOLLOW_MARGIN_NS);
	r->match = s->target.match;
	r->fault_id = f->id;
	r->prob = s->prob >= 1.0 ? 0xffffffffu : (uint32_t)(s->prob * 4294967296.0);
	r->delay_ns = l->delay_ns;
	r->jitter_ns = l->jitter_ns;
	lat_dist_table(l, r->dist, FL_LAT_DIST_N);
	return 0;
}

static int install(struct lat_fault *f, const struct fl_fault_spec *s, char *err, size_t errlen)
{
	const struct fl_latency_params *l = &s->latency;
	struct lat_queue_cfg qc = {
	    .fault_id = f->id,
	    .dir = s->target.dir,
	    .ifindex = (int)if_nametoindex(s->target.dev),
	    .prob = s->prob,
	    .p = *l,
	};
	uint8_t fam = s->target.match.family;
	char pin[128];
	int ret = load(f, s, err, errlen);

	if (ret)
		return ret;
	if (f->edt_backend)
		return lat_edt_attach(f->skel, f->netns_id, f->dev, f->ifindex,
				      cfg.facts && cfg.facts->r[FACT_TCX].ok, &f->edt, err, errlen);
	if (f->netem_backend)
		return lat_netem_attach(f->skel, l, f->netns_id, f->dev, f->ifindex,
					cfg.facts && cfg.facts->r[FACT_TCX].ok, &f->netem, err,
					errlen);
	ret = lat_queue_open(&qc, &f->q, &f->qnum, err, errlen);
	if (!ret)
		ret = lat_queue_start(f->q, err, errlen);
	if (ret)
		return ret;

	lat_rule_comment(f->comment, sizeof(f->comment), f->id);
	snprintf(pin, sizeof(pin), PIN_DIR "/" PIN_PREFIX "%d-%u", (int)getpid(), f->id);
	unlink(pin);
	ret = bpf_program__pin(f->skel->progs.fl_latency, pin);
	if (ret) {
		snprintf(err, errlen,
			 "cannot pin the latency program at %s: %s (is bpffs mounted?)", pin,
			 strerror(-ret));
		return ret;
	}
	for (int i = 0; i < 2 && !ret; i++) {
		if (fam && fam != (i ? AF_INET6 : AF_INET))
			continue;
		ret = lat_rule_add(i ? 6 : 4, f->dir, f->dev, &s->target.match, pin, f->qnum,
				   f->comment, err, errlen);
		if (!ret)
			f->ipv[i] = true;
		else if (!fam && i) {
			fl_log("latency fault %u: no IPv6 rule, IPv6 packets pass undelayed: %s",
			       f->id, err);
			ret = 0;
		}
	}
	unlink(pin); /* the rules hold the program now */
	return ret;
}

static int lat_add(const struct fl_fault_spec *s, const char *backend, uint32_t fault_id,
		   bool dry_run, void **state, char *plan, size_t planlen, char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;
	const struct fl_latency_params *l = &s->latency;
	struct lat_fault *f = NULL;
	char d[32], j[32];
	int netns_fd, saved = -1, ret;

	netns_fd = netns_open(t->netns, err, errlen);
	if (netns_fd < 0)
		return netns_fd;
	ret = netns_enter(netns_fd, &saved);
	if (ret) {
		snprintf(err, errlen, "cannot enter netns '%s': %s", t->netns, strerror(-ret));
		goto out;
	}
	if (!if_nametoindex(t->dev)) {
		ret = -ENODEV;
		snprintf(err, errlen, "unknown device '%s'%s%s (see: ip link)", t->dev,
			 *t->netns ? " in netns " : "", t->netns);
		goto out;
	}
	format_duration(l->delay_ns, d, sizeof(d));
	format_duration(l->jitter_ns, j, sizeof(j));
	if (!strcmp(backend, "edt"))
		snprintf(plan, planlen,
			 "delay matching packets on %s egress%s%s by %s%s%s per %s: the fq qdisc "
			 "as root (handle fa18:, in place of the kernel's default) and a %s "
			 "egress program that sets each one's departure time",
			 t->dev, *t->netns ? " in netns " : "", t->netns, d,
			 l->jitter_ns ? " +- " : "", l->jitter_ns ? j : "", fl_lat_per_name(l->per),
			 cfg.facts && cfg.facts->r[FACT_TCX].ok ? "tcx" : "classic tc (heartbeat)");
	else if (!strcmp(backend, "netem"))
		snprintf(plan, planlen,
			 "delay matching packets on %s egress%s%s by %s%s%s per %s: the prio "
			 "qdisc as root (handle fa19:, in place of the kernel's default), a netem "
			 "qdisc in a band of its own, and a %s egress program that sends the "
			 "packets to that band",
			 t->dev, *t->netns ? " in netns " : "", t->netns, d,
			 l->jitter_ns ? " +- " : "", l->jitter_ns ? j : "", fl_lat_per_name(l->per),
			 cfg.facts && cfg.facts->r[FACT_TCX].ok ? "tcx" : "classic tc (heartbeat)");
	else
		snprintf(plan, planlen,
			 "hold matching packets on %s %s%s%s for %s%s%s per %s: an xt_bpf "
			 "selector and an iptables mangle %s NFQUEUE rule (--queue-bypass) "
			 "feeding the agent's queue",
			 t->dev, dir_name(t->dir), *t->netns ? " in netns " : "", t->netns, d,
			 l->jitter_ns ? " +- " : "", l->jitter_ns ? j : "", fl_lat_per_name(l->per),
			 t->dir == FL_DIR_EGRESS ? "POSTROUTING" : "PREROUTING");
	if (dry_run)
		goto out;
	f = calloc(1, sizeof(*f));
	if (!f) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	f->id = fault_id;
	f->netns_fd = dup(netns_fd);
	f->netns_id = netns_id(netns_fd);
	snprintf(f->netns, sizeof(f->netns), "%s", t->netns);
	snprintf(f->dev, sizeof(f->dev), "%s", t->dev);
	f->dir = t->dir;
	f->ifindex = (int)if_nametoindex(t->dev);
	f->edt_backend = !strcmp(backend, "edt");
	f->netem_backend = !strcmp(backend, "netem");
	f->family = t->match.family;
	f->ncpus = libbpf_num_possible_cpus();
	ret = install(f, s, err, errlen);
	if (ret) {
		rules_del(f);
		fault_free(f);
		goto out;
	}
	f->next = faults;
	faults = f;
	save_state();
	fl_log("latency fault %u: queue %u on %s %s%s%s", f->id, f->qnum, f->dev, dir_name(f->dir),
	       *f->netns ? " in netns " : "", f->netns);
	*state = f;
out:
	netns_leave(saved);
	close(netns_fd);
	return ret;
}

static void lat_remove(void *state)
{
	struct lat_fault *f = state, **p;
	int saved = -1;

	if (!f)
		return;
	/* No new packets first, then let go of the held ones. */
	if (!netns_enter(f->netns_fd, &saved)) {
		rules_del(f);
		lat_edt_detach(f->edt);
		f->edt = NULL;
		lat_netem_detach(f->netem);
		f->netem = NULL;
		netns_leave(saved);
	} else {
		fl_log("latency fault %u: cannot enter its namespace to remove its rule", f->id);
	}
	for (p = &faults; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	lat_queue_stop(f->q);
	if (f->q) {
		lat_queue_drain(f->q, events_write); /* its last events go before its end */
		lost_retired += lat_queue_events_lost(f->q);
	}
	if (f->skel && f->skel->bss)
		lost_retired += __atomic_load_n(&f->skel->bss->events_lost, __ATOMIC_RELAXED);
	fault_free(f);
	save_state();
}

static uint64_t bpf_counters(const struct lat_fault *f, struct fl_lat_counters *c)
{
	struct fl_lat_counters *v;
	__u32 key = 0;

	memset(c, 0, sizeof(*c));
	v = calloc(f->ncpus, sizeof(*v));
	if (v && !bpf_map__lookup_elem(f->skel->maps.counters, &key, sizeof(key), v,
				       f->ncpus * sizeof(*v), 0))
		for (int i = 0; i < f->ncpus; i++) {
			c->matched += v[i].matched;
			c->queued += v[i].queued;
		}
	free(v);
	return c->matched;
}

static void lat_counters(const void *state, struct fl_counters *c)
{
	const struct lat_fault *f = state;
	struct fl_lat_counters b;
	struct lat_stats st;

	memset(c, 0, sizeof(*c));
	if (!f)
		return;
	bpf_counters(f, &b);
	lat_queue_stats(f->q, &st);
	c->matched = b.matched;
	c->injected = in_tc(f) ? b.queued : st.delayed;
}

static json_t *ms(uint64_t ns)
{
	return json_real((double)((ns + 500) / 1000) / 1000.0); /* ms, to the microsecond */
}

static void lat_describe(const void *state, json_t *j)
{
	const struct lat_fault *f = state;
	struct fl_lat_counters b;
	struct lat_stats st;

	if (!f)
		return;
	bpf_counters(f, &b);
	lat_queue_stats(f->q, &st);
	if (in_tc(f)) { /* the program decides: no queue, no histogram */
		json_object_set_new(j, "delayed", json_integer((json_int_t)b.queued));
		if (f->netem)
			json_object_set_new(j, "netem_band",
					    json_integer(lat_netem_band(f->netem)));
		return;
	}
	json_object_set_new(j, "delayed", json_integer((json_int_t)st.delayed));
	json_object_set_new(j, "queued", json_integer((json_int_t)b.queued));
	json_object_set_new(j, "followed", json_integer((json_int_t)st.followed));
	json_object_set_new(j, "held", json_integer((json_int_t)st.held));
	/* Fail-open: packets the queue or socket had no room for passed. */
	json_object_set_new(
	    j, "overflow",
	    json_integer((json_int_t)(b.queued > st.received ? b.queued - st.received : 0)));
	json_object_set_new(j, "queue", json_integer(f->qnum));
	if (!f->family && !f->ipv[1])
		json_object_set_new(j, "warning",
				    json_string("no ip6tables rule: IPv6 packets pass undelayed"));
	json_object_set_new(j, "delay_applied_ms",
			    json_pack("{s:o,s:o,s:o}", "p50", ms(st.p50_ns), "p99", ms(st.p99_ns),
				      "max", ms(st.max_ns)));
}

static void lat_heartbeat(uint64_t now)
{
	for (struct lat_fault *f = faults; f; f = f->next) {
		if (f->q)
			lat_queue_drain(f->q, events_write);
		if (in_tc(f)) /* the dead-man switch of fl_latency_edt and _netem */
			__atomic_store_n(&f->skel->bss->heartbeat_ns, now, __ATOMIC_RELAXED);
	}
}

static uint64_t lat_events_lost(void)
{
	uint64_t n = lost_retired;

	for (struct lat_fault *f = faults; f; f = f->next)
		n += f->q ? lat_queue_events_lost(f->q)
			  : __atomic_load_n(&f->skel->bss->events_lost, __ATOMIC_RELAXED);
	return n;
}

static int lat_hooks(void)
{
	int n = 0;

	for (struct lat_fault *f = faults; f; f = f->next)
		n += f->ipv[0] + f->ipv[1] + !!f->edt + !!f->netem;
	return n;
}

static void lat_shutdown(void)
{
	while (faults)
		lat_remove(faults);
	save_state();
}

/* ---- leftovers of an earlier agent ---- */

static bool pin_gone(const char *name)
{
	int pid = 0;

	if (sscanf(name, PIN_PREFIX "%d-", &pid) != 1 || pid <= 0)
		return false;
	return pid == getpid() || (kill(pid, 0) && errno == ESRCH);
}

static int lat_cleanup_leftovers(const struct kind_env *env)
{
	char path[512], err[256];
	json_t *arr, *e;
	DIR *dir;
	size_t k;

	snprintf(path, sizeof(path), "%s/latency-rules.json", env->state_dir);
	arr = json_load_file(path, 0, NULL);
	json_array_foreach(arr, k, e)
	{
		const char *ns = json_string_value(json_object_get(e, "netns"));
		uint64_t id = json_integer_value(json_object_get(e, "netns_id"));
		int fd, saved = -1;

		if (!ns || !*ns)
			continue; /* the agent's own: below */
		fd = netns_open(ns, err, sizeof(err));
		if (fd < 0)
			continue; /* the namespace and its rules are gone */
		if (netns_id(fd) == id && !netns_enter(fd, &saved)) {
			lat_rules_cleanup(ns);
			if (json_is_true(json_object_get(e, "edt")))
				lat_edt_cleanup(ns);
			if (json_is_true(json_object_get(e, "netem")))
				lat_netem_cleanup(ns);
			netns_leave(saved);
		}
		close(fd);
	}
	json_decref(arr);
	unlink(path);
	lat_rules_cleanup("");
	if (env->facts && env->facts->r[FACT_QDISC_FQ].ok)
		lat_edt_cleanup(""); /* a tc call per device: only where fq exists */
	if (env->facts && env->facts->r[FACT_QDISC_NETEM].ok)
		lat_netem_cleanup("");

	dir = opendir(PIN_DIR);
	for (struct dirent *d; dir && (d = readdir(dir));)
		if (!strncmp(d->d_name, PIN_PREFIX, strlen(PIN_PREFIX)) && pin_gone(d->d_name)) {
			snprintf(path, sizeof(path), PIN_DIR "/%s", d->d_name);
			if (!unlink(path))
				fl_log("removed %s, left by an earlier agent", path);
		}
	if (dir)
		closedir(dir);
	return 0;
}

const struct fault_kind latency_kind = {
    .kind = FL_KIND_LATENCY,
    .init = lat_init,
    .check = lat_check,
    .add = lat_add,
    .remove = lat_remove,
    .counters = lat_counters,
    .describe = lat_describe,
    .heartbeat = lat_heartbeat,
    .events_lost = lat_events_lost,
    .hooks = lat_hooks,
    .cleanup_leftovers = lat_cleanup_leftovers,
    .shutdown = lat_shutdown,
};
