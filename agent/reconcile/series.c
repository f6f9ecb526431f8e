// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Statistics over time: the time bins, latency summaries, per-phase rows
 * and recovery after each fault.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"
#include "ledger.h"
#include "rc_int.h"

int rc_series_bin(struct rc_series *s, uint64_t wall, struct rc_bin **out)
{
	uint64_t idx = wall < s->t0_ns ? 0 : (wall - s->t0_ns) / s->width_ns;

	if (!s->bins) {
		s->bins = calloc(RC_MAX_BINS, sizeof(*s->bins));
		if (!s->bins)
			return -ENOMEM;
	}
	while (idx >= RC_MAX_BINS) {
		/* widen: merge pairs */
		size_t n = (s->n + 1) / 2;

		for (size_t i = 0; i < n; i++) {
			struct rc_bin *d = &s->bins[i], *a = &s->bins[2 * i];
			struct rc_bin m = *a;

			if (2 * i + 1 < s->n) {
				struct rc_bin *b = &s->bins[2 * i + 1];

				m.sent += b->sent;
				m.answered += b->answered;
				m.ok += b->ok;
				m.failed += b->failed;
				for (unsigned k = 0; k < RC_LH_LEN; k++)
					m.lh[k] += b->lh[k];
			}
			*d = m;
		}
		memset(&s->bins[n], 0, (s->n - n) * sizeof(s->bins[0]));
		s->n = n;
		s->width_ns *= 2;
		idx = wall < s->t0_ns ? 0 : (wall - s->t0_ns) / s->width_ns;
	}
	if (idx >= s->n) {
		size_t n = idx + 1;

		memset(&s->bins[s->n], 0, (n - s->n) * sizeof(s->bins[0]));
		s->n = n;
	}
	*out = &s->bins[idx];
	return 0;
}

/* ---- statistics ---- */

void rc_latency_of(const struct hist *h, struct rc_latency *l)
{
	memset(l, 0, sizeof(*l));
	if (!h || !h->total)
		return;
	l->count = h->total;
	l->p50_ms = (double)hist_percentile(h, 50) / 1e6;
	l->p90_ms = (double)hist_percentile(h, 90) / 1e6;
	l->p99_ms = (double)hist_percentile(h, 99) / 1e6;
	l->p999_ms = (double)hist_percentile(h, 99.9) / 1e6;
	l->max_ms = (double)h->max / 1e6;
	l->mean_ms = hist_mean(h) / 1e6;
	l->censored = h->censored;
	l->lower = (hist_percentile_censored(h, 50) ? RC_P50 : 0) |
		   (hist_percentile_censored(h, 90) ? RC_P90 : 0) |
		   (hist_percentile_censored(h, 99) ? RC_P99 : 0) |
		   (hist_percentile_censored(h, 99.9) ? RC_P999 : 0);
}

/* Faults overlapping [start, end] extend it to their own end, until none
 * does: a fault cannot recover while another that overlaps it still runs. */
static uint64_t effective_end(const struct rc_result *r, const struct rc_fault *f)
{
	uint64_t end = f->end_ns;
	bool grew = true;

	while (grew) {
		grew = false;
		for (size_t k = 0; k < r->n_faults; k++) {
			const struct rc_fault *g = &r->faults[k];

			if (g->start_ns == UINT64_MAX || g->start_ns > end || g->end_ns <= end ||
			    g->end_ns < f->start_ns)
				continue;
			end = g->end_ns; /* UINT64_MAX: never ended */
			grew = true;
		}
	}
	return end;
}

int rc_recovery_setup(struct ctx *c)
{
	struct rc_result *r = c->r;

	for (size_t k = 0; k < c->n_win; k++) {
		struct rc_fault *f = &r->faults[c->win[k]];
		uint64_t from, to;

		if (f->end_ns == UINT64_MAX)
			continue;
		from = effective_end(r, f);
		f->recovery_from_ns = from;
		if (from == UINT64_MAX)
			continue;
		to = from + RECOV_SPAN_NS;
		/* until the next fault begins: its failures are its own */
		for (size_t g = 0; g < r->n_faults; g++)
			if (r->faults[g].start_ns >= from && r->faults[g].start_ns < to)
				to = r->faults[g].start_ns;
		f->rv = calloc(1, sizeof(*f->rv));
		if (!f->rv)
			return -ENOMEM;
		f->rv->from = from;
		f->rv->to = to;
		f->rv->n = (uint32_t)((to - from + RECOV_SLOT_NS - 1) / RECOV_SLOT_NS);
		f->rv->slot = calloc(f->rv->n + 1, sizeof(*f->rv->slot));
		if (!f->rv->slot)
			return -ENOMEM;
	}
	return 0;
}

void rc_recovery_free(struct rc_fault *f)
{
	if (f->rv)
		free(f->rv->slot);
	free(f->rv);
	f->rv = NULL;
}

/* The first slot from which every later window (at least RECOV_WINDOW_NS
 * and RECOV_MIN_REQ requests, inside the horizon and the run) is within
 * the threshold; -1 with a note if none. */
