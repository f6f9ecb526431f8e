// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Attribution by evidence (docs/reconcile.md, "Which failures a fault
 * explains"). Each failure goes through the classes in turn, strongest
 * first, and stops at the first that explains it:
 *   direct      an inject event on this request's own connection: its
 *               5-tuple (both addresses and ports, either direction) in the
 *               port pass, or its socket cookie in the socket pass; inside
 *               the request's window; and of a kind whose events can cause
 *               this form of failure (the table below);
 *   dependency  the service's receipt names the upstream it called, and an
 *               inject event hit that upstream's address and port inside
 *               the request's window, or a process fault's target listened
 *               on them during its window (listen.c);
 *   declared    the scenario declared this form of failure for a fault, and
 *               the request lies in that fault's window plus grace;
 *   unexplained everything else, listed with what the client and the
 *               service saw.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "event.h"
#include "ledger.h"
#include "rc_int.h"
#include "registry.h"

#define F(x) RC_FORM_BIT(RC_FORM_##x)

/* Which failures an event of each kind can explain on its own connection,
 * from what the kind registry says its events explain (registry.h,
 * enum fl_explains): the one table of kinds. */
struct kind_rule {
	unsigned forms;	 /* RC_FORM_BIT of the failures */
	bool delay;	 /* a timeout only when its delay made it one */
	bool same_errno; /* only a failure with the errno it injected */
	bool upstream;	 /* its events on an upstream explain a dependency */
};

static struct kind_rule rules[FL_KIND_MAX];
static pthread_once_t rules_once = PTHREAD_ONCE_INIT;

static void rules_init(void)
{
	for (unsigned kind = 1; kind < FL_KIND_MAX; kind++) {
		const struct fl_kind_desc *k = fl_kind_by_id((uint16_t)kind);
		struct kind_rule *r = &rules[kind];

		if (!k)
			continue;
		/* a lost packet stalls or breaks a connection; it never makes
		 * the service send a status */
		if (k->explains & FL_EXPLAINS_TRANSPORT)
			r->forms |= F(TIMEOUT) | F(RESET) | F(CONNECT) | F(EOF);
		/* a failed call fails the request with that errno */
		if (k->explains & FL_EXPLAINS_ERRNO) {
			r->forms |= F(CONNECT) | F(RESET) | F(EOF) | F(OTHER);
			r->same_errno = true;
		}
		/* a delay makes a request slow, and a timeout only when the
		 * delay is what took it past its deadline */
		if (k->explains & FL_EXPLAINS_DEADLINE) {
			r->forms |= F(TIMEOUT);
			r->delay = true;
		}
		r->upstream = r->forms || (k->explains & FL_EXPLAINS_DEPENDENCY);
	}
}

static const struct kind_rule *rule(unsigned kind)
{
	static const struct kind_rule none;

	pthread_once(&rules_once, rules_init);
	return kind && kind < FL_KIND_MAX ? &rules[kind] : &none;
}

static bool upstream_kind(unsigned kind)
{
	return rule(kind)->upstream;
}

/* What a fault on an upstream can make the service do to the request. */
#define DEPENDENCY_FORMS (F(STATUS) | F(TIMEOUT) | F(RESET) | F(EOF))

const char *const rc_class_names[RC_EX_MAX] = {"direct", "dependency", "declared"};

static const char *const form_names[RC_FORM_MAX] = {"status", "timeout", "reset", "connect",
						    "eof",    "parse",	 "other"};

const char *rc_form_name(unsigned form)
{
	return form < RC_FORM_MAX ? form_names[form] : "?";
}

int rc_form_of_name(const char *name)
{
	for (int i = 0; i < RC_FORM_MAX; i++)
		if (!strcmp(form_names[i], name))
			return i;
	return -1;
}

static unsigned form_of(const struct frec *f)
{
	switch (f->outcome) {
	case FL_OUT_STATUS:
		return RC_FORM_STATUS;
	case FL_OUT_TIMEOUT:
		return RC_FORM_TIMEOUT;
	case FL_OUT_RESET:
		return RC_FORM_RESET;
	case FL_OUT_CONNECT:
		return RC_FORM_CONNECT;
	case FL_OUT_EOF:
		return RC_FORM_EOF;
	case FL_OUT_PARSE:
		return RC_FORM_PARSE;
	default:
		return RC_FORM_OTHER;
	}
}

/* ---- recording a verdict on one failure ---- */

