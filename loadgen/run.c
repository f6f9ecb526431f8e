// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "lg_probes.h"
#include "lg_run.h"

#define NS_PER_SEC   1000000000ULL
#define TIMEOUT_SCAN (10 * 1000000ULL)
#define MAX_WAIT     (10 * 1000000ULL)

static void ledger_flush(struct lg_thread *t)
{
	int err;

	if (!t->nl)
		return;
	err = fl_ledger_write(t->run->ledger, t->lbuf, t->nl);
	if (err && !t->err) {
		t->err = err;
		fl_err("cannot write ledger %s: %s", t->run->cfg->ledger_path, strerror(-err));
	}
	t->nl = 0;
}

static void ledger_add(struct lg_thread *t, const struct lg_slot *s, unsigned outcome,
		       unsigned status, int err, uint64_t done, uint64_t latency)
{
	const struct lg_config *c = t->run->cfg;
	struct fl_ledger_rec *r;

	if (!t->lbuf)
		return;
	r = &t->lbuf[t->nl++];
	memset(r, 0, sizeof(*r));
	r->run_id = c->run_id;
	r->instance = c->instance;
	r->seq = s->seq;
	r->sched_ns = s->sched_ns;
	r->sent_ns = s->sent_ns;
	r->done_ns = done;
	r->sched_wall_ns = t->run->start_wall + (s->sched_ns - t->run->start_mono);
	r->latency_ns = latency;
	r->bytes_out = s->bytes_out;
	r->bytes_in = s->bytes_in;
	r->conn = s >= t->slots && s < t->slots + t->cap ? t->slot_base + (uint32_t)(s - t->slots)
							 : FL_CONN_NONE;
	r->err = err;
	r->status = (uint16_t)status;
	r->local_port = s->lport;
	r->sock_cookie = s->cookie;
	memcpy(r->local_addr, s->addrs.laddr, sizeof(r->local_addr));
	memcpy(r->peer_addr, s->addrs.paddr, sizeof(r->peer_addr));
	r->peer_port = s->addrs.pport;
	r->family = s->addrs.family;
	r->mix = s->mix;
	r->outcome = (uint8_t)outcome;
	r->phase = s->phase;
	r->flags = s->flags;
	if (t->nl == LEDGER_BATCH)
		ledger_flush(t);
}

static void queue_push(struct lg_thread *t, unsigned i)
{
	t->queue[(t->qhead + t->qlen) % t->cap] = i;
	t->qlen++;
}

void lg_complete(struct lg_thread *t, unsigned i, unsigned outcome, unsigned status, int err,
		 uint64_t now)
{
	const struct lg_config *c = t->run->cfg;
	struct lg_slot *s = &t->slots[i];
	uint64_t lat;

	if (!s->busy)
		return;
	s->busy = false;
	t->busy--;
	lat = now - (c->open ? s->sched_ns : s->sent_ns);
	if (now >= t->ival_end)
		ival_publish(t, now); /* each answer counts in the second it came */
	if (outcome == FL_OUT_OK || outcome == FL_OUT_STATUS) {
		hist_record(t->lat, lat);
		hist_record(t->svc, now - s->sent_ns);
		hist_record(t->ival, lat);
	} else if (outcome == FL_OUT_TIMEOUT) {
		/* it gave up at lat: its latency is that or more */
		hist_record_censored(t->lat, lat, 1);
		hist_record_censored(t->ival, lat, 1);
	}
	t->cnt.out[outcome]++;
	t->cnt.bytes_in += s->bytes_in;
	t->cnt.bytes_out += s->bytes_out;
	t->ival_cnt.out[outcome]++;
	LG_PROBE_END(c->run_id, c->instance, s->seq, s->lport, s->cookie, status, outcome, err);
	ledger_add(t, s, outcome, status, err, now, lat);
	s->ready_ns = now + (c->open ? 0 : c->think_ns);
	queue_push(t, i);
}

