// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "event.h"
#include "events.h"
#include "fault.h"
#include "log.h"
#include "kind.h"
#include "parse.h"
#include "registry.h"

struct fault {
	bool used;
	uint32_t id;
	struct fl_fault_spec spec;
	char backend[16];
	uint64_t start_mono, expires_mono, start_wall;
	uint64_t events;
	const struct fault_kind *ops;
	void *state; /* the kind's own record of the fault */
};

static struct fault table[FL_MAX_FAULTS];
static struct fault_config cfg;
static uint32_t next_id = 1;

void faults_init(const struct fault_config *c)
{
	cfg = *c;
}

static struct fault *find(uint32_t id)
{
	for (int i = 0; i < FL_MAX_FAULTS; i++)
		if (table[i].used && table[i].id == id)
			return &table[i];
	return NULL;
}

int faults_active(void)
{
	int n = 0;

	for (int i = 0; i < FL_MAX_FAULTS; i++)
		n += table[i].used;
	return n;
}

static json_t *fault_json(struct fault *f, uint64_t now)
{
	struct fl_counters c = {};
	json_t *j = fault_spec_to_json(&f->spec);

	f->ops->counters(f->state, &c);
	json_object_set_new(j, "id", json_integer(f->id));
	json_object_set_new(j, "backend", json_string(f->backend));
	json_object_set_new(j, "started_wall_ns", json_integer((json_int_t)f->start_wall));
	json_object_set_new(
	    j, "expires_in_ms",
	    json_integer(f->expires_mono > now ? (f->expires_mono - now) / 1000000 : 0));
	json_object_set_new(j, "matched", json_integer((json_int_t)c.matched));
	json_object_set_new(j, "injected", json_integer((json_int_t)c.injected));
	json_object_set_new(j, "events", json_integer((json_int_t)f->events));
	if (f->ops->describe)
		f->ops->describe(f->state, j);
	return j;
}

/* The port range lo..hi includes a protected port. */
static int protected_in(uint16_t lo, uint16_t hi)
{
	for (int i = 0; i < cfg.nr_protected; i++)
		if (lo && cfg.protected_ports[i] >= lo && cfg.protected_ports[i] <= hi)
			return cfg.protected_ports[i];
	return 0;
}

static void remove_fault(struct fault *f, const char *why)
{
	struct fl_counters c = {};

	f->ops->counters(f->state, &c);
	f->ops->remove(f->state);
	events_poll(); /* the fault's last injections go before its end */
	events_fault_end(f->id, why);
	fl_log("fault %u (%s%s%s) ended: %s; matched %llu, injected %llu", f->id,
	       fl_kind_name(f->spec.kind), *f->spec.name ? " " : "", f->spec.name, why,
	       (unsigned long long)c.matched, (unsigned long long)c.injected);
	memset(f, 0, sizeof(*f));
}

/* The first backend, in the registry's order, that this kernel allows and
 * whose kind takes this fault (a kind's check may refuse a backend, as the
 * cgroup one refuses calls that are not socket calls). */
static const char *pick_backend(const struct fl_fault_spec *s, const struct fault_kind *ops,
				char *why, size_t len)
{
	const struct fl_kind_desc *k = fl_kind_by_id(s->kind);
	char one[512], refused[1024] = "", probe[1024] = "";
	size_t nr = 0, np = 0;

	for (const struct fl_backend_desc *b = k ? k->backends : NULL; b && b->name; b++) {
		one[0] = '\0';
		if (!probe_backend_ok(cfg.facts, k->name, b->name, one, sizeof(one))) {
			if (np < sizeof(probe))
				np += snprintf(probe + np, sizeof(probe) - np, "%s%s",
					       np ? "; " : "", one);
			continue;
		}
		if (!ops->check || !ops->check(s, b->name, one, sizeof(one)))
			return b->name;
		/* What the kind refused says more than what the kernel lacks;
		 * a reason all backends give is said once. */
		if (!strstr(refused, one) && nr < sizeof(refused))
			nr += snprintf(refused + nr, sizeof(refused) - nr, "%s%s%s%s",
				       nr ? "; " : "", b->name, ": ", one);
	}
	snprintf(why, len, "%s", nr ? refused : probe);
	return NULL;
}

/* How often it acts, for the log: a drop's loss model (whose prob field
 * is 1 and means nothing), else p. */
static void chance_text(const struct fl_fault_spec *s, char *buf, size_t len)
{
	if (s->kind == FL_KIND_DROP && s->loss.kind == FL_LOSS_GE)
		snprintf(buf, len, "model %s", s->loss.model);
	else if (s->kind == FL_KIND_DROP && s->loss.kind == FL_LOSS_CORRELATED)
		snprintf(buf, len, "p=%g, correlation %g", s->prob, s->loss.correlation);
	else
		snprintf(buf, len, "p=%g", s->prob);
}

