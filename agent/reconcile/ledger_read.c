// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The ledger pass: every ledger record to its id bucket, with per-phase,
 * per-fault-window and per-time-bin statistics on the way.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "hist.h"
#include "ledger.h"
#include "rc_int.h"

/* ---- ledgers ---- */

static enum rc_client client_of(unsigned outcome)
{
	switch (outcome) {
	case FL_OUT_OK:
		return RC_C_OK;
	case FL_OUT_TIMEOUT:
	case FL_OUT_INFLIGHT:
		return RC_C_TIMEOUT;
	case FL_OUT_UNSENT:
		return RC_C_UNSENT;
	default:
		return RC_C_FAILED;
	}
}

/* The ledger in batches: fl_ledger_open checks the header, then a thread
 * inflates the records into a ring of LB_BUFS buffers of LB_N records while
 * the caller takes them (inflating is half the work of the ledger pass). */
#define LB_N	16384
#define LB_BUFS 4
struct lbatch {
	struct fl_ledger_reader *lr;
	struct fl_ledger_hdr hdr;
	struct fl_ledger_rec *v[LB_BUFS];
	ssize_t n[LB_BUFS]; /* records in each filled buffer; 0 end, < 0 error */
	bool full[LB_BUFS];
	unsigned head, tail; /* consumer takes head, producer fills tail */
	size_t i;	     /* next record in v[head] */
	bool have;	     /* the consumer holds v[head] */
	bool threaded, stop;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* How long a request that timed out was waited for: its latency as loadgen
 * measured it (from the scheduled time), else from its own times. */
static uint64_t timeout_latency(const struct fl_ledger_rec *r)
{
	if (r->latency_ns)
		return r->latency_ns;
	return r->done_ns > r->sched_ns ? r->done_ns - r->sched_ns : 0;
}

static ssize_t lb_fill(struct lbatch *b, struct fl_ledger_rec *v)
{
	return fl_ledger_read(b->lr, v, LB_N);
}

static void *lb_producer(void *arg)
{
	struct lbatch *b = arg;

	for (;;) {
		unsigned t;
		ssize_t n;

		pthread_mutex_lock(&b->lock);
		while (b->full[b->tail] && !b->stop)
			pthread_cond_wait(&b->cond, &b->lock);
		t = b->tail;
		pthread_mutex_unlock(&b->lock);
		if (b->stop)
			break;
		n = lb_fill(b, b->v[t]);
		pthread_mutex_lock(&b->lock);
		b->n[t] = n;
		b->full[t] = true;
		b->tail = (t + 1) % LB_BUFS;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		if (n <= 0)
			break;
	}
	return NULL;
}

static void lb_close(struct lbatch *b)
{
	if (b->threaded) {
		pthread_mutex_lock(&b->lock);
		b->stop = true;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->th, NULL);
	}
	if (b->threaded || b->lr) {
		pthread_mutex_destroy(&b->lock);
		pthread_cond_destroy(&b->cond);
	}
	fl_ledger_close(b->lr);
	for (int i = 0; i < LB_BUFS; i++)
		free(b->v[i]);
	memset(b, 0, sizeof(*b));
}