size_t lg_req_var(struct lg_thread *t, unsigned i, char *var)
{
	const struct lg_reqs *rs = &t->run->cfg->reqs;
	struct lg_slot *s = &t->slots[i];
	const struct lg_req *r = &rs->r[s->mix];
	const char *key = NULL;

	if (r->idem_header)
		key = (s->flags & FL_REC_DUP) ? t->twin_key : s->id;
	return req_var(rs, r, var, s->id, key);
}

/* fl_req_id_format() without printf: the prefix is made once per run. */
static void format_id(const struct lg_run *run, char *id, uint64_t seq)
{
	char digits[20];
	int n = 0;

	memcpy(id, run->id_prefix, run->id_prefix_len);
	do {
		digits[n++] = (char)('0' + seq % 10);
		seq /= 10;
	} while (seq);
	id += run->id_prefix_len;
	while (n)
		*id++ = digits[--n];
	*id = '\0';
}

static bool take_seq(struct lg_thread *t, uint64_t *seq)
{
	uint64_t lim = t->run->cfg->requests, s;

	if (t->exhausted)
		return false;
	s = atomic_fetch_add_explicit(&t->run->seq, 1, memory_order_relaxed);
	if (lim && s >= lim) {
		t->exhausted = true;
		return false;
	}
	*seq = s;
	return true;
}

/* The open model's next request: when it is due (a pending twin first). */
static uint64_t open_next(struct lg_thread *t)
{
	return t->twin ? t->twin_sched : sched_peek(&t->sched);
}

/* The population model: the open model where every request is its own
 * client (the pool grows, the deadline counts from the scheduled time). */
static bool population(const struct lg_config *c)
{
	return c->open && !c->fixed_pool;
}

/* Takes the next request (its sequence number and what it is) into s, due
 * at sched; false when the --requests budget is used up. */
static bool take_request(struct lg_thread *t, struct lg_slot *s, uint64_t sched)
{
	const struct lg_config *c = t->run->cfg;
	uint64_t seq;

	if (!take_seq(t, &seq))
		return false;
	if (t->twin) {
		s->mix = t->twin_mix;
		s->phase = t->twin_phase;
		s->flags = FL_REC_DUP;
		t->twin = false;
	} else {
		s->mix = (uint16_t)reqs_pick(&c->reqs, rng_next(&t->rng));
		s->phase = c->open ? (uint8_t)t->sched.phase : 0;
		s->flags = 0;
		if (c->open)
			sched_advance(&t->sched);
	}
	s->seq = seq;
	s->sched_ns = sched;
	format_id(t->run, s->id, seq);
	if (c->reqs.r[s->mix].idem_header && !s->flags) {
		/* the duplicate race: the same key again, at the same time */
		t->twin = true;
		t->twin_mix = s->mix;
		t->twin_sched = sched;
		t->twin_phase = s->phase;
		memcpy(t->twin_key, s->id, sizeof(t->twin_key));
	}
	return true;
}

/* Sends the request taken into slot i. */
static void start(struct lg_thread *t, unsigned i, uint64_t now)
{
	const struct lg_config *c = t->run->cfg;
	struct lg_slot *s = &t->slots[i];

	s->sent_ns = now;
	if (c->open && now > s->sched_ns) {
		/* behind schedule: every connection was busy */
		if (now - s->sched_ns > t->cnt.max_lag)
			t->cnt.max_lag = now - s->sched_ns;
		if (now - s->sched_ns >= 1000000)
			t->cnt.late++;
	}
	s->deadline_ns = 0;
	if (c->timeout_ns)
		s->deadline_ns = (population(c) ? s->sched_ns : now) + c->timeout_ns;
	s->bytes_in = s->bytes_out = 0;
	s->busy = true;
	t->busy++;
	LG_PROBE_BEGIN(c->run_id, c->instance, s->seq, s->lport, s->cookie);
	t->run->eng->send(t, i, now);
}

/* A request whose deadline passed before a connection was free for it:
 * a timeout that was never sent, its latency censored at the timeout. */
