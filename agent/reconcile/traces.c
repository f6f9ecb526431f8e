// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The join of per-request kernel traces with the ledger (traces.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "reconcile.h"
#include "traces.h"

#define TR_LINE		   4096
#define TR_REASONS	   256 /* distinct drop reason names at most */
#define FL_RQ_CONNECT_FLAG 4   /* enum fl_rq_flags (bpf/reqtrace.h) */

const char *const rc_stage_names[RC_ST_MAX] = {
    [RC_ST_CONNECT] = "connect", [RC_ST_SEND] = "send", [RC_ST_WIRE] = "wire_service",
    [RC_ST_RECV] = "receive",	 [RC_ST_RUNQ] = "runq", [RC_ST_CLIENT] = "client",
};

struct rc_traces *rc_traces_new(unsigned top, unsigned cap)
{
	struct rc_traces *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->top = top;
	t->cap = cap;
	t->slow = calloc(top ? top : 1, sizeof(*t->slow));
	t->failed = calloc(cap ? cap : 1, sizeof(*t->failed));
	t->faulted = calloc(cap ? cap : 1, sizeof(*t->faulted));
	t->reasons = calloc(TR_REASONS, sizeof(*t->reasons));
	t->reason_reqs = calloc(TR_REASONS, sizeof(*t->reason_reqs));
	if (!t->slow || !t->failed || !t->faulted || !t->reasons || !t->reason_reqs) {
		rc_traces_free(t);
		return NULL;
	}
	return t;
}

void rc_traces_free(struct rc_traces *t)
{
	if (!t)
		return;
	free(t->recs);
	free(t->slow);
	free(t->failed);
	free(t->faulted);
	free(t->reasons);
	free(t->reason_reqs);
	free(t);
}

/* The index of a reason name (only [A-Z0-9_] kept), -1 when full. */
static int reason_index(struct rc_traces *t, const char *name)
{
	char clean[32];
	size_t k = 0;

	for (const char *p = name; *p && k < sizeof(clean) - 1; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
			clean[k++] = *p;
	clean[k] = '\0';
	for (size_t i = 0; i < t->n_reasons; i++)
		if (!strcmp(t->reasons[i], clean))
			return (int)i;
	if (t->n_reasons >= TR_REASONS)
		return -1;
	memcpy(t->reasons[t->n_reasons], clean, k + 1);
	return (int)t->n_reasons++;
}

int rc_traces_add(struct rc_traces *t, const struct rc_trace_rec *r, const char *reason)
{
	if (t->n == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 4096;
		struct rc_trace_rec *v = realloc(t->recs, na * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->recs = v;
		t->alloc = na;
	}
	t->recs[t->n] = *r;
	t->recs[t->n].used = false;
	t->recs[t->n].reason = r->drops && reason ? (int16_t)reason_index(t, reason) : -1;
	t->n++;
	return 0;
}

static uint64_t u64_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v)
							       : 0;
}

/* One line: a record, the header or the end. */
static int load_line(struct rc_traces *t, json_t *o, bool *ended)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	struct rc_trace_rec r = {0};

	if (type && !strcmp(type, "header")) {
		const char *h = json_string_value(json_object_get(o, "hook"));
		const char *f = json_string_value(json_object_get(o, "format"));

		if (!f || strcmp(f, "faultline-reqtrace"))
			return -EPROTO;
		snprintf(t->hook, sizeof(t->hook), "%s", h ? h : "?");
		return 0;
	}
	if (type && !strcmp(type, "end")) {
		t->lost += u64_of(o, "lost");
		t->noslot += u64_of(o, "noslot");
		t->open += u64_of(o, "open");
		*ended = true;
		return 0;
	}
	if (type)
		return 0; /* a later kind of line: skipped */
	r.cookie = u64_of(o, "cookie");
	r.syn_ns = u64_of(o, "syn_ns");
	r.est_ns = u64_of(o, "est_ns");
	r.send_start_ns = u64_of(o, "send_start_ns");
	r.send_end_ns = u64_of(o, "send_end_ns");
	r.rx_first_ns = u64_of(o, "rx_first_ns");
	r.recv_end_ns = u64_of(o, "recv_end_ns");
	r.runq_ns = u64_of(o, "runq_ns");
	r.close_ns = u64_of(o, "close_ns");
	r.retrans = (uint32_t)u64_of(o, "retrans");
	r.retrans_ns = u64_of(o, "retrans_ns");
	r.drop_ns = u64_of(o, "drop_ns");
	r.drops = (uint32_t)u64_of(o, "drops");
	r.drop_code = (uint32_t)u64_of(o, "drop_code");
	r.flags = (uint32_t)u64_of(o, "flags");
	if (!r.cookie)
		return 0; /* a socket whose cookie nobody asked for: loadgen always does */
	return rc_traces_add(t, &r, json_string_value(json_object_get(o, "drop_reason")));
}

