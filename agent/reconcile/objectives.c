// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Objectives: the "objectives" object of a scenario parsed and checked
 * against the run's statistics (docs/scenarios.md).
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

/* ---- objectives ---- */

static int phase_by_name(const char *s, const char *const *names, size_t n, int *phase)
{
	char *end;
	long v;

	if (!strcmp(s, "all") || !strcmp(s, "*")) {
		*phase = -1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s)) {
			*phase = (int)i;
			return 0;
		}
	if (n == 0) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (*s && !*end && !errno && v >= 0 && v < 256) {
			*phase = (int)v;
			return 0;
		}
	}
	return -EINVAL;
}

/* A count's limit: absent keeps the default (*v as it is), null checks
 * nothing (-1), else an integer >= 0. */
static int get_max(json_t *o, const char *key, int64_t *v, char *err, size_t errlen)
{
	json_t *j = json_object_get(o, key);

	if (!j)
		return 0;
	if (json_is_null(j)) {
		*v = -1;
		return 0;
	}
	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		snprintf(err, errlen, "objectives.%s: must be an integer >= 0 (or null: no limit)",
			 key);
		return -EINVAL;
	}
	*v = json_integer_value(j);
	return 0;
}

int rc_objectives_parse(json_t *j, const char *const *names, size_t n_names, struct objectives *o,
			char *err, size_t errlen)
{
	static const char *const keys[] = {
	    "latency",	  "error_rate_max",  "missing_max",    "duplicates_max",
	    "ghosts_max", "unexplained_max", "recovery_max_s", "duplicate_effects_max",
	    NULL};
	const char *k;
	json_t *v;
	int ret;

	memset(o, 0, sizeof(*o));
	/* The defaults, whatever else the objectives say: every request
	 * accounted for. A file overrides each by name. */
	o->missing_max = o->duplicates_max = o->ghosts_max = o->unexplained_max = 0;
	o->dup_effects_max = -1;
	if (!j)
		return 0;
	if (!json_is_object(j)) {
		snprintf(err, errlen, "objectives: must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(j, k, v)
	{
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], k); i++)
			;
		if (!keys[i]) {
			snprintf(err, errlen,
				 "objectives.%s: unknown field (known: latency, error_rate_max, "
				 "missing_max, duplicates_max, ghosts_max, unexplained_max, "
				 "recovery_max_s, duplicate_effects_max)",
				 k);
			return -EINVAL;
		}
	}
	if ((ret = get_max(j, "missing_max", &o->missing_max, err, errlen)) ||
	    (ret = get_max(j, "duplicates_max", &o->duplicates_max, err, errlen)) ||
	    (ret = get_max(j, "ghosts_max", &o->ghosts_max, err, errlen)) ||
	    (ret = get_max(j, "unexplained_max", &o->unexplained_max, err, errlen)) ||
	    (ret = get_max(j, "duplicate_effects_max", &o->dup_effects_max, err, errlen)))
		return ret;
	v = json_object_get(j, "error_rate_max");
	if (v) {
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
			snprintf(err, errlen,
				 "objectives.error_rate_max: must be a number in [0, 1]");
			return -EINVAL;
		}
		o->error_rate_max = json_number_value(v);
		o->has_error_rate = true;
	}
	v = json_object_get(j, "recovery_max_s");
	if (v) {
		if (!json_is_number(v) || json_number_value(v) < 0) {
			snprintf(err, errlen, "objectives.recovery_max_s: must be a number >= 0");
			return -EINVAL;
		}
		o->recovery_max_s = json_number_value(v);
		o->has_recovery = true;
	}
	v = json_object_get(j, "latency");
	if (v) {
		size_t i;
		json_t *e;

		if (!json_is_array(v)) {
			snprintf(err, errlen, "objectives.latency: must be an array of objects");
			return -EINVAL;
		}
		o->lat = calloc(json_array_size(v) + 1, sizeof(*o->lat));
		if (!o->lat)
			return -ENOMEM;
		json_array_foreach(v, i, e)
		{
			struct lat_obj *l = &o->lat[o->n_lat++];
			json_t *f;
			const char *lk;

			if (!json_is_object(e)) {
				snprintf(err, errlen, "objectives.latency[%zu]: must be an object",
					 i);
				return -EINVAL;
			}
			json_object_foreach(e, lk, f)
			{
				if (strcmp(lk, "phase") && strcmp(lk, "percentile") &&
				    strcmp(lk, "max_ms") && strcmp(lk, "fault")) {
					snprintf(
					    err, errlen,
					    "objectives.latency[%zu].%s: unknown field (known: "
					    "phase, fault, percentile, max_ms)",
					    i, lk);
					return -EINVAL;
				}
			}
			l->phase = -1;
			f = json_object_get(e, "fault");
			if (f) {
				if (!json_is_string(f) || !json_string_length(f) ||
				    json_string_length(f) >= sizeof(l->fault)) {
					snprintf(
					    err, errlen,
					    "objectives.latency[%zu].fault: must be a fault's name "
					    "or \"*\" (any fault)",
					    i);
					return -EINVAL;
				}
				if (json_object_get(e, "phase")) {
					snprintf(err, errlen,
						 "objectives.latency[%zu]: give phase or fault, "
						 "not both",
						 i);
					return -EINVAL;
				}
				snprintf(l->fault, sizeof(l->fault), "%s", json_string_value(f));
			}
			f = json_object_get(e, "phase");
			if (f) {
				if (!json_is_string(f)) {
					snprintf(err, errlen,
						 "objectives.latency[%zu].phase: must be a string",
						 i);
					return -EINVAL;
				}
				if (phase_by_name(json_string_value(f), names, n_names,
						  &l->phase)) {
					char known[256] = "";
					size_t off = 0;

					for (size_t p = 0; p < n_names && off < sizeof(known); p++)
						off += (size_t)snprintf(known + off,
									sizeof(known) - off, "%s%s",
									p ? ", " : "", names[p]);
					snprintf(
					    err, errlen,
					    "objectives.latency[%zu].phase: unknown phase '%s' "
					    "(%s%s)",
					    i, json_string_value(f),
					    n_names ? "phases: "
						    : "no phase names given: use a "
						      "phase number, \"all\" or "
						      "--phases",
					    n_names ? known : "");
					return -EINVAL;
				}
			}
			f = json_object_get(e, "percentile");
			if (!json_is_number(f) || json_number_value(f) <= 0 ||
			    json_number_value(f) > 100) {
				snprintf(err, errlen,
					 "objectives.latency[%zu].percentile: must be a number in "
					 "(0, 100]",
					 i);
				return -EINVAL;
			}
			l->pct = json_number_value(f);
			f = json_object_get(e, "max_ms");
			if (!json_is_number(f) || json_number_value(f) <= 0) {
				snprintf(err, errlen,
					 "objectives.latency[%zu].max_ms: must be a number > 0", i);
				return -EINVAL;
			}
			l->max_ms = json_number_value(f);
		}
	}
	return 0;
}