static int lb_open(const char *path, struct lbatch *b)
{
	int ret;

	memset(b, 0, sizeof(*b));
	ret = fl_ledger_open(path, &b->lr, &b->hdr);
	if (ret)
		return ret;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	for (int i = 0; i < LB_BUFS; i++) {
		b->v[i] = malloc(LB_N * sizeof(*b->v[i]));
		if (!b->v[i]) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	b->i = 0;
	b->threaded = !pthread_create(&b->th, NULL, lb_producer, b);
	return 0;
fail:
	lb_close(b);
	return ret;
}

/* Takes the next buffer from the producer (or fills it without one). */
static int lb_next_slow(struct lbatch *b, const struct fl_ledger_rec **rec)
{
	unsigned h = b->head;

	if (b->have) {
		if (b->n[h] <= 0)
			return (int)b->n[h]; /* the end, or an error: for good */
		pthread_mutex_lock(&b->lock);
		b->full[h] = false;
		b->head = h = (h + 1) % LB_BUFS;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		b->have = false;
	}
	if (b->threaded) {
		pthread_mutex_lock(&b->lock);
		while (!b->full[h])
			pthread_cond_wait(&b->cond, &b->lock);
		pthread_mutex_unlock(&b->lock);
	} else {
		b->n[h] = lb_fill(b, b->v[h]);
	}
	b->have = true;
	b->i = 0;
	if (b->n[h] <= 0)
		return (int)b->n[h];
	*rec = &b->v[h][b->i++];
	return 1;
}

/* 1 with a record, 0 at the end, -EIO when truncated or corrupt. */
static inline int lb_next(struct lbatch *b, const struct fl_ledger_rec **rec)
{
	if (b->have && b->i < (size_t)b->n[b->head]) {
		*rec = &b->v[b->head][b->i++];
		return 1;
	}
	return lb_next_slow(b, rec);
}

/* The service of load instance s from its URL: "host:port" as text, and
 * the address and port that stand for the request's peer when a record has
 * no 5-tuple (version 1): a host name matches any address, a port left out
 * is the scheme's. */
static void url_service(struct ctx *c, unsigned s, const char *url0)
{
	char url[sizeof(((struct fl_ledger_hdr *)0)->url) + 1];
	const char *h = url, *e, *colon = NULL;
	uint8_t fam, a[16];
	unsigned port = 0;

	snprintf(url, sizeof(url), "%.*s", (int)sizeof(((struct fl_ledger_hdr *)0)->url), url0);
	c->url_addr[s] = RC_ADDR_ANY;
	if (!strncmp(h, "http://", 7)) {
		h += 7;
		port = 80;
	} else if (!strncmp(h, "https://", 8)) {
		h += 8;
		port = 443;
	}
	e = h + strcspn(h, "/?#");
	if (*h == '[') { /* [v6]:port */
		const char *rb = memchr(h, ']', (size_t)(e - h));

		if (rb) {
			if (!rc_addr_parse(h + 1, (size_t)(rb - h - 1), &fam, a))
				c->url_addr[s] = rc_addr_find(&c->addrs, fam, a, 0);
			colon = rb + 1 < e && rb[1] == ':' ? rb + 1 : NULL;
		}
	} else {
		colon = memchr(h, ':', (size_t)(e - h));
		if (!rc_addr_parse(h, (size_t)((colon ? colon : e) - h), &fam, a))
			c->url_addr[s] = rc_addr_find(&c->addrs, fam, a, 0);
	}
	if (colon) {
		port = 0;
		for (const char *q = colon + 1; q < e && *q >= '0' && *q <= '9' && port < 65536;
		     q++)
			port = port * 10 + (unsigned)(*q - '0');
	}
	c->url_port[s] = port < 65536 ? (uint16_t)port : 0;
	snprintf(c->url_svc[s], sizeof(c->url_svc[s]), "%.*s", (int)(e - h), h);
}

/* The ledgers' headers, before any record: the run's start fixes the time
 * bins, and each names its load instance. */
int rc_read_headers(struct ctx *c)
{
	struct rc_result *r = c->r;
	struct fl_ledger_reader *lr = NULL;
	struct fl_ledger_hdr hdr;
	uint64_t t0 = UINT64_MAX;
	int ret = 0;

	c->url_svc = calloc(c->in->n_ledgers, sizeof(*c->url_svc));
	c->url_addr = calloc(c->in->n_ledgers, sizeof(*c->url_addr));
	c->url_port = calloc(c->in->n_ledgers, sizeof(*c->url_port));
	if (!c->url_svc || !c->url_addr || !c->url_port)
		return -ENOMEM;
	for (size_t i = 0; i < c->in->n_ledgers; i++) {
		ret = fl_ledger_open(c->in->ledgers[i], &lr, &hdr);
		if (ret) {
			snprintf(c->err, c->errlen, "cannot read ledger %s: %s", c->in->ledgers[i],
				 ret == -EPROTO ? "not a loadgen ledger (or another version)"
						: strerror(-ret));
			return ret;
		}
		fl_ledger_close(lr);
		lr = NULL;
		if (hdr.start_wall_ns < t0)
			t0 = hdr.start_wall_ns;
		if (src_find(c, hdr.run_id, hdr.instance, -1) < 0) {
			if (c->n_src >= MAX_SRC) {
				snprintf(c->err, c->errlen, "more than %d load instances", MAX_SRC);
				return -E2BIG;
			}
			c->src[c->n_src].run_id = hdr.run_id;
			c->src[c->n_src].instance = hdr.instance;
			url_service(c, c->n_src++, hdr.url);
		}
	}
	c->t0 = t0;
	r->series.width_ns = 1000000000ULL;
	r->series.t0_ns = t0 == UINT64_MAX ? 0 : t0 - t0 % r->series.width_ns;
	r->first_wall_ns = UINT64_MAX;
	/* per-window statistics for the first MAX_FAULT_HISTS faults that had
	 * not ended before the run began (a scan per request: a bounded one) */
	for (size_t k = 0; k < r->n_faults && c->n_win < MAX_FAULT_HISTS; k++) {
		struct rc_fault *f = &r->faults[k];

		if (f->start_ns == UINT64_MAX || (f->end_ns != UINT64_MAX && f->end_ns < t0))
			continue;
		f->h = hist_new();
		if (!f->h)
			return -ENOMEM;
		c->win[c->n_win++] = (uint32_t)k;
	}
	return rc_recovery_setup(c);
}

int rc_read_ledgers(struct ctx *c)
{
	struct lbatch lb = {0};
	struct rc_result *r = c->r;
	const struct fl_ledger_rec *rp = NULL;
	int ret = 0, hint = -1;

	for (size_t i = 0; i < c->in->n_ledgers; i++) {
		const char *path = c->in->ledgers[i];
		uint64_t n = 0;

		ret = lb_open(path, &lb);
		if (ret) {
			snprintf(c->err, c->errlen, "cannot read ledger %s: %s", path,
				 strerror(-ret));
			goto out;
		}
		while ((ret = lb_next(&lb, &rp)) == 1) {
			const struct fl_ledger_rec rec = *rp;

			enum rc_client cl = client_of(rec.outcome);
			uint64_t wall = rec.sched_wall_ns, hi;
			bool answered = rec.outcome == FL_OUT_OK || rec.outcome == FL_OUT_STATUS;
			uint8_t inflight = rec.outcome == FL_OUT_INFLIGHT;
			uint64_t gave_up = 0;
			struct lrec l;
			struct rc_bin *bin;
			unsigned bucket;

			n++;
			if (rec.outcome == 0 || rec.outcome >= FL_OUT_MAX) {
				snprintf(c->err, c->errlen,
					 "ledger %s record %llu: invalid outcome %u (a corrupt "
					 "ledger?)",
					 path, (unsigned long long)n, rec.outcome);
				ret = -EINVAL;
				goto out;
			}
			r->c.requests++;
			if (rec.done_ns && rec.done_ns >= rec.sched_ns)
				hi = wall + (rec.done_ns - rec.sched_ns);
			else if (cl == RC_C_TIMEOUT)
				hi = UINT64_MAX / 2; /* still in flight: until the end */
			else
				hi = wall + rec.latency_ns;
			if (wall < r->first_wall_ns)
				r->first_wall_ns = wall;
			if (wall > r->last_wall_ns)
				r->last_wall_ns = wall;
			hint = src_find(c, rec.run_id, rec.instance, hint);
			if (hint < 0) {
				char id[RC_ID_LEN];

				rc_fmt_id(id, rec.run_id, rec.instance, rec.seq);
				snprintf(c->err, c->errlen,
					 "ledger %s record %llu: id %s is not of the instance its "
					 "header names (a corrupt or concatenated ledger?)",
					 path, (unsigned long long)n, id);
				ret = -EINVAL;
				goto out;
			}
			l = (struct lrec){.seq = rec.seq,
					  .src = (uint16_t)hint,
					  .port = rec.local_port,
					  .client = (uint8_t)cl,
					  .inflight = inflight,
					  .mix = rec.mix};
			bucket = (unsigned)(src_hash((unsigned)hint, rec.seq) >> c->nb_shift);
			ret = spill_put(&c->ls, bucket, &l, sizeof(l));
			if (!ret && (cl == RC_C_FAILED || (cl == RC_C_TIMEOUT && !inflight))) {
				struct wrec w = {
				    .lo = wall > c->in->slack_ns ? wall - c->in->slack_ns : 0,
				    .hi = hi + c->in->slack_ns,
				    .cookie = rec.sock_cookie,
				    .latency_ns = rec.latency_ns,
				    .err = rec.err,
				    .status = rec.status,
				    .outcome = rec.outcome};

				if (rec.family) {
					w.laddr =
					    rc_addr_find(&c->addrs, rec.family, rec.local_addr, 0);
					w.paddr =
					    rc_addr_find(&c->addrs, rec.family, rec.peer_addr, 0);
					w.pport = rec.peer_port;
				} else {
					/* no 5-tuple: the URL's, and any local address */
					w.laddr = RC_ADDR_ANY;
					w.paddr = c->url_addr[hint];
					w.pport = c->url_port[hint];
				}

				ret = spill_put(&c->ws, bucket, &w, sizeof(w));
			}
			if (ret) {
				snprintf(c->err, c->errlen,
					 "cannot write temporary files in %s: %s", c->tmp,
					 strerror(-ret));
				goto out;
			}
			if (cl == RC_C_UNSENT) {
				r->c.unsent++;
				continue;
			}
			r->c.sent++;
			c->phase_req[rec.phase]++;
			if (!c->phase_h[rec.phase]) {
				c->phase_h[rec.phase] = hist_new();
				if (!c->phase_h[rec.phase]) {
					ret = -ENOMEM;
					goto out;
				}
			}
			ret = rc_series_bin(&r->series, wall, &bin);
			if (ret)
				goto out;
			bin->sent++;
			if (answered) {
				r->c.answered++;
				bin->answered++;
				hist_record(c->all_h, rec.latency_ns);
				hist_record(c->answered_h, rec.latency_ns);
				hist_record(c->phase_h[rec.phase], rec.latency_ns);
				lh_record(bin->lh, rec.latency_ns);
			} else if (cl == RC_C_TIMEOUT && (gave_up = timeout_latency(&rec))) {
				/* What a user waited before giving up: at least
				 * that, so a percentile inside an outage is not
				 * the survivors' alone. */
				hist_record_censored(c->all_h, gave_up, 1);
				hist_record_censored(c->phase_h[rec.phase], gave_up, 1);
			}
			if (cl == RC_C_OK) {
				r->c.ok++;
				bin->ok++;
			} else if (inflight) {
				r->c.inflight++; /* the run ended first: no failure */
			} else {
				r->c.failed++;
				bin->failed++;
				c->phase_failed[rec.phase]++;
				if (cl == RC_C_TIMEOUT)
					r->c.timed_out++;
			}
			for (size_t k = 0; k < c->n_win; k++) {
				struct rc_fault *f = &r->faults[c->win[k]];

				if (!inflight)
					rc_recovery_add(f, wall, cl != RC_C_OK);
				if (wall < f->start_ns || wall >= f->end_ns)
					continue;
				f->requests++;
				if (cl != RC_C_OK && !inflight)
					f->failed++;
				if (answered && f->h)
					hist_record(f->h, rec.latency_ns);
				else if (gave_up && f->h)
					hist_record_censored(f->h, gave_up, 1);
			}
		}
		if (ret < 0) {
			snprintf(c->err, c->errlen,
				 "ledger %s: truncated or corrupt after %llu records (was loadgen "
				 "killed?)",
				 path, (unsigned long long)n);
			goto out;
		}
		ret = 0;
		lb_close(&lb);
	}
out:
	lb_close(&lb);
	return ret;
}