static void expire(struct lg_thread *t, uint64_t sched, uint64_t now)
{
	uint64_t to = t->run->cfg->timeout_ns;
	struct lg_slot tmp;

	memset(&tmp, 0, sizeof(tmp));
	if (!take_request(t, &tmp, sched))
		return;
	if (now >= t->ival_end)
		ival_publish(t, now);
	hist_record_censored(t->lat, to, 1);
	hist_record_censored(t->ival, to, 1);
	t->cnt.out[FL_OUT_TIMEOUT]++;
	t->cnt.never_sent++;
	t->ival_cnt.out[FL_OUT_TIMEOUT]++;
	ledger_add(t, &tmp, FL_OUT_TIMEOUT, 0, ETIMEDOUT, sched + to, to);
}

static void queue_pop(struct lg_thread *t)
{
	t->qhead = (t->qhead + 1) % t->cap;
	t->qlen--;
}

/* Closed model and --model wrk2: a fixed pool; a request waits for a free
 * connection however long that takes. */
static void dispatch_fixed(struct lg_thread *t, uint64_t now)
{
	const struct lg_config *c = t->run->cfg;
	unsigned rounds = t->nslots + 64;

	while (t->qlen && rounds--) {
		unsigned i = t->queue[t->qhead];
		struct lg_slot *s = &t->slots[i];
		uint64_t sched;

		if (s->ready_ns > now)
			break;
		if (t->twin) {
			sched = t->twin_sched;
		} else if (c->open) {
			sched = sched_peek(&t->sched);
			if (sched > now || (t->run->deadline && sched >= t->run->deadline))
				break;
		} else {
			/* a user is due when its think time is over; the first time, now */
			sched = c->think_ns && s->ready_ns ? s->ready_ns : now;
		}
		if (!take_request(t, s, sched))
			break;
		queue_pop(t);
		start(t, i, now);
	}
}

/* The population model: a due request takes a free connection, or a new
 * one while the pool is below --max-connections; one whose deadline has
 * passed fails without being sent. */
static void dispatch_population(struct lg_thread *t, uint64_t now)
{
	const struct lg_config *c = t->run->cfg;
	unsigned rounds = t->cap + 64;

	while (rounds-- && !t->exhausted) {
		uint64_t sched = open_next(t);
		unsigned i;

		if (!t->twin && (sched > now || (t->run->deadline && sched >= t->run->deadline)))
			break;
		if (c->timeout_ns && sched + c->timeout_ns <= now) {
			expire(t, sched, now);
			continue;
		}
		if (!t->qlen) {
			if (t->nslots == t->cap)
				break; /* the pool is at its ceiling: wait for one, or the deadline
					*/
			queue_push(t, t->nslots++);
		}
		i = t->queue[t->qhead];
		if (!take_request(t, &t->slots[i], sched))
			break;
		queue_pop(t);
		start(t, i, now);
	}
}

static void dispatch(struct lg_thread *t, uint64_t now)
{
	if (population(t->run->cfg))
		dispatch_population(t, now);
	else
		dispatch_fixed(t, now);
}

/* When the loop must look again at the latest (it also wakes on events). */
static uint64_t next_wake(struct lg_thread *t, uint64_t now)
{
	const struct lg_config *c = t->run->cfg;
	uint64_t until = now + MAX_WAIT, next;

	if (t->exhausted)
		return until;
	if (population(c)) {
		next = open_next(t);
		if (next <= now) /* due, no connection to be had: its deadline */
			next = c->timeout_ns ? next + c->timeout_ns : until;
	} else if (t->qlen) {
		next = t->slots[t->queue[t->qhead]].ready_ns;
		if (c->open && !t->twin && sched_peek(&t->sched) > next)
			next = sched_peek(&t->sched);
	} else {
		return until;
	}
	return next < until ? next : until;
}

/* ---- the load thread ---- */

