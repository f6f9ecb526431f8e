// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "log.h"
#include "lg_report.h"

static const double pcts[] = {50, 90, 99, 99.9, 99.99};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99.9", "p99.99"};
#define NPCT (sizeof(pcts) / sizeof(pcts[0]))

void summary_compute(const struct lg_run *run, struct lg_summary *s)
{
	const struct lg_counts *c = &run->cnt;
	unsigned k;

	memset(s, 0, sizeof(*s));
	s->elapsed_s = (double)(run->end_mono - run->start_mono) / 1e9;
	if (s->elapsed_s <= 0)
		s->elapsed_s = 1e-9;
	for (k = FL_OUT_OK; k < FL_OUT_MAX; k++)
		s->scheduled += c->out[k];
	s->unsent = c->out[FL_OUT_UNSENT];
	s->inflight = c->out[FL_OUT_INFLIGHT];
	s->never_sent = c->never_sent;
	s->sent = s->scheduled - s->unsent - s->never_sent;
	s->completed = s->sent - s->inflight;
	s->ended = s->completed + s->never_sent;
	s->ok = c->out[FL_OUT_OK];
	s->failed = s->ended - s->ok;
	s->rps = (double)s->completed / s->elapsed_s;
	s->target_rps = run->cfg->open ? (double)s->scheduled / s->elapsed_s : 0;
	s->slo_pass = true;
	if (run->cfg->have_slo) {
		struct slo_input in = {
		    .lat = run->lat, .ok = s->ok, .failed = s->failed, .rps = s->rps};

		s->slo_pass = slo_eval_all(&run->cfg->slo, &in);
	}
	s->conserved = run->ledger_check == 0;
}

static void print_hist(const char *label, const struct hist *h, const char *note)
{
	unsigned k;

	printf("  %-10s", label);
	if (!h->total) {
		printf(" no responses\n");
		return;
	}
	for (k = 0; k < NPCT; k++)
		printf(" %s %s%.3fms ", pct_names[k],
		       hist_percentile_censored(h, pcts[k]) ? ">=" : "",
		       hist_percentile(h, pcts[k]) / 1e6);
	printf(" max %s%.3fms  mean %s%.3fms%s\n", h->censored ? ">=" : "", h->max / 1e6,
	       h->censored ? ">=" : "", hist_mean(h) / 1e6, note);
	if (h->censored)
		printf("             %llu of %llu timed out: counted at the time they gave up "
		       "(>= is a lower bound: the true value is that or more)\n",
		       (unsigned long long)h->censored, (unsigned long long)h->total);
}

