// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The receipts pass (receipts to the buckets of their ids) and the join,
 * bucket by bucket: the cell of each request, ghosts, missing, duplicates,
 * idempotency keys with more than one effect; failures on to attribution.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ledger.h"
#include "rc_int.h"

/* ---- receipts ---- */

/* "10.0.0.3:5432", "[::1]:5432" -> the upstreams' table (RC_UP_NONE when
 * it is not an address and port, or past the table). */
static uint16_t upstream_of(struct ctx *c, const char *s, size_t n)
{
	const char *colon = NULL, *a = s;
	size_t alen;
	unsigned port = 0;
	uint8_t fam, addr[16];
	uint16_t idx;

	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb || rb + 1 >= s + n || rb[1] != ':')
			return RC_UP_NONE;
		a = s + 1;
		alen = (size_t)(rb - a);
		colon = rb + 1;
	} else {
		colon = memrchr(s, ':', n);
		if (!colon)
			return RC_UP_NONE;
		alen = (size_t)(colon - s);
	}
	for (const char *q = colon + 1; q < s + n; q++) {
		if (*q < '0' || *q > '9' || port > 65535)
			return RC_UP_NONE;
		port = port * 10 + (unsigned)(*q - '0');
	}
	if (!port || port > 65535 || rc_addr_parse(a, alen, &fam, addr))
		return RC_UP_NONE;
	if (rc_addr_intern(&c->ups, fam, addr, (uint16_t)port, &idx))
		return RC_UP_NONE;
	/* the events' table is complete before the receipts are read */
	c->ups.v[idx].ev = rc_addr_find(&c->addrs, fam, addr, 0);
	return idx;
}

static int on_receipt(const struct rc_receipt *rc, void *arg)
{
	struct rctx *x = arg;
	struct ctx *c = x->c;
	struct rrec rr = {0};
	int ret;

	x->receipts++;
	if (rc->key && rc->key_len) {
		struct krec k = {.h = str_hash(rc->key, rc->key_len)};

		memcpy(k.key, rc->key,
		       rc->key_len < sizeof(k.key) - 1 ? rc->key_len : sizeof(k.key) - 1);
		c->any_keys = true;
		ret = spill_put(&c->ks, (unsigned)(k.h % NK), &k, sizeof(k));
		if (ret)
			goto werr;
	}
	if (!rc->id_len) {
		x->noid++;
		return 0;
	}
	if (rc->parsed) {
		rr.run_id = rc->run_id;
		rr.instance = rc->instance;
		rr.seq = rc->seq;
	} else if (rc_parse_req_id(rc->id, rc->id_len, &rr.run_id, &rr.instance, &rr.seq)) {
		/* not an id loadgen sends: a ghost, once per receipt */
		char id[RC_ID_LEN];
		size_t n = rc->id_len < RC_ID_LEN - 1 ? rc->id_len : RC_ID_LEN - 1;

		memcpy(id, rc->id, n);
		id[n] = '\0';
		x->ghosts++;
		idlist_add(&c->r->ghost_ids, id, c->list_fp[1]);
		return 0;
	}
	x->hint = src_find(c, rr.run_id, rr.instance, x->hint);
	if (x->hint >= 0) {
		struct qrec q = {.seq = rr.seq,
				 .src = (uint16_t)x->hint,
				 .status = (uint16_t)rc->status,
				 .up = rc->upstream_len
					   ? upstream_of(c, rc->upstream, rc->upstream_len)
					   : RC_UP_NONE,
				 .up_status = (uint16_t)rc->upstream_status};

		ret = spill_put(&c->rs,
				(unsigned)(src_hash((unsigned)x->hint, rr.seq) >> c->nb_shift), &q,
				sizeof(q));
	} else {
		/* an instance no ledger has: a ghost, counted once in the join */
		ret = spill_put(&c->xs,
				(unsigned)(id_hash(rr.run_id, rr.instance, rr.seq) >> c->nb_shift),
				&rr, sizeof(rr));
		x->hint = -1;
	}
	if (ret)
		goto werr;
	return 0;
werr:
	snprintf(x->err, sizeof(x->err), "cannot write temporary files in %.300s: %s", c->tmp,
		 strerror(-ret));
	return ret;
}