static void finish(struct lg_thread *t, uint64_t end)
{
	const struct lg_config *c = t->run->cfg;
	struct lg_slot tmp;
	unsigned i;

	for (i = 0; i < t->nslots; i++) {
		struct lg_slot *s = &t->slots[i];

		if (!s->busy)
			continue;
		s->busy = false;
		t->busy--;
		t->cnt.out[FL_OUT_INFLIGHT]++;
		LG_PROBE_END(c->run_id, c->instance, s->seq, s->lport, s->cookie, 0,
			     FL_OUT_INFLIGHT, 0);
		ledger_add(t, s, FL_OUT_INFLIGHT, 0, 0, 0, 0);
	}
	/* the open model's schedule up to the end: what was never sent */
	while (c->open && !t->exhausted) {
		uint64_t sched = open_next(t);

		if (!t->twin && sched >= end)
			break;
		if (population(c) && c->timeout_ns && sched + c->timeout_ns <= end) {
			expire(t, sched, end);
			continue;
		}
		memset(&tmp, 0, sizeof(tmp));
		if (!take_request(t, &tmp, sched))
			break;
		t->cnt.out[FL_OUT_UNSENT]++;
		ledger_add(t, &tmp, FL_OUT_UNSENT, 0, 0, 0, 0);
	}
}

static void *thread_main(void *arg)
{
	struct lg_thread *t = arg;
	struct lg_run *run = t->run;
	uint64_t now, end, last_scan = 0;
	int err;

	err = run->eng->init(t);
	if (err) {
		fl_err("cannot start the %s engine: %s", run->eng->name, strerror(-err));
		t->err = err;
		run->eng->fini(t);
		atomic_store(&run->stop, 1);
		ival_leave(t);
		return NULL;
	}
	t->ival_end = run->start_mono + NS_PER_SEC;
	for (;;) {
		uint64_t until;

		now = now_mono_ns();
		if (atomic_load_explicit(&run->stop, memory_order_relaxed)) {
			end = now;
			break;
		}
		if (run->deadline && now >= run->deadline) {
			end = run->deadline;
			break;
		}
		if (now >= t->ival_end)
			ival_publish(t, now);
		if (now - last_scan >= TIMEOUT_SCAN) {
			run->eng->timeouts(t, now);
			last_scan = now;
		}
		dispatch(t, now);
		if (t->exhausted && !t->busy) {
			end = now;
			break;
		}
		until = next_wake(t, now);
		if (run->deadline && run->deadline < until)
			until = run->deadline;
		err = run->eng->wait(t, until);
		if (err) {
			t->err = err;
			end = now_mono_ns();
			atomic_store(&run->stop, 1);
			break;
		}
	}
	finish(t, end);
	run->eng->fini(t);
	ival_publish(t, now_mono_ns());
	ledger_flush(t);
	ival_leave(t);
	return NULL;
}

int run_init(struct lg_run *run, const struct lg_config *cfg)
{
	unsigned i, per, extra, base = 0;

	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	run->eng = cfg->engine == ENGINE_CURL ? &lg_engine_curl : &lg_engine_fast;
	pthread_mutex_init(&run->ival_lock, NULL);
	run->threads = calloc(cfg->threads, sizeof(*run->threads));
	run->lat = hist_new();
	run->svc = hist_new();
	if (!run->threads || !run->lat || !run->svc)
		return -ENOMEM;
	for (i = 0; i < IVAL_RING; i++) {
		run->ring[i].h = hist_new();
		if (!run->ring[i].h)
			return -ENOMEM;
	}
	per = cfg->conns / cfg->threads;
	extra = cfg->conns % cfg->threads;
	for (i = 0; i < cfg->threads; i++) {
		struct lg_thread *t = &run->threads[i];
		unsigned maxc = cfg->max_conns > cfg->conns ? cfg->max_conns : cfg->conns;

		t->run = run;
		t->idx = i;
		t->nslots = per + (i < extra);
		t->cap = t->nslots;
		if (population(cfg))
			t->cap = maxc / cfg->threads + (i < maxc % cfg->threads);
		if (t->cap < t->nslots)
			t->cap = t->nslots;
		t->slot_base = base;
		base += t->cap;
		t->slots = calloc(t->cap, sizeof(*t->slots));
		t->queue = calloc(t->cap, sizeof(*t->queue));
		t->lat = hist_new();
		t->svc = hist_new();
		t->ival = hist_new();
		if (cfg->ledger_path)
			t->lbuf = malloc(LEDGER_BATCH * sizeof(*t->lbuf));
		if (!t->slots || !t->queue || !t->lat || !t->svc || !t->ival ||
		    (cfg->ledger_path && !t->lbuf))
			return -ENOMEM;
		t->rng = (cfg->run_id ^ (0x9E3779B97F4A7C15ULL * (i + 1))) | 1;
	}
	return 0;
}