/* A record line as agentctl trace requests writes it: one object of
 * "key":unsigned and "key":"string" without escapes. jansson costs about
 * 20 us a line; this, well under 1. Returns 0, or -EPROTO for anything else
 * (the caller then asks jansson). */
static int fast_record(char *p, struct rc_trace_rec *r, char *reason, size_t rlen)
{
	static const struct {
		const char *k;
		size_t off, sz;
	} f[] = {
#define F(name, field)                                                                             \
	{name, offsetof(struct rc_trace_rec, field), sizeof(((struct rc_trace_rec *)0)->field)}
	    F("cookie", cookie),
	    F("syn_ns", syn_ns),
	    F("est_ns", est_ns),
	    F("send_start_ns", send_start_ns),
	    F("send_end_ns", send_end_ns),
	    F("rx_first_ns", rx_first_ns),
	    F("recv_end_ns", recv_end_ns),
	    F("runq_ns", runq_ns),
	    F("close_ns", close_ns),
	    F("retrans", retrans),
	    F("retrans_ns", retrans_ns),
	    F("drops", drops),
	    F("drop_ns", drop_ns),
	    F("drop_code", drop_code),
	    F("flags", flags),
#undef F
	};
	int guard = 64;

	if (*p++ != '{')
		return -EPROTO;
	while (guard-- > 0) {
		char *key, *end;
		size_t klen;

		if (*p++ != '"')
			return -EPROTO;
		key = p;
		p = strchr(p, '"');
		if (!p || p[1] != ':')
			return -EPROTO;
		klen = (size_t)(p - key);
		p += 2;
		if (*p == '"') { /* a string: only drop_reason matters */
			char *v = p + 1, *q = strchr(v, '"');

			if (!q || memchr(v, '\\', (size_t)(q - v)))
				return -EPROTO;
			if (klen == 11 && !memcmp(key, "drop_reason", 11))
				snprintf(reason, rlen, "%.*s", (int)(q - v), v);
			p = q + 1;
		} else {
			unsigned long long v;

			if (*p < '0' || *p > '9')
				return -EPROTO;
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno)
				return -EPROTO;
			p = end;
			for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
				if (strlen(f[i].k) != klen || memcmp(f[i].k, key, klen))
					continue;
				if (f[i].sz == 8)
					*(uint64_t *)((char *)r + f[i].off) = v;
				else
					*(uint32_t *)((char *)r + f[i].off) = (uint32_t)v;
				break;
			}
		}
		if (*p == '}')
			return 0;
		if (*p++ != ',')
			return -EPROTO;
	}
	return -EPROTO;
}

int rc_traces_load(struct rc_traces *t, const char *path, char *err, size_t errlen)
{
	gzFile gz = gzopen(path, "rb");
	char *line = malloc(TR_LINE);
	bool ended = false, header = false;
	unsigned long lineno = 0;
	int ret = 0;

	if (!gz || !line) {
		ret = gz ? -ENOMEM : (errno ? -errno : -EIO);
		snprintf(err, errlen, "--traces %s: %s", path, strerror(-ret));
		goto out;
	}
	while (gzgets(gz, line, TR_LINE)) {
		json_error_t je;
		json_t *o;

		lineno++;
		if (!strchr(line, '\n') && !gzeof(gz)) {
			ret = -EPROTO;
			snprintf(err, errlen, "--traces %s: line %lu is too long", path, lineno);
			goto out;
		}
		if (header && !strstr(line, "\"type\"")) {
			struct rc_trace_rec r = {0};
			char reason[64] = "";

			if (!fast_record(line, &r, reason, sizeof(reason))) {
				if (r.cookie && rc_traces_add(t, &r, reason[0] ? reason : NULL)) {
					ret = -ENOMEM;
					snprintf(err, errlen, "--traces %s: out of memory", path);
					goto out;
				}
				continue;
			}
		}
		o = json_loads(line, JSON_DISABLE_EOF_CHECK, &je);
		if (!o || !json_is_object(o)) {
			json_decref(o);
			if (gzeof(gz))
				break; /* a last line cut short: the tracer was killed */
			ret = -EPROTO;
			snprintf(err, errlen, "--traces %s: line %lu is not a JSON object", path,
				 lineno);
			goto out;
		}
		ret = load_line(t, o, &ended);
		json_decref(o);
		if (lineno == 1 && !ret) {
			header = t->hook[0] != '\0';
			if (!header)
				ret = -EPROTO;
		}
		if (ret) {
			snprintf(err, errlen, "--traces %s: %s at line %lu", path,
				 ret == -EPROTO ? "not a trace of agentctl trace requests"
						: strerror(-ret),
				 lineno);
			goto out;
		}
	}
	if (!header) {
		ret = -EPROTO;
		snprintf(err, errlen,
			 "--traces %s: empty, or not a trace of agentctl trace requests", path);
		goto out;
	}
	t->files++;
	if (!ended)
		t->truncated++;
out:
	if (gz)
		gzclose(gz);
	free(line);
	return ret;
}