void *rc_read_receipts(void *arg)
{
	struct rctx *x = arg;
	struct ctx *c = x->c;

	for (size_t i = 0; i < c->in->n_receipts && !x->ret; i++)
		x->ret =
		    rc_receipts_read(c->in->receipts[i], on_receipt, x, x->err, sizeof(x->err));
	if (!x->ret)
		x->ret = spill_flush(c, &c->rs) ?: spill_flush(c, &c->xs) ?: spill_flush(c, &c->ks);
	if (getenv("FL_RECONCILE_TIMING")) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(stderr, "reconcile: receipts done at %.3f s (monotonic)\n",
			(double)ts.tv_sec + ts.tv_nsec / 1e9);
	}
	return NULL;
}

/* ---- join ---- */

static inline bool same_id(const struct lrec *l, unsigned src, uint64_t seq)
{
	return l->seq == seq && l->src == src;
}

struct ghost_set {
	struct rrec *v;
	size_t cap, n;
};

/* Returns 1 when the id was new. */
static int ghost_add(struct ghost_set *g, const struct rrec *rr)
{
	size_t i;

	if (2 * (g->n + 1) > g->cap) {
		struct ghost_set ng = {.cap = g->cap ? g->cap * 2 : 64};

		ng.v = calloc(ng.cap, sizeof(*ng.v));
		if (!ng.v)
			return -ENOMEM;
		for (size_t k = 0; k < g->cap; k++)
			if (g->v[k].pad)
				ghost_add(&ng, &g->v[k]);
		free(g->v);
		*g = ng;
	}
	i = id_hash(rr->run_id, rr->instance, rr->seq) & (g->cap - 1);
	while (g->v[i].pad) {
		if (g->v[i].run_id == rr->run_id && g->v[i].instance == rr->instance &&
		    g->v[i].seq == rr->seq)
			return 0;
		i = (i + 1) & (g->cap - 1);
	}
	g->v[i] = *rr;
	g->v[i].pad = 1; /* used */
	g->n++;
	return 1;
}