int run_exec(struct lg_run *run)
{
	const struct lg_config *c = run->cfg;
	unsigned i, k, started = 0;
	int err = 0;

	run->id_prefix_len =
	    (unsigned)snprintf(run->id_prefix, sizeof(run->id_prefix), "%016llx-%u-",
			       (unsigned long long)c->run_id, c->instance);
	run->start_mono = now_mono_ns();
	run->start_wall = now_wall_ns();
	run->deadline = c->duration_ns ? run->start_mono + c->duration_ns : 0;
	if (c->ledger_path) {
		struct fl_ledger_hdr h;
		char host[64] = "";

		memset(&h, 0, sizeof(h));
		memcpy(h.magic, FL_LEDGER_MAGIC, 8);
		h.version = FL_LEDGER_VERSION;
		h.hdr_size = sizeof(h);
		h.rec_size = sizeof(struct fl_ledger_rec);
		h.instance = c->instance;
		h.run_id = c->run_id;
		h.start_mono_ns = run->start_mono;
		h.start_wall_ns = run->start_wall;
		snprintf(h.url, sizeof(h.url), "%s", c->url_text);
		gethostname(host, sizeof(host) - 1);
		memcpy(h.host, host, sizeof(h.host));
		err = fl_ledger_create(c->ledger_path, &h, &run->ledger);
		if (err) {
			fl_err("cannot create ledger %s: %s", c->ledger_path, strerror(-err));
			return err;
		}
	}
	if (c->interval_path) {
		run->ival_log = fopen(c->interval_path, "w");
		if (!run->ival_log) {
			err = -errno;
			fl_err("cannot create interval log %s: %s", c->interval_path,
			       strerror(errno));
			fl_ledger_finish(run->ledger, NULL);
			run->ledger = NULL;
			return err;
		}
	}
	run->active = c->threads;
	for (i = 0; i < c->threads; i++) {
		struct lg_thread *t = &run->threads[i];

		for (k = 0; k < t->nslots; k++)
			t->queue[k] = k;
		t->qlen = t->nslots;
		if (c->open)
			sched_init(&t->sched, &c->prof, c->arrival, 1.0 / c->threads,
				   run->start_mono, t->rng);
	}
	for (i = 0; i < c->threads; i++) {
		err = -pthread_create(&run->threads[i].tid, NULL, thread_main, &run->threads[i]);
		if (err) {
			fl_err("cannot start thread: %s", strerror(-err));
			atomic_store(&run->stop, 1);
			pthread_mutex_lock(&run->ival_lock);
			run->active -= c->threads - i;
			pthread_mutex_unlock(&run->ival_lock);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(run->threads[i].tid, NULL);
	run->end_mono = now_mono_ns();
	if (run->deadline && run->end_mono > run->deadline && !run->broke)
		run->end_mono = run->deadline;
	for (i = 0; i < started; i++) {
		struct lg_thread *t = &run->threads[i];

		hist_merge(run->lat, t->lat);
		hist_merge(run->svc, t->svc);
		for (k = 0; k < FL_OUT_MAX; k++)
			run->cnt.out[k] += t->cnt.out[k];
		run->cnt.bytes_in += t->cnt.bytes_in;
		run->cnt.bytes_out += t->cnt.bytes_out;
		run->cnt.late += t->cnt.late;
		run->cnt.never_sent += t->cnt.never_sent;
		run->conns_peak += t->nslots;
		if (t->cnt.max_lag > run->cnt.max_lag)
			run->cnt.max_lag = t->cnt.max_lag;
		if (t->err && !err)
			err = t->err;
	}
	if (c->progress == PROGRESS_TTY)
		printf("\n");
	if (run->ival_log && fclose(run->ival_log) && !err)
		err = -EIO;
	run->ival_log = NULL;
	if (run->ledger) {
		int e = fl_ledger_finish(run->ledger, &run->ledger_bytes);

		run->ledger = NULL;
		if (e && !err) {
			fl_err("cannot write ledger %s: %s", c->ledger_path, strerror(-e));
			err = e;
		}
	}
	return err;
}

void run_stop(struct lg_run *run)
{
	atomic_store(&run->stop, 1);
}

void run_free(struct lg_run *run)
{
	unsigned i;

	for (i = 0; run->threads && i < run->cfg->threads; i++) {
		struct lg_thread *t = &run->threads[i];

		free(t->slots);
		free(t->queue);
		hist_free(t->lat);
		hist_free(t->svc);
		hist_free(t->ival);
		free(t->lbuf);
	}
	free(run->threads);
	for (i = 0; i < IVAL_RING; i++)
		hist_free(run->ring[i].h);
	hist_free(run->lat);
	hist_free(run->svc);
	pthread_mutex_destroy(&run->ival_lock);
}

int ledger_verify(const char *path, uint64_t n, uint64_t counts[FL_OUT_MAX], char *msg,
		  size_t msglen)
{
	struct fl_ledger_reader *r = NULL;
	struct fl_ledger_hdr h;
	struct fl_ledger_rec rec;
	uint64_t *seen = NULL, records = 0, dups = 0, strays = 0, missing = 0, i;
	int err, bad_outcome = 0;

	memset(counts, 0, FL_OUT_MAX * sizeof(counts[0]));
	err = fl_ledger_open(path, &r, &h);
	if (err) {
		snprintf(msg, msglen, "cannot read ledger %s: %s", path, strerror(-err));
		return err;
	}
	seen = calloc(n / 64 + 1, sizeof(*seen));
	if (!seen) {
		err = -ENOMEM;
		goto cleanup;
	}
	while ((err = fl_ledger_next(r, &rec)) == 1) {
		records++;
		if (rec.outcome == 0 || rec.outcome >= FL_OUT_MAX)
			bad_outcome++;
		else
			counts[rec.outcome]++;
		if (rec.seq >= n || rec.run_id != h.run_id || rec.instance != h.instance) {
			strays++;
			continue;
		}
		if (seen[rec.seq / 64] & (1ULL << (rec.seq % 64)))
			dups++;
		seen[rec.seq / 64] |= 1ULL << (rec.seq % 64);
	}
	if (err < 0) {
		snprintf(msg, msglen, "ledger %s is truncated or corrupt after %llu records", path,
			 (unsigned long long)records);
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		if (!(seen[i / 64] & (1ULL << (i % 64))))
			missing++;
	err = (int)((missing + dups + strays + bad_outcome) > 0 ? 1 : 0);
	if (err)
		snprintf(msg, msglen,
			 "conservation BROKEN: %llu records for %llu scheduled ids: %llu missing, "
			 "%llu duplicated, %llu unknown, %d without outcome",
			 (unsigned long long)records, (unsigned long long)n,
			 (unsigned long long)missing, (unsigned long long)dups,
			 (unsigned long long)strays, bad_outcome);
	else
		snprintf(msg, msglen, "conservation ok: %llu scheduled ids, each exactly once",
			 (unsigned long long)n);
cleanup:
	free(seen);
	fl_ledger_close(r);
	return err;
}