/* The target in words for the log: a device, or the processes. */
static void target_text(const struct fl_target *t, char *buf, size_t len)
{
	int n = 0;

	if (*t->dev)
		n = snprintf(buf, len, "%s %s%s%s", t->dev,
			     t->dir == FL_DIR_EGRESS ? "egress" : "ingress",
			     *t->netns ? " in netns " : "", t->netns);
	if (t->pid && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "%spid %u", n ? " " : "", t->pid);
	if (*t->comm && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "%scomm %s", n ? " " : "", t->comm);
	if (*t->cgroup && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "%scgroup %s", n ? " " : "", t->cgroup);
	if (!n)
		snprintf(buf, len, "any process");
}

static json_t *inject(const struct fl_request *req)
{
	const struct fl_fault_spec *s = &req->fault;
	const struct fl_match *m = &s->target.match;
	char why[256] = "", err[512] = "", plan[512] = "", dur[32], max[32], where[400],
	     chance[FL_LOSS_MODEL_LEN + 16];
	const char *backend = s->backend;
	const struct fault_kind *ops = fault_kind_of(s->kind);
	struct fault *f = NULL;
	void *state = NULL;
	uint64_t ttl = s->duration_ns ? s->duration_ns : cfg.default_ttl_ns;
	uint64_t now = now_mono_ns();
	int port, ret;

	if (!ops)
		return proto_error("%s faults are not served by this agent", fl_kind_name(s->kind));
	if (ttl > cfg.max_ttl_ns) {
		format_duration(ttl, dur, sizeof(dur));
		format_duration(cfg.max_ttl_ns, max, sizeof(max));
		return proto_error(
		    "duration %s is over the agent's maximum of %s (agentd --max-ttl)", dur, max);
	}
	if (!s->force && ((port = protected_in(m->sport_lo, m->sport_hi)) ||
			  (port = protected_in(m->dport_lo, m->dport_hi))))
		return proto_error(
		    "port %d is protected (SSH or the agent's own); add --force to fault it anyway",
		    port);
	if (*backend) {
		if (!probe_backend_ok(cfg.facts, fl_kind_name(s->kind), backend, why, sizeof(why)))
			return proto_error("backend %s cannot serve a %s fault here: %s", backend,
					   fl_kind_name(s->kind), why);
	} else {
		backend = pick_backend(s, ops, why, sizeof(why));
		if (!backend)
			return proto_error("no backend can serve this %s fault here: %s",
					   fl_kind_name(s->kind), why);
	}
	if (!req->dry_run) {
		for (int i = 0; i < FL_MAX_FAULTS && !f; i++)
			if (!table[i].used)
				f = &table[i];
		if (!f)
			return proto_error(
			    "the agent holds %d faults already, its maximum; clear some first",
			    FL_MAX_FAULTS);
	}
	ret = ops->check ? ops->check(s, backend, err, sizeof(err)) : 0;
	if (!ret)
		ret = ops->add(s, backend, next_id, req->dry_run, &state, plan, sizeof(plan), err,
			       sizeof(err));
	if (ret)
		return proto_error("%s", err);
	if (req->dry_run) {
		format_duration(ttl, dur, sizeof(dur));
		return json_pack("{s:b,s:b,s:s,s:s,s:s}", "ok", 1, "dry_run", 1, "backend", backend,
				 "plan", plan, "duration", dur);
	}
	f->used = true;
	f->ops = ops;
	f->state = state;
	f->id = next_id++;
	f->spec = *s;
	f->spec.duration_ns = ttl;
	snprintf(f->backend, sizeof(f->backend), "%s", backend);
	f->start_mono = now;
	f->start_wall = now_wall_ns();
	f->expires_mono = now + ttl;
	events_fault_start(f->id, f->backend, &f->spec);
	format_duration(ttl, dur, sizeof(dur));
	target_text(&s->target, where, sizeof(where));
	chance_text(s, chance, sizeof(chance));
	if (*s->sys.syscall)
		fl_log("fault %u: %s on %s of %s (%s, %s, for %s)", f->id, fl_kind_name(s->kind),
		       s->sys.syscall, where, backend, chance, dur);
	else
		fl_log("fault %u: %s on %s (%s, %s, for %s)", f->id, fl_kind_name(s->kind), where,
		       backend, chance, dur);
	return json_pack("{s:b,s:o}", "ok", 1, "fault", fault_json(f, now));
}