static void addr_text(const struct addr_tab *t, uint16_t i, uint16_t port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (i < t->n)
		inet_ntop(t->v[i].family, t->v[i].a, a, sizeof(a));
	if (i < t->n && t->v[i].family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

static void up_text(const struct ctx *c, uint16_t up, char *buf, size_t len)
{
	const struct rc_addr *u = &c->ups.v[up];
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(u->family, u->a, a, sizeof(a));
	snprintf(buf, len, u->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, u->port);
}

static void explained(struct ctx *c, const struct frec *f, uint32_t fi, enum rc_class cls)
{
	struct rc_result *r = c->r;
	char id[RC_ID_LEN];

	rc_fmt_id(id, f->run_id, f->instance, f->seq);
	r->c.explained++;
	r->c.explained_by[cls]++;
	r->faults[fi].explained++;
	r->faults[fi].explained_by[cls]++;
	if (f->recv == RC_R_0)
		r->c.missing_explained++;
	idlist_add(&r->explained_ids, id, NULL);
}

/* request -> service -> upstream -> fault, counted by distinct chain */
static int add_chain(struct ctx *c, const struct frec *f, uint32_t fi)
{
	struct rc_result *r = c->r;
	const struct rc_fault *fl = &r->faults[fi];
	char svc[64], up[64];
	struct rc_chain *ch;
	int s = src_find(c, f->run_id, f->instance, -1);

	if (f->paddr < c->addrs.n && f->pport)
		addr_text(&c->addrs, f->paddr, f->pport, svc, sizeof(svc));
	else
		snprintf(svc, sizeof(svc), "%s", s >= 0 ? c->url_svc[s] : "the service");
	up_text(c, f->up, up, sizeof(up));
	for (size_t i = 0; i < r->n_chains; i++) {
		ch = &r->chains[i];
		if (ch->fault_id == fl->id && !strcmp(ch->service, svc) &&
		    !strcmp(ch->upstream, up)) {
			ch->n++;
			return 0;
		}
	}
	if (r->n_chains >= MAX_CHAINS)
		return 0;
	if (!r->chains) {
		r->chains = calloc(MAX_CHAINS, sizeof(*r->chains));
		if (!r->chains)
			return -ENOMEM;
	}
	ch = &r->chains[r->n_chains++];
	snprintf(ch->service, sizeof(ch->service), "%s", svc);
	snprintf(ch->upstream, sizeof(ch->upstream), "%s", up);
	ch->fault_id = fl->id;
	snprintf(ch->fault_name, sizeof(ch->fault_name), "%s", fl->name);
	ch->n = 1;
	rc_fmt_id(ch->example, f->run_id, f->instance, f->seq);
	return 0;
}

static void unexplained(struct ctx *c, const struct frec *f)
{
	struct rc_result *r = c->r;
	char id[RC_ID_LEN];

	rc_fmt_id(id, f->run_id, f->instance, f->seq);
	r->c.unexplained++;
	idlist_add(&r->unexplained_ids, id, c->list_fp[3]);
	if (r->n_unexplained < (c->in->max_ids ? c->in->max_ids : RC_DEFAULT_MAX_IDS)) {
		struct rc_failure *u;

		if (!r->unexplained) {
			r->unexplained = calloc(r->unexplained_ids.cap ? r->unexplained_ids.cap : 1,
						sizeof(*r->unexplained));
			if (!r->unexplained)
				return; /* the list is a courtesy; the count stands */
		}
		u = &r->unexplained[r->n_unexplained++];
		snprintf(u->id, sizeof(u->id), "%s", id);
		if (f->outcome == FL_OUT_STATUS)
			snprintf(u->client, sizeof(u->client), "status %u", f->status);
		else if (f->err)
			snprintf(u->client, sizeof(u->client), "%s (errno %d)",
				 fl_outcome_name(f->outcome), f->err);
		else
			snprintf(u->client, sizeof(u->client), "%s", fl_outcome_name(f->outcome));
		if (f->recv == RC_R_0) {
			snprintf(u->service, sizeof(u->service), "not received");
		} else {
			char up[64] = "";
			int n = snprintf(u->service, sizeof(u->service), "%s",
					 f->recv == RC_R_MORE ? "received twice or more, " : "");

			if (f->svc_status)
				n += snprintf(u->service + n, sizeof(u->service) - (size_t)n,
					      "status %u", f->svc_status);
			else
				n += snprintf(u->service + n, sizeof(u->service) - (size_t)n,
					      "received");
			if (f->up != RC_UP_NONE && n < (int)sizeof(u->service)) {
				up_text(c, f->up, up, sizeof(up));
				snprintf(u->service + n, sizeof(u->service) - (size_t)n,
					 f->up_status ? ", upstream %s status %u"
						      : ", upstream %s no status",
					 up, f->up_status);
			}
		}
	}
}

/* What no direct evidence explained: the dependency pass if the receipt
 * names an upstream an event touched, else the declared effects, else
 * unexplained. */
static bool declared(struct ctx *c, const struct frec *f)
{
	unsigned form = form_of(f);

	for (size_t i = 0; i < c->n_decl; i++) {
		const struct rc_declared *d = c->decl[i].d;
		const struct rc_fault *fl = &c->r->faults[c->decl[i].fault];
		uint64_t end = fl->end_ns == UINT64_MAX ? UINT64_MAX : fl->end_ns + d->grace_ns;
		bool form_ok = false;

		if (fl->start_ns == UINT64_MAX || f->hi < fl->start_ns || f->lo > end)
			continue;
		if (form == RC_FORM_STATUS) {
			for (unsigned k = 0; k < d->n_statuses && !form_ok; k++)
				form_ok = d->statuses[k] == f->status;
		} else {
			form_ok = d->forms & RC_FORM_BIT(form);
		}
		if (form_ok) {
			explained(c, f, (uint32_t)c->decl[i].fault, RC_EX_DECLARED);
			return true;
		}
	}
	return false;
}

static void last_resort(struct ctx *c, const struct frec *f)
{
	if (!declared(c, f))
		unexplained(c, f);
}

static int after_direct(struct ctx *c, const struct frec *f)
{
	if (f->up != RC_UP_NONE && c->ups.v[f->up].ev != RC_ADDR_NONE &&
	    (DEPENDENCY_FORMS & RC_FORM_BIT(form_of(f))) &&
	    (form_of(f) != RC_FORM_STATUS || f->status >= 500))
		return spill_put(&c->ds, c->ups.v[f->up].port % NP, f, sizeof(*f));
	last_resort(c, f);
	return 0;
}

/* ---- direct: the request's own connection ---- */

/* The rule of the event's kind against the failure: 1 explains, 0 not,
 * and latency events add their delay to *delay_us. */
static int kind_explains(const struct frec *f, unsigned kind, uint32_t value, uint64_t *delay_us)
{
	const struct kind_rule *k = rule(kind);

	if (!(k->forms & RC_FORM_BIT(form_of(f))))
		return 0;
	if (k->same_errno && (uint32_t)(f->err < 0 ? -f->err : f->err) != value)
		return 0;
	if (k->delay) {
		*delay_us += value;
		return 0;
	}
	return 1;
}

/* The delay a request's latency events added made it time out: without
 * it the request would have taken about the run's median. */
static bool delay_caused(const struct ctx *c, const struct frec *f, uint64_t delay_us)
{
	return delay_us && delay_us * 1000 + c->p50_ns >= f->latency_ns;
}

static bool addr_ok(uint16_t req, uint16_t ev)
{
	return req == RC_ADDR_ANY || (req != RC_ADDR_NONE && req == ev);
}

/* e is filed under the failure's local port: the rest of its 5-tuple must
 * be the request's too, in either direction of the connection. */
static bool tuple_match(const struct frec *f, const struct erec *e)
{
	if (e->proto != IPPROTO_TCP)
		return false;
	if (addr_ok(f->laddr, e->addr) && (!f->pport || e->oport == f->pport) &&
	    addr_ok(f->paddr, e->oaddr))
		return true;
	/* both ports equal: the entry's sides cannot tell which is ours */
	return e->port == e->oport && addr_ok(f->laddr, e->oaddr) && addr_ok(f->paddr, e->addr);
}

static int cmp_erec(const void *a, const void *b)
{
	const struct erec *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->wall < y->wall ? -1 : x->wall > y->wall;
}

/* The first event at port with wall >= lo. */
static size_t lower_bound(const struct erec *ev, size_t n, uint16_t port, uint64_t lo)
{
	size_t a = 0, b = n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (ev[m].port < port || (ev[m].port == port && ev[m].wall < lo))
			a = m + 1;
		else
			b = m;
	}
	return a;
}

static int64_t direct_by_tuple(const struct ctx *c, const struct frec *f, const struct erec *ev,
			       size_t n)
{
	uint64_t delay = 0;
	int64_t lat = -1;

	for (size_t i = lower_bound(ev, n, f->port, f->lo);
	     i < n && ev[i].port == f->port && ev[i].wall <= f->hi; i++) {
		if (!tuple_match(f, &ev[i]))
			continue;
		if (kind_explains(f, ev[i].kind, ev[i].value, &delay))
			return ev[i].fault;
		if (rule(ev[i].kind)->delay && lat < 0)
			lat = ev[i].fault;
	}
	return delay_caused(c, f, delay) ? lat : -1;
}

/* One pass over partition p: its failures (of spill fsp) against its
 * events (of esp, records of esz bytes, sorted with cmp), one call of fn
 * per failure. */
typedef int (*fail_fn)(struct ctx *c, const struct frec *f, const void *ev, size_t ne);
static int pass(struct ctx *c, struct spill *fsp, struct spill *esp, unsigned p, size_t esz,
		int (*cmp)(const void *, const void *), fail_fn fn)
{
	struct frec *fs = NULL;
	void *ev = NULL;
	size_t nf = 0, ne = 0;
	int ret = spill_read(fsp, p, sizeof(*fs), (void **)&fs, &nf);

	if (!ret && esp)
		ret = spill_read(esp, p, esz, &ev, &ne);
	if (ret)
		snprintf(c->err, c->errlen, "cannot read temporary files in %s: %s", c->tmp,
			 strerror(-ret));
	if (!ret && ne > 1)
		qsort(ev, ne, esz, cmp);
	for (size_t i = 0; i < nf && !ret; i++)
		ret = fn(c, &fs[i], ev, ne);
	free(fs);
	free(ev);
	return ret;
}

static int by_port(struct ctx *c, const struct frec *f, const void *ev, size_t ne)
{
	int64_t fi = f->port ? direct_by_tuple(c, f, ev, ne) : -1;

	if (fi >= 0) {
		explained(c, f, (uint32_t)fi, RC_EX_DIRECT);
		return 0;
	}
	if (f->cookie && c->have_cookies) /* perhaps an event on its socket */
		return spill_put(&c->us, (unsigned)(mix64(f->cookie) % NP), f, sizeof(*f));
	return after_direct(c, f);
}

int rc_explain_partition(struct ctx *c, unsigned p)
{
	/* partition NP: requests with no local port, which no event can name
	 * by its ports (only by the socket) */
	return pass(c, &c->fs, p < NP ? &c->es : NULL, p, sizeof(struct erec), cmp_erec, by_port);
}

static int cmp_crec(const void *a, const void *b)
{
	const struct crec *x = a, *y = b;

	if (x->cookie != y->cookie)
		return x->cookie < y->cookie ? -1 : 1;
	return x->wall < y->wall ? -1 : x->wall > y->wall;
}

static int by_socket(struct ctx *c, const struct frec *f, const void *evs, size_t ne)
{
	const struct crec *ev = evs;
	size_t a = 0, b = ne;
	uint64_t delay = 0;
	int64_t fi = -1, lat = -1;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (ev[m].cookie < f->cookie || (ev[m].cookie == f->cookie && ev[m].wall < f->lo))
			a = m + 1;
		else
			b = m;
	}
	for (; a < ne && ev[a].cookie == f->cookie && ev[a].wall <= f->hi && fi < 0; a++) {
		if (kind_explains(f, ev[a].kind, ev[a].value, &delay))
			fi = ev[a].fault;
		else if (rule(ev[a].kind)->delay && lat < 0)
			lat = ev[a].fault;
	}
	if (fi < 0 && delay_caused(c, f, delay))
		fi = lat;
	if (fi < 0)
		return after_direct(c, f);
	explained(c, f, (uint32_t)fi, RC_EX_DIRECT);
	return 0;
}