void report_text(const struct lg_run *run, const struct lg_summary *s)
{
	const struct lg_config *c = run->cfg;
	const struct lg_counts *n = &run->cnt;
	char model[128];
	unsigned k;

	if (c->open)
		snprintf(model, sizeof(model), "%s, %s profile, %s arrivals",
			 c->fixed_pool ? "open model as wrk2 (fixed pool, queueing)"
				       : "open model (a population of clients)",
			 profile_name(c->prof.kind),
			 c->arrival == ARRIVAL_POISSON ? "poisson" : "uniform");
	else if (c->users)
		snprintf(model, sizeof(model), "closed model, %u users, think %.3fs", c->users,
			 c->think_ns / 1e9);
	else
		snprintf(model, sizeof(model), "closed model, as fast as possible");
	printf("loadgen %s: %.2fs, %u threads, %u connections, %s, %s engine\n", c->url_text,
	       s->elapsed_s, c->threads, c->conns, model, run->eng->name);
	printf("  requests   %llu scheduled, %llu sent, %llu ok, %llu failed, %llu unsent, %llu in "
	       "flight\n",
	       (unsigned long long)s->scheduled, (unsigned long long)s->sent,
	       (unsigned long long)s->ok, (unsigned long long)s->failed,
	       (unsigned long long)s->unsent, (unsigned long long)s->inflight);
	if (c->open && !c->fixed_pool)
		printf("  pool       %u connections at most (started with %u, ceiling %u)%s\n",
		       run->conns_peak, c->conns, c->max_conns,
		       run->conns_peak >= c->max_conns ? ": at the ceiling, requests waited" : "");
	if (s->never_sent)
		printf("  never sent %llu requests timed out waiting for a connection (failed as "
		       "timeouts)\n",
		       (unsigned long long)s->never_sent);
	if (s->failed) {
		printf("  errors    ");
		for (k = FL_OUT_STATUS; k <= FL_OUT_OTHER; k++)
			if (n->out[k])
				printf(" %s %llu", fl_outcome_name(k),
				       (unsigned long long)n->out[k]);
		printf("\n");
	}
	printf("  rate       %.1f requests/s", s->rps);
	if (c->open)
		printf(" (scheduled %.1f/s)", s->target_rps);
	printf(", %.2f MB/s in\n", n->bytes_in / s->elapsed_s / 1e6);
	if (c->open && n->late)
		printf(
		    "  behind     %llu requests left 1 ms or more after their scheduled time (up "
		    "to "
		    "%.1f ms): every connection was busy; their wait is in the latency, add -c if "
		    "that is not what you meant\n",
		    (unsigned long long)n->late, n->max_lag / 1e6);
	print_hist("latency", run->lat,
		   c->open ? "  (from scheduled send: corrected for coordinated omission)" : "");
	if (c->open)
		print_hist("service", run->svc, "  (from actual send: what a closed model sees)");
	if (c->ledger_path)
		printf("  ledger     %s: %.1f bytes/request on disk; %s\n", c->ledger_path,
		       s->scheduled ? (double)run->ledger_bytes / s->scheduled : 0,
		       run->ledger_msg);
	if (run->broke)
		printf("  stress     SLO broke in second %u at %.0f requests/s: breaking point "
		       "(it last held at %.0f/s)\n",
		       run->break_sec + 1, run->break_rate, run->held_rate);
	else if (c->prof.kind == PROF_STRESS)
		printf("  stress     SLO held up to the end\n");
	if (c->have_slo) {
		struct slo_input in = {
		    .lat = run->lat, .ok = s->ok, .failed = s->failed, .rps = s->rps};

		printf("  SLO       ");
		for (k = 0; k < c->slo.n; k++) {
			double a;
			bool ok = slo_eval(&c->slo.c[k], &in, &a);
			const char *unit = c->slo.c[k].metric == SLO_ERROR_RATE ? "%"
					   : c->slo.c[k].metric == SLO_RPS	? "/s"
										: "ms";

			printf(" %s: %.3f%s %s;", c->slo.c[k].text, a, unit, ok ? "ok" : "BROKEN");
		}
		printf(" %s\n", s->slo_pass ? "PASS" : "FAIL");
	}
	fflush(stdout);
}

static json_t *hist_json(const struct hist *h)
{
	json_t *o = json_object();
	unsigned k;

	for (k = 0; k < NPCT; k++)
		json_object_set_new(o, pct_names[k], json_real(hist_percentile(h, pcts[k]) / 1e6));
	json_object_set_new(o, "max", json_real(h->total ? h->max / 1e6 : 0));
	/* censored: timeouts, counted at the time they gave up; a percentile
	 * named in lower_bounds is only that (the true value is that or more) */
	json_object_set_new(o, "censored", json_integer((json_int_t)h->censored));
	{
		json_t *lb = json_array();

		for (k = 0; k < NPCT; k++)
			if (hist_percentile_censored(h, pcts[k]))
				json_array_append_new(lb, json_string(pct_names[k]));
		if (h->censored)
			json_array_append_new(lb, json_string("max"));
		json_object_set_new(o, "lower_bounds", lb);
	}
	json_object_set_new(o, "min", json_real(h->total ? h->min / 1e6 : 0));
	json_object_set_new(o, "mean", json_real(hist_mean(h) / 1e6));
	json_object_set_new(o, "count", json_integer((json_int_t)h->total));
	return o;
}

/* Sparse buckets [lowest value in ns, count]: histograms of several
 * instances merge by adding counts (loadgen --merge). */
static json_t *hist_buckets(const struct hist *h)
{
	json_t *b = json_array();
	uint32_t i;

	for (i = h->lo; h->total && i <= h->hi; i++)
		if (h->counts[i])
			json_array_append_new(b, json_pack("[II]", (json_int_t)hist_lowest(i),
							   (json_int_t)h->counts[i]));
	return b;
}

/* [count, lowest value in ns] of the censored values in latency_hist */
static json_t *censored_json(const struct hist *h)
{
	return json_pack("[II]", (json_int_t)h->censored,
			 (json_int_t)(h->censored ? h->cens_min : 0));
}