static json_t *list(void)
{
	uint64_t now = now_mono_ns();
	json_t *arr = json_array();

	for (int i = 0; i < FL_MAX_FAULTS; i++)
		if (table[i].used)
			json_array_append_new(arr, fault_json(&table[i], now));
	return json_pack("{s:b,s:o}", "ok", 1, "faults", arr);
}

static json_t *clear(const struct fl_request *req)
{
	json_t *ids = json_array();
	struct fault *f;

	if (req->all) {
		for (int i = 0; i < FL_MAX_FAULTS; i++)
			if (table[i].used) {
				json_array_append_new(ids, json_integer(table[i].id));
				remove_fault(&table[i], "cleared");
			}
	} else {
		f = find(req->id);
		if (!f) {
			json_decref(ids);
			return proto_error("no fault with id %u (see: agentctl list)", req->id);
		}
		json_array_append_new(ids, json_integer(f->id));
		remove_fault(f, "cleared");
	}
	return json_pack("{s:b,s:o}", "ok", 1, "cleared", ids);
}

static json_t *status(void)
{
	return json_pack("{s:b,s:i,s:i,s:i,s:I,s:I,s:s}", "ok", 1, "pid", (int)getpid(), "faults",
			 faults_active(), "hooks", kinds_hooks(), "events_written",
			 (json_int_t)events_written(), "events_lost",
			 (json_int_t)kinds_events_lost(), "event_log", cfg.event_log ?: "");
}

json_t *faults_handle(const struct fl_request *req)
{
	switch (req->cmd) {
	case FL_CMD_STATUS:
		return status();
	case FL_CMD_DOCTOR:
		return json_pack("{s:b,s:o}", "ok", 1, "doctor", probe_to_json(cfg.facts));
	case FL_CMD_INJECT:
		return inject(req);
	case FL_CMD_LIST:
		return list();
	case FL_CMD_CLEAR:
		return clear(req);
	default:
		return proto_error("command not handled");
	}
}

int faults_reap(uint64_t now)
{
	int n = 0;

	for (int i = 0; i < FL_MAX_FAULTS; i++)
		if (table[i].used && now >= table[i].expires_mono) {
			remove_fault(&table[i], "expired");
			n++;
		}
	return n;
}

void faults_clear_all(const char *why)
{
	for (int i = 0; i < FL_MAX_FAULTS; i++)
		if (table[i].used)
			remove_fault(&table[i], why);
}

void faults_count_event(const struct fl_event *e, void *arg)
{
	struct fault *f = find(e->fault_id);

	if (f)
		f->events++;
}

/* A label value in the exposition format: \\, \" and \n escaped. Device
 * names may hold quotes; fault names are checked at parse time. */
static void label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

/* One counter of struct fl_counters, by fault. */
static void metric_per_fault(FILE *out, const char *metric, const char *help, size_t field)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", metric, help, metric);
	for (int i = 0; i < FL_MAX_FAULTS; i++) {
		struct fl_counters c = {};

		if (!table[i].used)
			continue;
		table[i].ops->counters(table[i].state, &c);
		fprintf(out, "%s{fault=\"%u\",kind=\"%s\",dev=\"", metric, table[i].id,
			fl_kind_name(table[i].spec.kind));
		label_value(out, table[i].spec.target.dev);
		fprintf(out, "\",name=\"%s\"} %llu\n", table[i].spec.name,
			(unsigned long long)*(uint64_t *)((char *)&c + field));
	}
}

void faults_metrics(FILE *out)
{
	fprintf(out,
		"# HELP faultline_faults_active Faults the agent holds now.\n"
		"# TYPE faultline_faults_active gauge\n"
		"faultline_faults_active %d\n",
		faults_active());
	metric_per_fault(out, "faultline_fault_matched_total",
			 "Packets or calls that matched a fault.",
			 offsetof(struct fl_counters, matched));
	metric_per_fault(out, "faultline_fault_injected_total",
			 "Packets or calls a fault acted on (dropped, delayed, failed).",
			 offsetof(struct fl_counters, injected));
	fprintf(out,
		"# HELP faultline_events_written_total Fault events written to the event log.\n"
		"# TYPE faultline_events_written_total counter\n"
		"faultline_events_written_total %llu\n"
		"# HELP faultline_events_lost_total Fault events lost because the ring buffer was "
		"full.\n"
		"# TYPE faultline_events_lost_total counter\n"
		"faultline_events_lost_total %llu\n",
		(unsigned long long)events_written(), (unsigned long long)kinds_events_lost());
}