static uint64_t rec_start(const struct rc_trace_rec *r)
{
	return (r->flags & FL_RQ_CONNECT_FLAG) && r->syn_ns ? r->syn_ns : r->send_start_ns;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rc_trace_rec *x = a, *y = b;
	uint64_t sx = rec_start(x), sy = rec_start(y);

	if (x->cookie != y->cookie)
		return x->cookie < y->cookie ? -1 : 1;
	return sx < sy ? -1 : sx > sy;
}

void rc_traces_index(struct rc_traces *t)
{
	if (t->n > 1)
		qsort(t->recs, t->n, sizeof(*t->recs), cmp_rec);
}

static uint64_t span(uint64_t from, uint64_t to)
{
	return from && to > from ? to - from : 0;
}

void rc_trace_stages(const struct rc_trace_rec *x, const struct fl_ledger_rec *l,
		     uint64_t st[RC_ST_MAX])
{
	uint64_t sent = x->send_end_ns ? x->send_end_ns : x->send_start_ns, recv, sum = 0;
	uint64_t done = l->done_ns;

	memset(st, 0, RC_ST_MAX * sizeof(*st));
	if (x->flags & FL_RQ_CONNECT_FLAG)
		st[RC_ST_CONNECT] = span(x->syn_ns, x->est_ns ? x->est_ns : x->close_ns);
	st[RC_ST_SEND] = span(x->send_start_ns, x->send_end_ns);
	/* The response may come before the last send returns (a fast service
	 * behind veth): then from the send's start. */
	if (x->rx_first_ns && x->rx_first_ns <= sent)
		sent = x->send_start_ns;
	st[RC_ST_WIRE] = span(sent, x->rx_first_ns);
	recv = span(x->rx_first_ns, x->recv_end_ns);
	st[RC_ST_RUNQ] = x->runq_ns < recv ? x->runq_ns : recv;
	st[RC_ST_RECV] = recv - st[RC_ST_RUNQ];
	for (int i = 0; i < RC_ST_CLIENT; i++)
		sum += st[i];
	/* loadgen stamps done from its event loop's clock, which may read a
	 * little before the last recv() returns: the rest is never negative. */
	if (done && l->sent_ns && done > l->sent_ns && done - l->sent_ns > sum)
		st[RC_ST_CLIENT] = done - l->sent_ns - sum;
}

static void hist_add(struct rc_tr_hist *h, uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned slot = 0;

	while (us > 1 && slot < RC_TR_SLOTS - 1) {
		us >>= 1;
		slot++;
	}
	h->slots[slot]++;
	h->count++;
	h->sum_ns += ns;
}

/* The slowest N: replace the fastest kept when this one is slower. */
static void keep_slow(struct rc_traces *t, const struct rc_traced_req *q)
{
	size_t min = 0;

	if (!t->top)
		return;
	if (t->n_slow < t->top) {
		t->slow[t->n_slow++] = *q;
		return;
	}
	for (size_t i = 1; i < t->n_slow; i++)
		if (t->slow[i].latency_ns < t->slow[min].latency_ns)
			min = i;
	if (q->latency_ns > t->slow[min].latency_ns)
		t->slow[min] = *q;
}

static const struct rc_trace_rec *find(struct rc_traces *t, const struct fl_ledger_rec *l)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) { /* the first record of the cookie */
		size_t mid = lo + (hi - lo) / 2;

		if (t->recs[mid].cookie < l->sock_cookie)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < t->n && t->recs[i].cookie == l->sock_cookie; i++) {
		struct rc_trace_rec *r = &t->recs[i];
		uint64_t s = rec_start(r);

		if (l->done_ns && s > l->done_ns)
			break;
		if (r->used || s < l->sent_ns)
			continue;
		r->used = true;
		return r;
	}
	return NULL;
}

int rc_traces_request(struct rc_traces *t, const struct fl_ledger_rec *l, bool in_fault,
		      struct rc_traced_req *out)
{
	struct rc_traced_req q = {0};
	const struct rc_trace_rec *x;
	bool failed;

