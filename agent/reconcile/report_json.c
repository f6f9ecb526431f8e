// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* report.json: the report for programs (docs/reconcile.md). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "report_int.h"
#include "traces.h"

/* ---- JSON ---- */

static json_t *lat_json(const struct rc_latency *l)
{
	static const struct {
		unsigned bit;
		const char *name;
	} pct[] = {
	    {RC_P50, "p50_ms"}, {RC_P90, "p90_ms"}, {RC_P99, "p99_ms"}, {RC_P999, "p999_ms"}};
	json_t *j, *lower;

	if (!l->count)
		return json_pack("{s:I}", "count", (json_int_t)0);
	j = json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)l->count,
		      "censored", (json_int_t)l->censored, "p50_ms", l->p50_ms, "p90_ms", l->p90_ms,
		      "p99_ms", l->p99_ms, "p999_ms", l->p999_ms, "max_ms", l->max_ms, "mean_ms",
		      l->mean_ms);
	lower = json_array();
	for (size_t i = 0; i < sizeof(pct) / sizeof(pct[0]); i++)
		if (l->lower & pct[i].bit)
			json_array_append_new(lower, json_string(pct[i].name));
	json_object_set_new(j, "lower_bounds", lower);
	return j;
}

static json_t *list_json(const struct rc_idlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->ids[i]));
	return a;
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *rc_report_json(const struct rc_result *r)
{
	const struct rc_counts *c = &r->c;
	json_t *j, *o, *a, *cells, *trunc;

	j = json_pack("{s:s,s:s}", "verdict", r->pass ? "pass" : "fail", "title", r->title);
	o = json_object();
#define C(f) json_object_set_new(o, #f, json_integer((json_int_t)c->f))
	C(requests);
	C(sent);
	C(answered);
	C(ok);
	C(failed);
	C(timed_out);
	C(inflight);
	C(unsent);
	C(receipts);
	C(receipts_noid);
	C(missing);
	C(missing_explained);
	C(ghosts);
	C(duplicates);
	C(recovered);
	C(explained);
	C(unexplained);
	C(keys);
	C(duplicate_effects);
#undef C
	json_object_set_new(j, "counts", o);
	if (c->has_value)
		json_object_set_new(j, "value_at_risk",
				    json_pack("{s:f,s:f,s:f,s:f}", "missing", c->value_missing,
					      "duplicated", c->value_duplicated, "failed",
					      c->value_failed, "total", c->value_at_risk));
	o = json_object();
	for (int k = 0; k < RC_EX_MAX; k++)
		json_object_set_new(o, rc_class_names[k],
				    json_integer((json_int_t)c->explained_by[k]));
	json_object_set_new(o, "unexplained", json_integer((json_int_t)c->unexplained));
	json_object_set_new(j, "explained_by", o);
	a = json_array();
	for (size_t i = 0; i < r->n_unexplained; i++) {
		const struct rc_failure *u = &r->unexplained[i];

		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "id", u->id, "client",
						   u->client, "service", u->service));
	}
	json_object_set_new(j, "unexplained", a);
	a = json_array();
	for (size_t i = 0; i < r->n_chains; i++) {
		const struct rc_chain *ch = &r->chains[i];

		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:s,s:I,s:s}", "service",
						   ch->service, "upstream", ch->upstream,
						   "fault_id", (json_int_t)ch->fault_id,
						   "fault_name", ch->fault_name, "failures",
						   (json_int_t)ch->n, "example", ch->example));
	}
	json_object_set_new(j, "dependency_chains", a);
	a = json_array();
	for (size_t i = 0; i < r->n_run_errors; i++)
		json_array_append_new(a, json_string(r->run_errors[i]));
	json_object_set_new(j, "run_errors", a);
	cells = json_object();
	for (int i = 0; i < RC_C_MAX; i++) {
		json_t *row = json_object();

		for (int k = 0; k < RC_R_MAX; k++)
			json_object_set_new(row, recv_names[k],
					    json_integer((json_int_t)c->cells[i][k]));
		json_object_set_new(cells, client_names[i], row);
	}
	json_object_set_new(j, "cells", cells);
	json_object_set_new(j, "missing_ids", list_json(&r->missing_ids));
	json_object_set_new(j, "ghost_ids", list_json(&r->ghost_ids));
	json_object_set_new(j, "duplicate_ids", list_json(&r->duplicate_ids));
	json_object_set_new(j, "unexplained_ids", list_json(&r->unexplained_ids));
	json_object_set_new(j, "recovered_ids", list_json(&r->recovered_ids));
	json_object_set_new(j, "duplicate_keys", list_json(&r->duplicate_keys));
	trunc = json_object();
	json_object_set_new(trunc, "missing_ids",
			    json_boolean(r->missing_ids.total > r->missing_ids.n));
	json_object_set_new(trunc, "ghost_ids", json_boolean(r->ghost_ids.total > r->ghost_ids.n));
	json_object_set_new(trunc, "duplicate_ids",
			    json_boolean(r->duplicate_ids.total > r->duplicate_ids.n));
	json_object_set_new(trunc, "unexplained_ids",
			    json_boolean(r->unexplained_ids.total > r->unexplained_ids.n));
	json_object_set_new(trunc, "recovered_ids",
			    json_boolean(r->recovered_ids.total > r->recovered_ids.n));
	json_object_set_new(trunc, "duplicate_keys",
			    json_boolean(r->duplicate_keys.total > r->duplicate_keys.n));
	json_object_set_new(j, "ids_truncated", trunc);

	o = json_pack("{s:o}", "all", lat_json(&r->all));
	a = json_array();
	for (size_t i = 0; i < r->n_phases; i++) {
		const struct rc_phase *p = &r->phases[i];

		json_array_append_new(
		    a, json_pack("{s:i,s:s,s:I,s:I,s:o}", "phase", p->phase, "name", p->name,
				 "requests", (json_int_t)p->requests, "failed",
				 (json_int_t)p->failed, "latency", lat_json(&p->lat)));
	}
	json_object_set_new(o, "phases", a);
	json_object_set_new(j, "latency", o);

	a = json_array();
	for (size_t i = 0; i < r->n_faults; i++) {
		const struct rc_fault *f = &r->faults[i];
		json_t *fj =
		    json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o}", "id", (json_int_t)f->id,
			      "host", f->host, "kind", f->kind, "name", f->name, "backend",
			      f->backend, "injections", (json_int_t)f->injections, "explained",
			      (json_int_t)f->explained, "requests", (json_int_t)f->requests,
			      "failed", (json_int_t)f->failed, "latency", lat_json(&f->lat));

		json_object_set_new(fj, "start_wall_ns",
				    f->start_ns == UINT64_MAX
					? json_null()
					: json_integer((json_int_t)f->start_ns));
		json_object_set_new(fj, "end_wall_ns",
				    f->end_ns == UINT64_MAX ? json_null()
							    : json_integer((json_int_t)f->end_ns));
		json_object_set_new(fj, "end_reason", json_string(f->end_reason));
		{
			json_t *by = json_object();

			for (int k = 0; k < RC_EX_MAX; k++)
				json_object_set_new(by, rc_class_names[k],
						    json_integer((json_int_t)f->explained_by[k]));
			json_object_set_new(fj, "explained_by", by);
			json_object_set_new(fj, "declared_effects", json_boolean(f->declared));
		}
		json_object_set_new(fj, "error_rate",
				    f->requests ? json_real((double)f->failed / (double)f->requests)
						: json_null());
		json_object_set_new(fj, "recovery_s",
				    f->has_recovery && f->recovery_s >= 0 ? json_real(f->recovery_s)
									  : json_null());
		json_object_set_new(fj, "recovered",
				    json_boolean(f->has_recovery && f->recovery_s >= 0));
		json_object_set_new(fj, "recovery_from_wall_ns",
				    f->has_recovery && f->recovery_from_ns != UINT64_MAX
					? json_integer((json_int_t)f->recovery_from_ns)
					: json_null());
		if (f->recovery_note[0])
			json_object_set_new(fj, "recovery_note", json_string(f->recovery_note));
		if (f->spec)
			json_object_set(fj, "spec", f->spec);
		json_array_append_new(a, fj);
	}
	json_object_set_new(j, "faults", a);

	a = json_array();
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct rc_check *k = &r->checks[i];

		json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:f,s:s,s:b,s:b,s:b}", "name",
						   k->name, "field", k->field, "value",
						   num_or_null(k->value), "limit", k->limit, "unit",
						   k->unit, "pass", k->pass, "no_data", k->no_data,
						   "lower_bound", k->lower_bound));
	}
	json_object_set_new(j, "objectives", a);
	json_object_set_new(j, "recovery",
			    json_pack("{s:f,s:f,s:f,s:f,s:i}", "threshold_error_rate",
				      r->recovery_threshold, "baseline_error_rate",
				      r->baseline_error_rate, "resolution_s", RECOV_SLOT_NS / 1e9,
				      "window_s", RECOV_WINDOW_NS / 1e9, "window_min_requests",
				      RECOV_MIN_REQ));
	json_object_set_new(j, "events",
			    json_pack("{s:I,s:I}", "inject", (json_int_t)c->events_inject, "lost",
				      (json_int_t)c->events_lost));
	json_object_set_new(j, "slack_ms", json_real((double)r->slack_ns / 1e6));
	{
		json_t *s = json_pack("{s:I,s:f}", "t0_wall_ns", (json_int_t)r->series.t0_ns,
				      "bin_s", (double)r->series.width_ns / 1e9);
		json_t *sent = json_array(), *ok = json_array(), *fl = json_array(),
		       *p50 = json_array(), *p99 = json_array();

		for (size_t i = 0; i < r->series.n; i++) {
			const struct rc_bin *b = &r->series.bins[i];

			json_array_append_new(sent, json_integer(b->sent));
			json_array_append_new(ok, json_integer(b->ok));
			json_array_append_new(fl, json_integer(b->failed));
			json_array_append_new(p50, num_or_null(bin_pct_ms(b, 50)));
			json_array_append_new(p99, num_or_null(bin_pct_ms(b, 99)));
		}
		json_object_set_new(s, "sent", sent);
		json_object_set_new(s, "ok", ok);
		json_object_set_new(s, "failed", fl);
		json_object_set_new(s, "p50_ms", p50);
		json_object_set_new(s, "p99_ms", p99);
		json_object_set_new(j, "series", s);
	}
	if (r->traces)
		json_object_set_new(j, "traces", rc_traces_json(r->traces));
	return j;
}