int rc_objectives_check(json_t *objectives, const char *const *phases, size_t n_phases, char *err,
			size_t errlen)
{
	struct objectives o;
	int ret = rc_objectives_parse(objectives, phases, n_phases, &o, err, errlen);

	free(o.lat);
	return ret;
}

static struct rc_check *add_check(struct rc_result *r, const char *field, const char *unit,
				  double value, double limit)
{
	struct rc_check *k;
	void *p = realloc(r->checks, (r->n_checks + 1) * sizeof(*r->checks));

	if (!p)
		return NULL;
	r->checks = p;
	k = &r->checks[r->n_checks++];
	memset(k, 0, sizeof(*k));
	snprintf(k->field, sizeof(k->field), "%s", field);
	snprintf(k->unit, sizeof(k->unit), "%s", unit);
	k->value = value;
	k->limit = limit;
	k->pass = value <= limit;
	return k;
}

const char *rc_phase_label(struct ctx *c, int p, char *buf, size_t len)
{
	if (p < 0)
		return "all";
	if ((size_t)p < c->in->n_phases && c->in->phases[p])
		return c->in->phases[p];
	snprintf(buf, len, "%d", p);
	return buf;
}

int rc_checks(struct ctx *c)
{
	struct rc_result *r = c->r;
	struct objectives *o = &c->o;
	struct rc_check *k;
	char f[64], pb[16];

#define CHK(cond, fld, unit, val, lim, ...)                                                        \
	do {                                                                                       \
		if (cond) {                                                                        \
			k = add_check(r, fld, unit, val, lim);                                     \
			if (!k)                                                                    \
				return -ENOMEM;                                                    \
			snprintf(k->name, sizeof(k->name), __VA_ARGS__);                           \
		}                                                                                  \
	} while (0)

	for (size_t i = 0; i < o->n_lat; i++) {
		const struct lat_obj *l = &o->lat[i];
		const struct hist *h = l->phase < 0 ? c->all_h : c->phase_h[l->phase];
		struct hist *fh = NULL;
		double v;

		if (l->fault[0]) {
			/* the windows of the faults named (or of every fault) */
			size_t matched = 0;

			fh = hist_new();
			if (!fh)
				return -ENOMEM;
			for (size_t q = 0; q < r->n_faults; q++) {
				const struct rc_fault *fl = &r->faults[q];

				if (strcmp(l->fault, "*") && strcmp(l->fault, fl->name))
					continue;
				matched++;
				if (fl->h)
					hist_merge(fh, fl->h);
			}
			if (!matched) {
				snprintf(c->err, c->errlen,
					 "objectives.latency[%zu].fault: no fault named '%s' in "
					 "the event "
					 "logs%s",
					 i, l->fault,
					 c->in->n_events ? "" : " (none given: --events)");
				hist_free(fh);
				return -EINVAL;
			}
			h = fh;
		}
		v = h && h->total ? (double)hist_percentile(h, l->pct) / 1e6 : 0;
		snprintf(f, sizeof(f), "latency[%zu]", i);
		if (l->fault[0]) {
			k = add_check(r, f, "ms", v, l->max_ms);
			if (k)
				snprintf(k->name, sizeof(k->name), "latency p%g, %s%s", l->pct,
					 strcmp(l->fault, "*") ? "fault " : "inside any fault",
					 strcmp(l->fault, "*") ? l->fault : "");
		} else {
			k = add_check(r, f, "ms", v, l->max_ms);
			if (k)
				snprintf(k->name, sizeof(k->name), "latency p%g, phase %s", l->pct,
					 rc_phase_label(c, l->phase, pb, sizeof(pb)));
		}
		if (k && (!h || !h->total)) {
			k->no_data = true;
			k->pass = false;
		} else if (k && hist_percentile_censored(h, l->pct)) {
			/* Timeouts reach this percentile: the true value is
			 * higher than what was measured, so it proves nothing
			 * below the limit. */
			k->lower_bound = true;
			k->pass = false;
		}
		hist_free(fh);
		if (!k)
			return -ENOMEM;
	}
	CHK(o->has_error_rate, "error_rate_max", "",
	    r->c.sent ? (double)r->c.failed / (double)r->c.sent : 0, o->error_rate_max,
	    "error rate");
	CHK(o->missing_max >= 0, "missing_max", "", (double)(r->c.missing - r->c.missing_explained),
	    (double)o->missing_max, "missing (not explained by a fault)");
	CHK(o->duplicates_max >= 0, "duplicates_max", "", (double)r->c.duplicates,
	    (double)o->duplicates_max, "duplicates");
	CHK(o->ghosts_max >= 0, "ghosts_max", "", (double)r->c.ghosts, (double)o->ghosts_max,
	    "ghosts");
	CHK(o->unexplained_max >= 0, "unexplained_max", "", (double)r->c.unexplained,
	    (double)o->unexplained_max, "unexplained failures");
	CHK(o->dup_effects_max >= 0, "duplicate_effects_max", "", (double)r->c.duplicate_effects,
	    (double)o->dup_effects_max, "idempotency keys with more than one effect");
	for (size_t i = 0; o->has_recovery && i < r->n_faults; i++) {
		const struct rc_fault *fl = &r->faults[i];

		if (!fl->has_recovery)
			continue;
		CHK(1, "recovery_max_s", "s", fl->recovery_s < 0 ? INFINITY : fl->recovery_s,
		    o->recovery_max_s, "recovery after fault %u%s%s%s", fl->id,
		    fl->name[0] ? " (" : "", fl->name, fl->name[0] ? ")" : "");
		if (fl->recovery_s < 0)
			k->pass = false;
	}
	CHK(r->n_run_errors, "run_errors", "", (double)r->n_run_errors, 0,
	    "the run itself (every fault injected and cleared)");
#undef CHK
	r->pass = true;
	for (size_t i = 0; i < r->n_checks; i++)
		if (!r->checks[i].pass)
			r->pass = false;
	return 0;
}
