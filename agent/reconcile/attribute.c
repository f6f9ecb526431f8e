// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Attribution: each failure against the inject events of its port, then of
 * its socket.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ledger.h"
#include "rc_int.h"

/* ---- explanation ---- */

static int cmp_erec(const void *a, const void *b)
{
	const struct erec *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->wall < y->wall ? -1 : x->wall > y->wall;
}

static int64_t find_port_event(const struct erec *ev, size_t n, uint16_t port, uint64_t lo,
			       uint64_t hi)
{
	size_t a = 0, b = n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (ev[m].port < port || (ev[m].port == port && ev[m].wall < lo))
			a = m + 1;
		else
			b = m;
	}
	if (a < n && ev[a].port == port && ev[a].wall <= hi)
		return ev[a].fault;
	return -1;
}

/* Count failure f as explained by fault index fi, or unexplained (fi < 0). */
static void attribute(struct ctx *c, const struct frec *f, int64_t fi)
{
	struct rc_result *r = c->r;
	char id[RC_ID_LEN];

	rc_fmt_id(id, f->run_id, f->instance, f->seq);
	if (fi >= 0) {
		r->c.explained++;
		r->faults[fi].explained++;
		if (f->recv == RC_R_0)
			r->c.missing_explained++;
		idlist_add(&r->explained_ids, id, NULL);
	} else {
		r->c.unexplained++;
		idlist_add(&r->unexplained_ids, id, c->list_fp[3]);
	}
}

int rc_explain_partition(struct ctx *c, unsigned p)
{
	struct frec *fs = NULL;
	struct erec *ev = NULL;
	size_t nf, ne = 0;
	int ret;

	ret = spill_read(&c->fs, p, sizeof(*fs), (void **)&fs, &nf);
	if (!ret && p < NP)
		ret = spill_read(&c->es, p, sizeof(*ev), (void **)&ev, &ne);
	if (ret) {
		snprintf(c->err, c->errlen, "cannot read temporary files in %s: %s", c->tmp,
			 strerror(-ret));
		goto out;
	}
	if (ne > 1)
		qsort(ev, ne, sizeof(*ev), cmp_erec);
	for (size_t i = 0; i < nf; i++) {
		const struct frec *f = &fs[i];
		int64_t fi = -1;

		if (p < NP)
			fi = find_port_event(ev, ne, f->port, f->lo, f->hi);
		else
			fi = tidx_find(&c->all, f->lo, f->hi); /* connection never had a port */
		if (fi < 0 && c->have_portless)
			fi = tidx_find(&c->portless, f->lo, f->hi);
		if (fi < 0 && f->cookie && c->have_cookies) {
			/* perhaps an event on its socket: the socket pass decides */
			ret = spill_put(&c->us, (unsigned)(mix64(f->cookie) % NP), f, sizeof(*f));
			if (ret)
				goto out;
			continue;
		}
		attribute(c, f, fi);
	}
out:
	free(fs);
	free(ev);
	return ret;
}

static int cmp_crec(const void *a, const void *b)
{
	const struct crec *x = a, *y = b;

	if (x->cookie != y->cookie)
		return x->cookie < y->cookie ? -1 : 1;
	return x->wall < y->wall ? -1 : x->wall > y->wall;
}

/* The failures the port pass left, against the events on their socket. */
int rc_explain_cookies(struct ctx *c, unsigned p)
{
	struct frec *fs = NULL;
	struct crec *ev = NULL;
	size_t nf, ne;
	int ret;

	ret = spill_read(&c->us, p, sizeof(*fs), (void **)&fs, &nf);
	if (!ret)
		ret = spill_read(&c->cs, p, sizeof(*ev), (void **)&ev, &ne);
	if (ret) {
		snprintf(c->err, c->errlen, "cannot read temporary files in %s: %s", c->tmp,
			 strerror(-ret));
		goto out;
	}
	if (ne > 1)
		qsort(ev, ne, sizeof(*ev), cmp_crec);
	for (size_t i = 0; i < nf; i++) {
		const struct frec *f = &fs[i];
		size_t a = 0, b = ne;
		int64_t fi = -1;

		while (a < b) {
			size_t m = a + (b - a) / 2;

			if (ev[m].cookie < f->cookie ||
			    (ev[m].cookie == f->cookie && ev[m].wall < f->lo))
				a = m + 1;
			else
				b = m;
		}
		if (a < ne && ev[a].cookie == f->cookie && ev[a].wall <= f->hi)
			fi = ev[a].fault;
		attribute(c, f, fi);
	}
out:
	free(fs);
	free(ev);
	return ret;
}