static int64_t recovered_at(const struct rc_recov *v, uint64_t last_wall, double thr, char *note,
			    size_t len)
{
	uint64_t n = v->n, *ps, *pf;
	const uint64_t w = RECOV_WINDOW_NS / RECOV_SLOT_NS;
	int64_t start = -1, ret = -1;
	size_t k = 0;

	if (last_wall < v->from) {
		snprintf(note, len, "no request after the fault's end");
		return -1;
	}
	if ((last_wall - v->from) / RECOV_SLOT_NS + 1 < n)
		n = (last_wall - v->from) / RECOV_SLOT_NS + 1;
	ps = calloc(n + 1, sizeof(*ps));
	pf = calloc(n + 1, sizeof(*pf));
	if (!ps || !pf) {
		snprintf(note, len, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		ps[i + 1] = ps[i] + v->slot[i][0];
		pf[i + 1] = pf[i] + v->slot[i][1];
	}
	for (uint64_t j = 0; j < n; j++) {
		uint64_t sent, failed;

		/* the window [j, k): at least w slots and RECOV_MIN_REQ requests */
		if (k < j + w)
			k = j + w;
		while (k <= n && ps[k] - ps[j] < RECOV_MIN_REQ)
			k++;
		if (k > n)
			break; /* no full window from here on */
		sent = ps[k] - ps[j];
		failed = pf[k] - pf[j];
		if ((double)failed > thr * (double)sent)
			start = -1;
		else if (start < 0)
			start = (int64_t)j;
		ret = 0;
	}
	if (ret < 0)
		snprintf(note, len, "not measured: less than %llu s and %d requests after its end",
			 (unsigned long long)(RECOV_WINDOW_NS / 1000000000ULL), RECOV_MIN_REQ);
	else if (start < 0)
		snprintf(note, len, "not recovered before %s",
			 v->to - v->from < RECOV_SPAN_NS ? "the next fault" : "the run ended");
	ret = start;
out:
	free(ps);
	free(pf);
	return ret;
}

void rc_recovery(struct ctx *c)
{
	struct rc_result *r = c->r;
	struct rc_series *s = &r->series;
	uint64_t bs = 0, bf = 0, first = UINT64_MAX;

	/* The baseline: the error rate before the first fault began (what
	 * follows a fault may still be its aftermath); with nothing before it,
	 * the time bins outside every fault window. */
	for (size_t k = 0; k < r->n_faults; k++)
		if (r->faults[k].start_ns < first)
			first = r->faults[k].start_ns;
	for (int pass = 0; pass < 2 && !bs; pass++)
		for (size_t i = 0; i < s->n; i++) {
			uint64_t a = s->t0_ns + i * s->width_ns, b = a + s->width_ns;
			bool in = false;

			if (pass == 0) {
				in = b > first;
			} else {
				for (size_t k = 0; k < r->n_faults && !in; k++)
					in = a < r->faults[k].end_ns && b > r->faults[k].start_ns;
			}
			if (!in) {
				bs += s->bins[i].sent;
				bf += s->bins[i].failed;
			}
		}
	r->baseline_error_rate = bs ? (double)bf / (double)bs : 0;
	r->recovery_threshold =
	    c->o.has_error_rate ? c->o.error_rate_max : r->baseline_error_rate + 0.01;
	for (size_t k = 0; k < r->n_faults; k++) {
		struct rc_fault *f = &r->faults[k];
		int64_t at;

		if (f->end_ns == UINT64_MAX || f->start_ns == UINT64_MAX)
			continue;
		f->has_recovery = true;
		f->recovery_s = -1;
		if (!f->rv) {
			snprintf(f->recovery_note, sizeof(f->recovery_note), "%s",
				 f->recovery_from_ns == UINT64_MAX
				     ? "an overlapping fault never ended"
				     : "not measured (more than 64 faults)");
			continue;
		}
		at = recovered_at(f->rv, r->last_wall_ns, r->recovery_threshold, f->recovery_note,
				  sizeof(f->recovery_note));
		/* from the effective end: the fault cannot recover while an
		 * overlapping one still runs */
		if (at >= 0)
			f->recovery_s = (double)((uint64_t)at * RECOV_SLOT_NS) / 1e9;
		rc_recovery_free(f);
	}
}

int rc_make_phases(struct ctx *c)
{
	struct rc_result *r = c->r;
	size_t n = 0;

	for (int p = 0; p < 256; p++)
		if (c->phase_req[p] || (size_t)p < c->in->n_phases)
			n++;
	r->phases = calloc(n + 1, sizeof(*r->phases));
	if (!r->phases)
		return -ENOMEM;
	for (int p = 0; p < 256; p++) {
		struct rc_phase *ph;
		char pb[16];

		if (!c->phase_req[p] && (size_t)p >= c->in->n_phases)
			continue;
		ph = &r->phases[r->n_phases++];
		ph->phase = p;
		snprintf(ph->name, sizeof(ph->name), "%s", rc_phase_label(c, p, pb, sizeof(pb)));
		ph->requests = c->phase_req[p];
		ph->failed = c->phase_failed[p];
		rc_latency_of(c->phase_h[p], &ph->lat);
	}
	return 0;
}