static int join_bucket(struct ctx *c, unsigned b, struct rc_counts *cn)
{
	struct rc_result *r = c->r;
	struct lrec *ls = NULL;
	struct qrec *rs = NULL;
	struct rrec *xs = NULL;
	struct wrec *ws = NULL;
	uint32_t *slot = NULL, *cnt = NULL, *first = NULL; /* first: its first receipt + 1 */
	struct ghost_set gs = {0};
	size_t nl, nr, nx, nw, wi = 0, cap = 16, i;
	char id[RC_ID_LEN];
	int ret;

	ret = spill_read(&c->ls, b, sizeof(*ls), (void **)&ls, &nl);
	if (!ret)
		ret = spill_read(&c->rs, b, sizeof(*rs), (void **)&rs, &nr);
	if (!ret)
		ret = spill_read(&c->xs, b, sizeof(*xs), (void **)&xs, &nx);
	if (!ret)
		ret = spill_read(&c->ws, b, sizeof(*ws), (void **)&ws, &nw);
	if (ret) {
		snprintf(c->err, c->errlen, "cannot read temporary files in %s: %s", c->tmp,
			 strerror(-ret));
		goto out;
	}
	while (cap < 2 * nl)
		cap *= 2;
	slot = calloc(cap, sizeof(*slot));
	cnt = calloc(nl + 1, sizeof(*cnt));
	first = calloc(nl + 1, sizeof(*first));
	if (!slot || !cnt || !first) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nl; i++) {
		const struct lrec *l = &ls[i];
		size_t h = src_hash(l->src, l->seq) & (cap - 1);

		while (slot[h]) {
			if (same_id(&ls[slot[h] - 1], l->src, l->seq)) {
				rc_fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance,
					  l->seq);
				snprintf(c->err, c->errlen,
					 "request id %s appears twice in the ledgers (two load "
					 "instances with the same run id and --instance?)",
					 id);
				ret = -EINVAL;
				goto out;
			}
			h = (h + 1) & (cap - 1);
		}
		slot[h] = (uint32_t)i + 1;
	}
	for (i = 0; i < nr + nx; i++) {
		struct rrec full;
		const struct rrec *rr = &full;

		if (i < nr) {
			const struct qrec *q = &rs[i];
			size_t h = src_hash(q->src, q->seq) & (cap - 1);

			while (slot[h] && !same_id(&ls[slot[h] - 1], q->src, q->seq))
				h = (h + 1) & (cap - 1);
			if (slot[h]) {
				if (!cnt[slot[h] - 1]++)
					first[slot[h] - 1] = (uint32_t)i + 1;
				continue;
			}
			full = (struct rrec){.run_id = c->src[q->src].run_id,
					     .seq = q->seq,
					     .instance = c->src[q->src].instance};
		} else {
			rr = &xs[i - nr]; /* an instance no ledger has */
		}
		ret = ghost_add(&gs, rr);
		if (ret < 0)
			goto out;
		if (ret == 1) {
			cn->ghosts++;
			rc_fmt_id(id, rr->run_id, rr->instance, rr->seq);
			pthread_mutex_lock(&c->jlock);
			idlist_add(&r->ghost_ids, id, c->list_fp[1]);
			pthread_mutex_unlock(&c->jlock);
		}
		ret = 0;
	}
	for (i = 0; i < nl; i++) {
		const struct lrec *l = &ls[i];
		unsigned recv = cnt[i] == 0 ? RC_R_0 : cnt[i] == 1 ? RC_R_1 : RC_R_MORE;

		cn->cells[l->client][recv]++;
		if (l->client == RC_C_UNSENT) {
			if (cnt[i]) {
				cn->ghosts++;
				rc_fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance,
					  l->seq);
				pthread_mutex_lock(&c->jlock);
				idlist_add(&r->ghost_ids, id, c->list_fp[1]);
				pthread_mutex_unlock(&c->jlock);
			}
			continue;
		}
		if (c->mix_value) {
			double v = l->mix < c->n_mix ? c->mix_value[l->mix] : 0;
			bool failed =
			    l->client == RC_C_FAILED || (l->client == RC_C_TIMEOUT && !l->inflight);

			cn->value_missing += recv == RC_R_0 ? v : 0;
			cn->value_duplicated += recv == RC_R_MORE ? v : 0;
			cn->value_failed += failed ? v : 0;
			cn->value_at_risk += recv != RC_R_1 || failed ? v : 0;
		}
		if (recv == RC_R_0) {
			cn->missing++;
			rc_fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance, l->seq);
			pthread_mutex_lock(&c->jlock);
			idlist_add(&r->missing_ids, id, c->list_fp[0]);
			pthread_mutex_unlock(&c->jlock);
		} else if (recv == RC_R_MORE) {
			cn->duplicates++;
			rc_fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance, l->seq);
			pthread_mutex_lock(&c->jlock);
			idlist_add(&r->duplicate_ids, id, c->list_fp[2]);
			pthread_mutex_unlock(&c->jlock);
		}
		if (l->client == RC_C_TIMEOUT && recv != RC_R_0 && !l->inflight) {
			cn->recovered++;
			rc_fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance, l->seq);
			pthread_mutex_lock(&c->jlock);
			idlist_add(&r->recovered_ids, id, NULL);
			pthread_mutex_unlock(&c->jlock);
		}
		if (l->client == RC_C_FAILED || (l->client == RC_C_TIMEOUT && !l->inflight)) {
			struct frec f = {.run_id = c->src[l->src].run_id,
					 .seq = l->seq,
					 .instance = c->src[l->src].instance,
					 .port = l->port,
					 .client = l->client,
					 .recv = (uint8_t)recv};

			if (wi >= nw) {
				snprintf(c->err, c->errlen,
					 "internal error: failure windows out of step");
				ret = -EPROTO;
				goto out;
			}
			f.lo = ws[wi].lo;
			f.hi = ws[wi].hi;
			f.cookie = ws[wi].cookie;
			f.latency_ns = ws[wi].latency_ns;
			f.err = ws[wi].err;
			f.pport = ws[wi].pport;
			f.laddr = ws[wi].laddr;
			f.paddr = ws[wi].paddr;
			f.status = ws[wi].status;
			f.outcome = ws[wi].outcome;
			f.up = RC_UP_NONE;
			if (first[i]) {
				const struct qrec *q = &rs[first[i] - 1];

				f.svc_status = q->status;
				f.up = q->up;
				f.up_status = q->up_status;
			}
			wi++;

			pthread_mutex_lock(&c->jlock);
			ret = spill_put(&c->fs, l->port ? l->port % NP : NP, &f, sizeof(f));
			pthread_mutex_unlock(&c->jlock);
			if (ret) {
				snprintf(c->err, c->errlen,
					 "cannot write temporary files in %s: %s", c->tmp,
					 strerror(-ret));
				goto out;
			}
		}
	}