/* The failures the port pass left, against the events on their socket. */
int rc_explain_cookies(struct ctx *c, unsigned p)
{
	return pass(c, &c->us, &c->cs, p, sizeof(struct crec), cmp_crec, by_socket);
}

/* ---- dependency: the upstream the service called ---- */

static int by_upstream(struct ctx *c, const struct frec *f, const void *evs, size_t ne)
{
	const struct erec *ev = evs;
	const struct rc_addr *u = &c->ups.v[f->up];
	int64_t fi = -1;

	for (size_t k = lower_bound(ev, ne, u->port, f->lo);
	     k < ne && ev[k].port == u->port && ev[k].wall <= f->hi && fi < 0; k++)
		if (ev[k].addr == u->ev && ev[k].proto == IPPROTO_TCP && rule(ev[k].kind)->upstream)
			fi = ev[k].fault;
	/* a kill or pause of what listened there, for the fault's window */
	if (fi < 0)
		fi = rc_listen_fault(c, f, u->ev, u->port, upstream_kind);
	if (fi < 0) {
		last_resort(c, f);
		return 0;
	}
	explained(c, f, (uint32_t)fi, RC_EX_DEPENDENCY);
	return add_chain(c, f, (uint32_t)fi);
}

/* The failures whose receipts name an upstream, against the events on
 * that upstream's address and port (partition p of its port). */
int rc_explain_dependencies(struct ctx *c, unsigned p)
{
	return pass(c, &c->ds, &c->es, p, sizeof(struct erec), cmp_erec, by_upstream);
}