static int merge_one(const char *path, json_t *sum, struct hist *h, char *why, size_t whylen)
{
	static const char *const adds[] = {"requests", "scheduled", "sent",	 "ok",
					   "failed",   "unsent",    "in_flight", "never_sent"};
	json_error_t jerr;
	json_t *o, *b, *e, *se, *pair;
	const char *k;
	size_t i;
	int err = -EINVAL;

	o = json_load_file(path, 0, &jerr);
	if (!o) {
		snprintf(why, whylen, "cannot read %s: %s", path, jerr.text);
		return -EINVAL;
	}
	b = json_object_get(o, "latency_hist");
	if (!json_is_array(b) || !json_is_number(json_object_get(o, "requests_per_sec"))) {
		snprintf(why, whylen, "%s is not a loadgen --json summary (no latency_hist)", path);
		goto cleanup;
	}
	json_array_foreach(b, i, pair)
	{
		json_t *v = json_array_get(pair, 0), *n = json_array_get(pair, 1);

		if (!json_is_integer(v) || !json_is_integer(n) || json_integer_value(v) < 0 ||
		    json_integer_value(n) < 0) {
			snprintf(why, whylen, "%s: bad latency_hist bucket %zu", path, i);
			goto cleanup;
		}
		hist_record_n(h, (uint64_t)json_integer_value(v), (uint64_t)json_integer_value(n));
	}
	b = json_object_get(o, "latency_censored");
	if (b && !(json_is_array(b) && json_array_size(b) == 2 &&
		   json_integer_value(json_array_get(b, 0)) >= 0 &&
		   json_integer_value(json_array_get(b, 1)) >= 0)) {
		snprintf(why, whylen, "%s: bad latency_censored", path);
		goto cleanup;
	}
	if (b && json_integer_value(json_array_get(b, 0))) {
		/* already in the buckets: only the count and the lowest value */
		uint64_t nc = (uint64_t)json_integer_value(json_array_get(b, 0));
		uint64_t lo = (uint64_t)json_integer_value(json_array_get(b, 1));

		h->censored += nc;
		if (lo < h->cens_min)
			h->cens_min = lo;
	}
	for (i = 0; i < sizeof(adds) / sizeof(adds[0]); i++) {
		json_t *v = json_object_get(o, adds[i]);

		json_object_set_new(sum, adds[i],
				    json_integer(json_integer_value(json_object_get(sum, adds[i])) +
						 json_integer_value(v)));
	}
	json_object_set_new(sum, "requests_per_sec",
			    json_real(json_number_value(json_object_get(sum, "requests_per_sec")) +
				      json_number_value(json_object_get(o, "requests_per_sec"))));
	e = json_object_get(o, "errors");
	se = json_object_get(sum, "errors");
	json_object_foreach(e, k, b)
	{
		json_object_set_new(se, k,
				    json_integer(json_integer_value(json_object_get(se, k)) +
						 json_integer_value(b)));
	}
	err = 0;
cleanup:
	json_decref(o);
	return err;
}