out:
	free(ls);
	free(rs);
	free(xs);
	free(ws);
	free(slot);
	free(cnt);
	free(first);
	free(gs.v);
	return ret;
}

/* The join runs on two threads, each taking the next bucket; the counts are
 * their own, the lists and the failures' spill shared under c->jlock. */
struct jthread {
	struct ctx *c;
	unsigned *next;
	struct rc_counts cnt;
	int ret;
};

static void *join_thread(void *arg)
{
	struct jthread *j = arg;
	unsigned b;

	while (!j->ret && (b = __atomic_fetch_add(j->next, 1, __ATOMIC_RELAXED)) < j->c->nb)
		j->ret = join_bucket(j->c, b, &j->cnt);
	return NULL;
}

int rc_join_all(struct ctx *c)
{
	struct jthread j[2] = {{.c = c}, {.c = c}};
	unsigned next = 0;
	pthread_t th;
	bool threaded;

	j[0].next = j[1].next = &next;
	threaded = !pthread_create(&th, NULL, join_thread, &j[1]);
	join_thread(&j[0]);
	if (threaded)
		pthread_join(th, NULL);
	else
		join_thread(&j[1]);
	for (int t = 0; t < 2; t++) {
		struct rc_counts *d = &c->r->c, *s = &j[t].cnt;

		d->ghosts += s->ghosts;
		d->missing += s->missing;
		d->duplicates += s->duplicates;
		d->recovered += s->recovered;
		d->value_missing += s->value_missing;
		d->value_duplicated += s->value_duplicated;
		d->value_failed += s->value_failed;
		d->value_at_risk += s->value_at_risk;
		for (int i = 0; i < RC_C_MAX; i++)
			for (int k = 0; k < RC_R_MAX; k++)
				d->cells[i][k] += s->cells[i][k];
	}
	return j[0].ret ?: j[1].ret;
}

int rc_join_keys(struct ctx *c, unsigned b)
{
	struct krec *ks = NULL;
	struct {
		uint64_t h;
		uint32_t n, i;
	} *t = NULL;
	size_t nk, cap = 16;
	int ret;

	ret = spill_read(&c->ks, b, sizeof(*ks), (void **)&ks, &nk);
	if (ret || !nk)
		goto out;
	while (cap < 2 * nk)
		cap *= 2;
	t = calloc(cap, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nk; i++) {
		size_t h = ks[i].h & (cap - 1);

		while (t[h].n && (t[h].h != ks[i].h || strcmp(ks[t[h].i].key, ks[i].key)))
			h = (h + 1) & (cap - 1);
		if (!t[h].n) {
			t[h].h = ks[i].h;
			t[h].i = (uint32_t)i;
			c->r->c.keys++;
		}
		if (++t[h].n == 2) {
			c->r->c.duplicate_effects++;
			idlist_add(&c->r->duplicate_keys, ks[i].key, NULL);
		}
	}
out:
	free(ks);
	free(t);
	return ret;
}
