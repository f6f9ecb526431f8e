// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The interval log: per-second histograms merged across the load threads,
 * the progress line, and the stress profile's SLO check per second. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "lg_run.h"

#define NS_PER_SEC 1000000000ULL

static void ival_emit(struct lg_run *run, struct lg_ival *iv)
{
	const struct lg_config *c = run->cfg;
	uint64_t n = 0, failed = 0;
	double p50, p90, p99, p999, max;
	unsigned k;

	for (k = FL_OUT_OK; k < FL_OUT_MAX; k++)
		n += iv->c.out[k];
	failed = n - iv->c.out[FL_OUT_OK];
	p50 = hist_percentile(iv->h, 50) / 1e6;
	p90 = hist_percentile(iv->h, 90) / 1e6;
	p99 = hist_percentile(iv->h, 99) / 1e6;
	p999 = hist_percentile(iv->h, 99.9) / 1e6;
	max = (iv->h->total ? iv->h->max : 0) / 1e6;
	if (c->progress != PROGRESS_NONE) {
		printf("%s[%4us] %8llu req/s  p50 %7.2fms  p99 %8.2fms  errors %llu%s",
		       c->progress == PROGRESS_TTY ? "\r\033[K" : "", iv->sec + 1,
		       (unsigned long long)n, p50, p99, (unsigned long long)failed,
		       c->progress == PROGRESS_TTY ? "" : "\n");
		fflush(stdout);
	}
	if (run->ival_log) {
		json_t *o = json_object(), *b = json_array();
		uint32_t i;
		char *line;

		for (i = iv->h->lo; iv->h->total && i <= iv->h->hi; i++)
			if (iv->h->counts[i])
				json_array_append_new(b,
						      json_pack("[II]", (json_int_t)hist_lowest(i),
								(json_int_t)iv->h->counts[i]));
		json_object_set_new(o, "sec", json_integer(iv->sec));
		json_object_set_new(
		    o, "wall_ns",
		    json_integer((json_int_t)(run->start_wall + iv->sec * NS_PER_SEC)));
		json_object_set_new(o, "run_id",
				    json_sprintf("%016llx", (unsigned long long)c->run_id));
		json_object_set_new(o, "instance", json_integer(c->instance));
		json_object_set_new(o, "requests", json_integer((json_int_t)n));
		json_object_set_new(o, "ok", json_integer((json_int_t)iv->c.out[FL_OUT_OK]));
		json_object_set_new(o, "errors", json_integer((json_int_t)failed));
		/* timeouts in the percentiles, at the time they gave up */
		json_object_set_new(o, "censored", json_integer((json_int_t)iv->h->censored));
		json_object_set_new(o, "p50_ms", json_real(p50));
		json_object_set_new(o, "p90_ms", json_real(p90));
		json_object_set_new(o, "p99_ms", json_real(p99));
		json_object_set_new(o, "p99.9_ms", json_real(p999));
		json_object_set_new(o, "max_ms", json_real(max));
		json_object_set_new(o, "buckets", b);
		line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7));
		if (line)
			fprintf(run->ival_log, "%s\n", line);
		free(line);
		json_decref(o);
	}
	if (c->prof.kind == PROF_STRESS && c->have_slo && !run->broke && n) {
		struct slo_input in = {
		    .lat = iv->h, .ok = iv->c.out[FL_OUT_OK], .failed = failed, .rps = (double)n};
		uint32_t phase;

		if (!slo_eval_all(&c->slo, &in)) {
			run->broke = true;
			run->break_sec = iv->sec;
			run->break_rate = profile_rate(&c->prof, iv->sec * NS_PER_SEC, &phase);
			atomic_store(&run->stop, 1);
		} else {
			run->held_rate = profile_rate(&c->prof, iv->sec * NS_PER_SEC, &phase);
		}
	}
	hist_reset(iv->h);
	memset(&iv->c, 0, sizeof(iv->c));
	iv->used = false;
	iv->contrib = 0;
}

/* Emit every finished interval, oldest first. Called with ival_lock held. */
static void ival_drain(struct lg_run *run, bool all)
{
	for (;;) {
		struct lg_ival *best = NULL;
		unsigned k;

		for (k = 0; k < IVAL_RING; k++) {
			struct lg_ival *iv = &run->ring[k];

			if (iv->used && (all || iv->contrib >= run->active) &&
			    (!best || iv->sec < best->sec))
				best = iv;
		}
		if (!best)
			return;
		ival_emit(run, best);
	}
}

void ival_publish(struct lg_thread *t, uint64_t now)
{
	struct lg_run *run = t->run;
	struct lg_ival *iv = &run->ring[t->ival_sec % IVAL_RING];

	pthread_mutex_lock(&run->ival_lock);
	if (iv->used && iv->sec != t->ival_sec)
		ival_emit(run, iv); /* a straggler, eight seconds late: out it goes */
	iv->used = true;
	iv->sec = t->ival_sec;
	iv->contrib++;
	hist_merge(iv->h, t->ival);
	for (unsigned k = 0; k < FL_OUT_MAX; k++)
		iv->c.out[k] += t->ival_cnt.out[k];
	ival_drain(run, false);
	pthread_mutex_unlock(&run->ival_lock);
	hist_reset(t->ival);
	memset(&t->ival_cnt, 0, sizeof(t->ival_cnt));
	t->ival_sec = (uint32_t)((now - run->start_mono) / NS_PER_SEC);
	t->ival_end = run->start_mono + (t->ival_sec + 1ULL) * NS_PER_SEC;
}

void ival_leave(struct lg_thread *t)
{
	struct lg_run *run = t->run;

	pthread_mutex_lock(&run->ival_lock);
	/* Not drained before the last one leaves: a second this thread has
	 * published may still be waiting for the others' part of it. */
	run->active--;
	if (!run->active)
		ival_drain(run, true);
	pthread_mutex_unlock(&run->ival_lock);
}