	t->requests++;
	if (!l->sent_ns) {
		t->unsent++;
		return 0;
	}
	if (!l->sock_cookie) {
		t->no_cookie++;
		return 0;
	}
	x = find(t, l);
	if (!x) {
		t->unmatched++;
		return 0;
	}
	t->matched++;
	snprintf(q.id, sizeof(q.id), "%016llx-%u-%llu", (unsigned long long)l->run_id, l->instance,
		 (unsigned long long)l->seq);
	q.outcome = l->outcome;
	q.latency_ns = l->latency_ns;
	q.sent_ns = l->sent_ns;
	q.done_ns = l->done_ns;
	q.cookie = l->sock_cookie;
	q.sent_wall_ns = l->sched_wall_ns + (l->sent_ns - l->sched_ns);
	/* A connection's teardown after the response (a FIN retransmitted, a
	 * segment for a closed socket) is not the request's. */
	if (x->retrans && (!l->done_ns || x->retrans_ns <= l->done_ns))
		q.retrans = x->retrans;
	if (x->drops && (!l->done_ns || x->drop_ns <= l->done_ns)) {
		q.drops = x->drops;
		q.reason = x->reason;
	} else {
		q.reason = -1;
	}
	q.in_fault = in_fault;
	rc_trace_stages(x, l, q.stage_ns);
	for (int i = 0; i < RC_ST_MAX; i++)
		if (i != RC_ST_CONNECT || (x->flags & FL_RQ_CONNECT_FLAG))
			hist_add(&t->h[i], q.stage_ns[i]);
	t->with_retrans += q.retrans > 0;
	t->with_drops += q.drops > 0;
	if (q.drops && q.reason >= 0)
		t->reason_reqs[q.reason]++;
	keep_slow(t, &q);
	failed = l->outcome != FL_OUT_OK && l->outcome != FL_OUT_INFLIGHT;
	if (failed && t->total_failed++ < t->cap)
		t->failed[t->n_failed++] = q;
	if ((in_fault || q.retrans || q.drops) && t->total_faulted++ < t->cap)
		t->faulted[t->n_faulted++] = q;
	if (out)
		*out = q;
	return 1;
}

static int cmp_slow(const void *a, const void *b)
{
	const struct rc_traced_req *x = a, *y = b;

	return x->latency_ns > y->latency_ns ? -1 : x->latency_ns < y->latency_ns;
}

static int cmp_sent(const void *a, const void *b)
{
	const struct rc_traced_req *x = a, *y = b;

	return x->sent_ns < y->sent_ns ? -1 : x->sent_ns > y->sent_ns;
}

void rc_traces_finish(struct rc_traces *t)
{
	qsort(t->slow, t->n_slow, sizeof(*t->slow), cmp_slow);
	qsort(t->failed, t->n_failed, sizeof(*t->failed), cmp_sent);
	qsort(t->faulted, t->n_faulted, sizeof(*t->faulted), cmp_sent);
}

static bool in_window(const struct rc_fault *f, size_t n, uint64_t wall)
{
	for (size_t i = 0; i < n; i++)
		if (wall >= f[i].start_ns && wall <= f[i].end_ns)
			return true;
	return false;
}

int rc_traces_run(const char *const *traces, size_t n_traces, const char *const *ledgers,
		  size_t n_ledgers, const struct rc_fault *faults, size_t n_faults, unsigned top,
		  unsigned cap, struct rc_traces **out, char *err, size_t errlen)
{
	struct rc_traces *t = rc_traces_new(top, cap);
	struct fl_ledger_reader *lr = NULL;
	struct fl_ledger_hdr h;
	struct fl_ledger_rec rec;
	int ret = 0;

	*out = NULL;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_traces && !ret; i++)
		ret = rc_traces_load(t, traces[i], err, errlen);
	if (ret)
		goto fail;
	rc_traces_index(t);
	for (size_t i = 0; i < n_ledgers; i++) {
		ret = fl_ledger_open(ledgers[i], &lr, &h);
		if (ret) {
			snprintf(err, errlen, "ledger %s: %s", ledgers[i], strerror(-ret));
			goto fail;
		}
		while ((ret = fl_ledger_next(lr, &rec)) == 1)
			rc_traces_request(t, &rec, in_window(faults, n_faults, rec.sched_wall_ns),
					  NULL);
		fl_ledger_close(lr);
		if (ret) {
			snprintf(err, errlen, "ledger %s: %s", ledgers[i], strerror(-ret));
			goto fail;
		}
	}
	rc_traces_finish(t);
	*out = t;
	return 0;
fail:
	rc_traces_free(t);
	return ret;
}