int report_merge(char *const *paths, int n)
{
	json_t *sum = json_object();
	struct hist *h = hist_new();
	char why[512];
	int i, err = 0;
	char *txt;

	if (!sum || !h) {
		err = -ENOMEM;
		goto cleanup;
	}
	json_object_set_new(sum, "instances", json_integer(n));
	json_object_set_new(sum, "errors", json_object());
	for (i = 0; i < n; i++) {
		err = merge_one(paths[i], sum, h, why, sizeof(why));
		if (err) {
			fl_err("%s", why);
			goto cleanup;
		}
	}
	{
		json_int_t ok = json_integer_value(json_object_get(sum, "ok"));
		json_int_t failed = json_integer_value(json_object_get(sum, "failed"));

		json_object_set_new(
		    sum, "error_rate",
		    json_real(ok + failed ? (double)failed / (double)(ok + failed) : 0));
	}
	json_object_set_new(sum, "latency_ms", hist_json(h));
	json_object_set_new(sum, "latency_hist", hist_buckets(h));
	json_object_set_new(sum, "latency_censored", censored_json(h));
	txt = json_dumps(sum, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	if (txt)
		printf("%s\n", txt);
	free(txt);
cleanup:
	json_decref(sum);
	hist_free(h);
	return err;
}

int report_json(const struct lg_run *run, const struct lg_summary *s, const char *path)
{
	const struct lg_config *c = run->cfg;
	json_t *o = json_object(), *e = json_object(), *slo;
	unsigned k;
	int err = 0;

	json_object_set_new(o, "url", json_string(c->url_text));
	json_object_set_new(o, "run_id", json_sprintf("%016llx", (unsigned long long)c->run_id));
	json_object_set_new(o, "instance", json_integer(c->instance));
	json_object_set_new(o, "engine", json_string(run->eng->name));
	json_object_set_new(o, "model",
			    json_string(!c->open	? "closed"
					: c->fixed_pool ? "wrk2"
							: "open"));
	json_object_set_new(o, "profile", json_string(profile_name(c->prof.kind)));
	json_object_set_new(o, "threads", json_integer(c->threads));
	json_object_set_new(o, "connections", json_integer(c->conns));
	if (c->open && !c->fixed_pool) {
		json_object_set_new(o, "connections_peak", json_integer(run->conns_peak));
		json_object_set_new(o, "max_connections", json_integer(c->max_conns));
	}
	json_object_set_new(o, "duration_s", json_real(s->elapsed_s));
	json_object_set_new(o, "requests", json_integer((json_int_t)s->completed));
	json_object_set_new(o, "requests_per_sec", json_real(s->rps));
	if (c->open)
		json_object_set_new(o, "scheduled_per_sec", json_real(s->target_rps));
	json_object_set_new(o, "scheduled", json_integer((json_int_t)s->scheduled));
	json_object_set_new(o, "sent", json_integer((json_int_t)s->sent));
	json_object_set_new(o, "ok", json_integer((json_int_t)s->ok));
	json_object_set_new(o, "failed", json_integer((json_int_t)s->failed));
	json_object_set_new(o, "unsent", json_integer((json_int_t)s->unsent));
	json_object_set_new(o, "in_flight", json_integer((json_int_t)s->inflight));
	json_object_set_new(o, "never_sent", json_integer((json_int_t)s->never_sent));
	json_object_set_new(o, "error_rate",
			    json_real(s->ended ? (double)s->failed / s->ended : 0));
	for (k = FL_OUT_STATUS; k <= FL_OUT_OTHER; k++)
		json_object_set_new(e, fl_outcome_name(k),
				    json_integer((json_int_t)run->cnt.out[k]));
	json_object_set_new(o, "errors", e);
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)run->cnt.bytes_in));
	json_object_set_new(o, "bytes_out", json_integer((json_int_t)run->cnt.bytes_out));
	json_object_set_new(o, "latency_ms", hist_json(run->lat));
	json_object_set_new(o, "latency_hist", hist_buckets(run->lat));
	json_object_set_new(o, "latency_censored", censored_json(run->lat));
	if (c->open) {
		json_object_set_new(o, "service_ms", hist_json(run->svc));
		json_object_set_new(o, "late", json_integer((json_int_t)run->cnt.late));
		json_object_set_new(o, "max_send_lag_ms", json_real(run->cnt.max_lag / 1e6));
	}
	if (c->ledger_path) {
		json_t *l = json_object();

		json_object_set_new(l, "path", json_string(c->ledger_path));
		json_object_set_new(l, "bytes", json_integer((json_int_t)run->ledger_bytes));
		json_object_set_new(
		    l, "bytes_per_request",
		    json_real(s->scheduled ? (double)run->ledger_bytes / s->scheduled : 0));
		json_object_set_new(l, "conservation", json_boolean(s->conserved));
		json_object_set_new(l, "message", json_string(run->ledger_msg));
		json_object_set_new(o, "ledger", l);
	}
	if (c->prof.kind == PROF_STRESS) {
		json_t *st = json_object();

		json_object_set_new(st, "broke", json_boolean(run->broke));
		if (run->broke) {
			json_object_set_new(st, "breaking_rps", json_real(run->break_rate));
			json_object_set_new(st, "last_held_rps", json_real(run->held_rate));
			json_object_set_new(st, "second", json_integer(run->break_sec + 1));
		}
		json_object_set_new(o, "stress", st);
	}
	if (c->have_slo) {
		struct slo_input in = {
		    .lat = run->lat, .ok = s->ok, .failed = s->failed, .rps = s->rps};
		json_t *checks = json_array();

		slo = json_object();
		for (k = 0; k < c->slo.n; k++) {
			double a;
			bool ok = slo_eval(&c->slo.c[k], &in, &a);

			json_array_append_new(checks,
					      json_pack("{s:s,s:f,s:b}", "check", c->slo.c[k].text,
							"actual", a, "pass", ok));
		}
		json_object_set_new(slo, "pass", json_boolean(s->slo_pass));
		json_object_set_new(slo, "checks", checks);
		json_object_set_new(o, "slo", slo);
	}
	if (json_dump_file(o, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10))) {
		err = -EIO;
		fl_err("cannot write JSON summary %s", path);
	}
	json_decref(o);
	return err;
}
