// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The reconciliation report in three forms: report.json (for programs),
 * report.md (for a terminal or a pull request) and report.html (one
 * self-contained page; the charts are SVG drawn here, no scripts).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "reconcile.h"

static const char *const client_names[RC_C_MAX] = {"ok", "failed", "timed_out", "unsent"};
static const char *const client_titles[RC_C_MAX] = {"ok", "failed", "timed out (fate unknown)",
						    "unsent"};
static const char *const recv_names[RC_R_MAX] = {"0", "1", "more"};

/* ---- time bins ---- */

static double lh_value(unsigned i)
{
	unsigned b, sub;

	if (i < RC_LH_SUB)
		return i;
	b = i / RC_LH_SUB + 2;
	sub = i % RC_LH_SUB;
	/* the middle of [ (8+sub) << (b-3), (9+sub) << (b-3) ) */
	return ((double)(RC_LH_SUB + sub) + 0.5) * (double)(1ULL << (b - 3));
}

static double bin_pct_ms(const struct rc_bin *b, double p)
{
	uint64_t total = 0, seen = 0, rank;

	for (unsigned i = 0; i < RC_LH_LEN; i++)
		total += b->lh[i];
	if (!total)
		return NAN;
	rank = (uint64_t)ceil(p / 100.0 * (double)total);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < RC_LH_LEN; i++) {
		seen += b->lh[i];
		if (seen >= rank)
			return lh_value(i) / 1e6;
	}
	return NAN;
}

/* ---- JSON ---- */

static json_t *lat_json(const struct rc_latency *l)
{
	if (!l->count)
		return json_pack("{s:I}", "count", (json_int_t)0);
	return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)l->count, "p50_ms",
			 l->p50_ms, "p90_ms", l->p90_ms, "p99_ms", l->p99_ms, "p999_ms", l->p999_ms,
			 "max_ms", l->max_ms, "mean_ms", l->mean_ms);
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
		json_object_set_new(fj, "error_rate",
				    f->requests ? json_real((double)f->failed / (double)f->requests)
						: json_null());
		json_object_set_new(fj, "recovery_s",
				    f->has_recovery && f->recovery_s >= 0 ? json_real(f->recovery_s)
									  : json_null());
		json_object_set_new(fj, "recovered",
				    json_boolean(f->has_recovery && f->recovery_s >= 0));
		if (f->spec)
			json_object_set(fj, "spec", f->spec);
		json_array_append_new(a, fj);
	}
	json_object_set_new(j, "faults", a);

	a = json_array();
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct rc_check *k = &r->checks[i];

		json_array_append_new(
		    a, json_pack("{s:s,s:s,s:o,s:f,s:s,s:b,s:b}", "name", k->name, "field",
				 k->field, "value", num_or_null(k->value), "limit", k->limit,
				 "unit", k->unit, "pass", k->pass, "no_data", k->no_data));
	}
	json_object_set_new(j, "objectives", a);
	json_object_set_new(j, "recovery",
			    json_pack("{s:f,s:f,s:f}", "threshold_error_rate",
				      r->recovery_threshold, "baseline_error_rate",
				      r->baseline_error_rate, "bin_s",
				      (double)r->series.width_ns / 1e9));
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
	return j;
}

/* ---- helpers for text ---- */

static void fmt_ms(char *buf, size_t len, double ms)
{
	if (!isfinite(ms))
		snprintf(buf, len, "-");
	else if (ms >= 1000)
		snprintf(buf, len, "%.2f s", ms / 1000);
	else if (ms >= 10)
		snprintf(buf, len, "%.1f ms", ms);
	else
		snprintf(buf, len, "%.3f ms", ms);
}

static void fmt_check_value(char *buf, size_t len, const struct rc_check *k, double v)
{
	if (k->no_data) {
		snprintf(buf, len, "no data");
		return;
	}
	if (!isfinite(v))
		snprintf(buf, len, "never");
	else if (!strcmp(k->unit, "ms"))
		fmt_ms(buf, len, v);
	else if (!strcmp(k->unit, "s"))
		snprintf(buf, len, "%.1f s", v);
	else if (!strcmp(k->field, "error_rate_max"))
		snprintf(buf, len, "%.4f%%", v * 100);
	else
		snprintf(buf, len, "%.0f", v);
}

static void fmt_limit(char *buf, size_t len, const struct rc_check *k)
{
	if (!strcmp(k->unit, "ms"))
		fmt_ms(buf, len, k->limit);
	else if (!strcmp(k->unit, "s"))
		snprintf(buf, len, "%.1f s", k->limit);
	else if (!strcmp(k->field, "error_rate_max"))
		snprintf(buf, len, "%.4f%%", k->limit * 100);
	else
		snprintf(buf, len, "%.0f", k->limit);
}

static void fmt_wall(char *buf, size_t len, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (ns == UINT64_MAX || ns == 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns / 1000000 % 1000));
}

static double rel_s(const struct rc_result *r, uint64_t ns)
{
	return ((double)ns - (double)r->series.t0_ns) / 1e9;
}

static void fault_label(const struct rc_fault *f, char *buf, size_t len)
{
	if (f->name[0])
		snprintf(buf, len, "%u %s", f->id, f->name);
	else
		snprintf(buf, len, "%u", f->id);
}

/* The attribution table's cells of one fault, for the Markdown and HTML
 * reports alike. */
struct fault_cells {
	char label[96], start[32], end[32], p99[32], recovery[32];
};

static void fault_cells(const struct rc_fault *f, struct fault_cells *c)
{
	fault_label(f, c->label, sizeof(c->label));
	fmt_wall(c->start, sizeof(c->start), f->start_ns);
	fmt_wall(c->end, sizeof(c->end), f->end_ns);
	fmt_ms(c->p99, sizeof(c->p99), f->lat.count ? f->lat.p99_ms : NAN);
	if (!f->has_recovery)
		snprintf(c->recovery, sizeof(c->recovery), "-");
	else if (f->recovery_s < 0)
		snprintf(c->recovery, sizeof(c->recovery), "not recovered");
	else
		snprintf(c->recovery, sizeof(c->recovery), "%.1f s", f->recovery_s);
}

/* ---- Markdown ---- */

static void md_list(FILE *fp, const char *title, const struct rc_idlist *l, const char *file)
{
	size_t show = l->n < 50 ? l->n : 50;

	if (!l->total)
		return;
	fprintf(fp, "\n### %s (%llu)\n\n", title, (unsigned long long)l->total);
	for (size_t i = 0; i < show; i++)
		fprintf(fp, "- `%s`\n", l->ids[i]);
	if (l->total > show)
		fprintf(fp, "- ... and %llu more%s%s\n", (unsigned long long)(l->total - show),
			file ? ": see " : "", file ? file : "");
}

static void write_md(FILE *fp, const struct rc_result *r)
{
	const struct rc_counts *c = &r->c;
	char a[32], b[32], d[32];

	fprintf(fp, "# %s\n\n**Verdict: %s**\n\n", r->title, r->pass ? "PASS" : "FAIL");
	fprintf(
	    fp,
	    "| requests | sent | answered | failed | missing | ghosts | duplicates | "
	    "recovered | explained | unexplained |\n|---|---|---|---|---|---|---|---|---|---|\n");
	fprintf(fp, "| %llu | %llu | %llu | %llu | %llu | %llu | %llu | %llu | %llu | %llu |\n",
		(unsigned long long)c->requests, (unsigned long long)c->sent,
		(unsigned long long)c->answered, (unsigned long long)c->failed,
		(unsigned long long)c->missing, (unsigned long long)c->ghosts,
		(unsigned long long)c->duplicates, (unsigned long long)c->recovered,
		(unsigned long long)c->explained, (unsigned long long)c->unexplained);

	fprintf(fp,
		"\n## Objectives\n\n| objective | value | limit | result |\n|---|---|---|---|\n");
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct rc_check *k = &r->checks[i];

		fmt_check_value(a, sizeof(a), k, k->value);
		fmt_limit(b, sizeof(b), k);
		fprintf(fp, "| %s (`%s`) | %s | %s | %s |\n", k->name, k->field, a, b,
			k->pass ? "pass" : "**FAIL**");
	}
	if (!r->n_checks)
		fprintf(fp, "| (none) | | | |\n");

	fprintf(fp, "\n## What the client saw x how often the service received it\n\n"
		    "| client \\ received | 0 | 1 | more |\n|---|---|---|---|\n");
	for (int i = 0; i < RC_C_MAX; i++)
		fprintf(fp, "| %s | %llu | %llu | %llu |\n", client_titles[i],
			(unsigned long long)c->cells[i][0], (unsigned long long)c->cells[i][1],
			(unsigned long long)c->cells[i][2]);

	fprintf(fp, "\n## Latency by phase\n\n| phase | requests | failed | p50 | p99 | p99.9 | "
		    "max |\n|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < r->n_phases; i++) {
		const struct rc_phase *p = &r->phases[i];
		char e[32], f2[32];

		fmt_ms(a, sizeof(a), p->lat.count ? p->lat.p50_ms : NAN);
		fmt_ms(b, sizeof(b), p->lat.count ? p->lat.p99_ms : NAN);
		fmt_ms(e, sizeof(e), p->lat.count ? p->lat.p999_ms : NAN);
		fmt_ms(f2, sizeof(f2), p->lat.count ? p->lat.max_ms : NAN);
		fprintf(fp, "| %s | %llu | %llu | %s | %s | %s | %s |\n", p->name,
			(unsigned long long)p->requests, (unsigned long long)p->failed, a, b, e,
			f2);
	}

	fprintf(fp, "\n## Attribution\n\n| fault | kind | backend | window (UTC) | injections | "
		    "requests | failed | explained | p99 | recovery |\n"
		    "|---|---|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < r->n_faults; i++) {
		const struct rc_fault *f = &r->faults[i];
		struct fault_cells fc;

		fault_cells(f, &fc);
		fprintf(fp, "| %s | %s | %s | %s - %s | %llu | %llu | %llu | %llu | %s | %s |\n",
			fc.label, f->kind, f->backend, fc.start, fc.end,
			(unsigned long long)f->injections, (unsigned long long)f->requests,
			(unsigned long long)f->failed, (unsigned long long)f->explained, fc.p99,
			fc.recovery);
	}
	fprintf(fp, "| unexplained | | | | | | | %llu | | |\n", (unsigned long long)c->unexplained);
	snprintf(d, sizeof(d), "%.0f", (double)r->slack_ns / 1e6);
	fprintf(fp,
		"\nA failure is explained when an inject event's port matches the request's local "
		"port and its time lies within the request's window +- %s ms. Recovery: the first "
		"%.0f s bin after a fault ends whose error rate is at most %.4f%%.\n",
		d, (double)r->series.width_ns / 1e9, r->recovery_threshold * 100);
	if (c->events_lost)
		fprintf(fp,
			"\n**The agent lost %llu events**: some failures may be unexplained "
			"for that reason.\n",
			(unsigned long long)c->events_lost);
	md_list(fp, "Missing", &r->missing_ids, "missing_ids.txt");
	md_list(fp, "Ghosts", &r->ghost_ids, "ghost_ids.txt");
	md_list(fp, "Duplicates", &r->duplicate_ids, "duplicate_ids.txt");
	md_list(fp, "Unexplained failures", &r->unexplained_ids, "unexplained_ids.txt");
	md_list(fp, "Idempotency keys with more than one effect", &r->duplicate_keys, NULL);
}

/* ---- HTML + SVG ---- */

static void esc(FILE *fp, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '&':
			fputs("&amp;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		default:
			fputc(*s, fp);
		}
	}
}

#define CW 1000 /* chart geometry */
#define CH 260
#define ML 70
#define MR 20
#define MT 20
#define MB 40

/* A "nice" step for about n ticks over [0, max]. */
static double nice_step(double max, int n)
{
	double raw = max / n, p = pow(10, floor(log10(raw))), m = raw / p;

	return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

struct chart {
	double xmax, ymax;
};

static double cx(const struct chart *c, double x)
{
	return ML + x / c->xmax * (CW - ML - MR);
}

static double cy(const struct chart *c, double y)
{
	double v = y / c->ymax;

	if (v > 1)
		v = 1;
	return MT + (1 - v) * (CH - MT - MB);
}

static void chart_begin(FILE *fp, const struct rc_result *r, const struct chart *c, const char *id,
			const char *title, const char *ylabel)
{
	double xs = nice_step(c->xmax, 10), ys = nice_step(c->ymax, 5);

	fprintf(fp,
		"<figure><figcaption>%s</figcaption>\n<svg id=\"%s\" class=\"chart\" "
		"xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
		"height=\"%d\" role=\"img\" aria-label=\"%s\">\n",
		title, id, CW, CH, CW, CH, title);
	/* fault windows, shaded */
	for (size_t i = 0; i < r->n_faults; i++) {
		const struct rc_fault *f = &r->faults[i];
		double a = rel_s(r, f->start_ns),
		       b = f->end_ns == UINT64_MAX ? c->xmax : rel_s(r, f->end_ns);
		char lbl[96];

		if (f->start_ns == UINT64_MAX)
			continue;
		if (a < 0)
			a = 0;
		if (b > c->xmax)
			b = c->xmax;
		if (b <= a)
			continue;
		fault_label(f, lbl, sizeof(lbl));
		fprintf(fp,
			"<rect class=\"fault\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
			"fill=\"#f4a261\" fill-opacity=\"0.25\"><title>fault ",
			cx(c, a), MT, cx(c, b) - cx(c, a), CH - MT - MB);
		esc(fp, lbl);
		fprintf(fp,
			"</title></rect>\n<text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
			"fill=\"#b5651d\">fault ",
			cx(c, a) + 3, MT + 12);
		esc(fp, lbl);
		fprintf(fp, "</text>\n");
	}
	/* grid and axes */
	for (double y = 0; y <= c->ymax * 1.0001; y += ys)
		fprintf(
		    fp,
		    "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
		    "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n",
		    ML, CW - MR, cy(c, y), cy(c, y), ML - 6, cy(c, y) + 4, y);
	for (double x = 0; x <= c->xmax * 1.0001; x += xs)
		fprintf(
		    fp,
		    "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#888\"/>"
		    "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%g</text>\n",
		    cx(c, x), cx(c, x), CH - MB, CH - MB + 5, cx(c, x), CH - MB + 18, x);
	fprintf(fp,
		"<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#444\"/>"
		"<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n"
		"<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">seconds since "
		"start</text>\n<text x=\"14\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 14 %d)\">%s</text>\n",
		ML, CW - MR, CH - MB, CH - MB, ML, ML, MT, CH - MB, (ML + CW - MR) / 2, CH - 6,
		(MT + CH - MB) / 2, (MT + CH - MB) / 2, ylabel);
}

/* A polyline through the bins' midpoints; NAN breaks the line. */
static void chart_line(FILE *fp, const struct rc_result *r, const struct chart *c, const double *v,
		       const char *cls, const char *color)
{
	double w = (double)r->series.width_ns / 1e9;
	bool open = false;

	for (size_t i = 0; i < r->series.n; i++) {
		if (!isfinite(v[i])) {
			if (open)
				fprintf(fp, "\"/>\n");
			open = false;
			continue;
		}
		if (!open)
			fprintf(fp,
				"<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" "
				"stroke-width=\"1.8\" points=\"",
				cls, color);
		open = true;
		fprintf(fp, "%.1f,%.1f ", cx(c, (double)i * w + w / 2), cy(c, v[i]));
	}
	if (open)
		fprintf(fp, "\"/>\n");
}

static void chart_legend(FILE *fp, const char *const *names, const char *const *colors, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(fp,
			"<rect x=\"%d\" y=\"4\" width=\"12\" height=\"4\" fill=\"%s\"/>"
			"<text x=\"%d\" y=\"10\" font-size=\"11\">%s</text>\n",
			ML + 10 + i * 130, colors[i], ML + 26 + i * 130, names[i]);
	fprintf(fp, "</svg></figure>\n");
}

static int charts(FILE *fp, const struct rc_result *r)
{
	size_t n = r->series.n;
	double w = (double)r->series.width_ns / 1e9, ymax = 0;
	double *ok = calloc(n + 1, sizeof(double)), *fl = calloc(n + 1, sizeof(double));
	double *p50 = calloc(n + 1, sizeof(double)), *p99 = calloc(n + 1, sizeof(double));
	struct chart c;

	if (!ok || !fl || !p50 || !p99) {
		free(ok);
		free(fl);
		free(p50);
		free(p99);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct rc_bin *b = &r->series.bins[i];

		ok[i] = b->ok / w;
		fl[i] = b->failed / w;
		if (ok[i] > ymax)
			ymax = ok[i];
		if (fl[i] > ymax)
			ymax = fl[i];
	}
	c.xmax = n ? (double)n * w : 1;
	c.ymax = ymax > 0 ? ymax * 1.1 : 1;
	chart_begin(fp, r, &c, "throughput", "Throughput (requests/s by scheduled time)",
		    "requests/s");
	chart_line(fp, r, &c, ok, "ok", "#2a9d8f");
	chart_line(fp, r, &c, fl, "failed", "#e63946");
	chart_legend(fp, (const char *const[]){"ok/s", "failed/s"},
		     (const char *const[]){"#2a9d8f", "#e63946"}, 2);

	ymax = 0;
	for (size_t i = 0; i < n; i++) {
		p50[i] = bin_pct_ms(&r->series.bins[i], 50);
		p99[i] = bin_pct_ms(&r->series.bins[i], 99);
		if (isfinite(p99[i]) && p99[i] > ymax)
			ymax = p99[i];
	}
	c.ymax = ymax > 0 ? ymax * 1.1 : 1;
	chart_begin(fp, r, &c, "latency", "Latency p50 and p99 (ms, answered requests)", "ms");
	chart_line(fp, r, &c, p50, "p50", "#264653");
	chart_line(fp, r, &c, p99, "p99", "#e76f51");
	chart_legend(fp, (const char *const[]){"p50", "p99"},
		     (const char *const[]){"#264653", "#e76f51"}, 2);
	free(ok);
	free(fl);
	free(p50);
	free(p99);
	return 0;
}

static void html_list(FILE *fp, const char *title, const struct rc_idlist *l, const char *file)
{
	size_t show = l->n < 100 ? l->n : 100;

	if (!l->total)
		return;
	fprintf(fp, "<details><summary>%s (%llu)</summary><p class=\"ids\">", title,
		(unsigned long long)l->total);
	for (size_t i = 0; i < show; i++) {
		esc(fp, l->ids[i]);
		fputs(i + 1 < show ? " " : "", fp);
	}
	if (l->total > show)
		fprintf(fp, " ... and %llu more%s%s", (unsigned long long)(l->total - show),
			file ? " (see " : "", file ? file : "");
	if (l->total > show && file)
		fputs(")", fp);
	fprintf(fp, "</p></details>\n");
}

static int write_html(FILE *fp, const struct rc_result *r)
{
	const struct rc_counts *c = &r->c;
	char a[32], b[32];
	int ret;

	fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
	esc(fp, r->title);
	fprintf(fp,
		"</title>\n<style>\n"
		"body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1040px}\n"
		"h1{margin:0 0 8px}\n"
		".verdict{display:inline-block;padding:6px 16px;border-radius:4px;color:#fff;"
		"font-weight:bold;font-size:20px}\n"
		".pass{background:#2a9d8f}.fail{background:#e63946}\n"
		"table{border-collapse:collapse;margin:8px 0 16px}\n"
		"td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\n"
		"th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\n"
		"td.ok{color:#2a9d8f;font-weight:bold}td.bad{color:#e63946;font-weight:bold}\n"
		"figure{margin:8px 0}figcaption{font-weight:bold;margin-bottom:4px}\n"
		".ids{font-family:monospace;font-size:12px;word-break:break-all}\n"
		".note{color:#555;font-size:13px}\n"
		"</style></head><body>\n<h1>");
	esc(fp, r->title);
	fprintf(fp, "</h1>\n<p><span class=\"verdict %s\" id=\"verdict\">%s</span></p>\n",
		r->pass ? "pass" : "fail", r->pass ? "PASS" : "FAIL");

	fprintf(fp, "<table id=\"counts\"><tr><th>requests</th><th>sent</th><th>answered</th>"
		    "<th>failed</th><th>missing</th><th>ghosts</th><th>duplicates</th>"
		    "<th>recovered</th><th>explained</th><th>unexplained</th></tr>\n");
	fprintf(fp,
		"<tr><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</"
		"td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td></tr></table>\n",
		(unsigned long long)c->requests, (unsigned long long)c->sent,
		(unsigned long long)c->answered, (unsigned long long)c->failed,
		(unsigned long long)c->missing, (unsigned long long)c->ghosts,
		(unsigned long long)c->duplicates, (unsigned long long)c->recovered,
		(unsigned long long)c->explained, (unsigned long long)c->unexplained);

	fprintf(fp, "<h2>Objectives</h2>\n<table id=\"objectives\"><tr><th>objective</th>"
		    "<th>field</th><th>value</th><th>limit</th><th>result</th></tr>\n");
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct rc_check *k = &r->checks[i];

		fmt_check_value(a, sizeof(a), k, k->value);
		fmt_limit(b, sizeof(b), k);
		fprintf(fp, "<tr><td>");
		esc(fp, k->name);
		fprintf(fp, "</td><td>%s</td><td>%s</td><td>%s</td><td class=\"%s\">%s</td></tr>\n",
			k->field, a, b, k->pass ? "ok" : "bad", k->pass ? "pass" : "FAIL");
	}
	if (!r->n_checks)
		fprintf(fp, "<tr><td colspan=\"5\">no objectives</td></tr>\n");
	fprintf(fp, "</table>\n<h2>Over time</h2>\n");
	ret = charts(fp, r);
	if (ret)
		return ret;

	fprintf(fp, "<h2>Attribution</h2>\n<table id=\"attribution\"><tr><th>fault</th>"
		    "<th>kind</th><th>backend</th><th>window (UTC)</th><th>injections</th>"
		    "<th>requests in window</th><th>failed</th><th>explained</th><th>p99</th>"
		    "<th>recovery</th></tr>\n");
	for (size_t i = 0; i < r->n_faults; i++) {
		const struct rc_fault *f = &r->faults[i];
		struct fault_cells fc;

		fault_cells(f, &fc);
		fprintf(fp, "<tr><td>");
		esc(fp, fc.label);
		fprintf(fp, "</td><td>");
		esc(fp, f->kind);
		fprintf(fp, "</td><td>");
		esc(fp, f->backend);
		fprintf(fp,
			"</td><td>%s - %s</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
			"<td>%s</td><td>%s</td></tr>\n",
			fc.start, fc.end, (unsigned long long)f->injections,
			(unsigned long long)f->requests, (unsigned long long)f->failed,
			(unsigned long long)f->explained, fc.p99, fc.recovery);
	}
	fprintf(fp,
		"<tr><td>unexplained</td><td></td><td></td><td></td><td></td><td></td><td></td>"
		"<td class=\"%s\">%llu</td><td></td><td></td></tr></table>\n",
		c->unexplained ? "bad" : "ok", (unsigned long long)c->unexplained);
	fprintf(
	    fp,
	    "<p class=\"note\">A failure is explained when an inject event's port matches the "
	    "request's local port and its time lies within the request's scheduled..done window "
	    "&plusmn; %.0f ms. Recovery: the first %.0f s bin wholly after a fault ends whose "
	    "error rate is at most %.4f%% (baseline %.4f%%).</p>\n",
	    (double)r->slack_ns / 1e6, (double)r->series.width_ns / 1e9,
	    r->recovery_threshold * 100, r->baseline_error_rate * 100);
	if (c->events_lost)
		fprintf(fp,
			"<p class=\"note\"><b>The agent lost %llu events</b>: some failures may "
			"be unexplained for that reason.</p>\n",
			(unsigned long long)c->events_lost);

	fprintf(fp,
		"<h2>Requests: what the client saw &times; times the service received "
		"it</h2>\n<table id=\"cells\"><tr><th>client \\ received</th><th>0</th><th>1</th>"
		"<th>more</th></tr>\n");
	for (int i = 0; i < RC_C_MAX; i++)
		fprintf(fp, "<tr><td>%s</td><td>%llu</td><td>%llu</td><td>%llu</td></tr>\n",
			client_titles[i], (unsigned long long)c->cells[i][0],
			(unsigned long long)c->cells[i][1], (unsigned long long)c->cells[i][2]);
	fprintf(fp, "</table>\n<h2>Latency by phase</h2>\n<table id=\"phases\"><tr><th>phase</th>"
		    "<th>requests</th><th>failed</th><th>p50</th><th>p90</th><th>p99</th>"
		    "<th>p99.9</th><th>max</th></tr>\n");
	for (size_t i = 0; i < r->n_phases; i++) {
		const struct rc_phase *p = &r->phases[i];
		char v[4][32];

		fmt_ms(v[0], 32, p->lat.count ? p->lat.p50_ms : NAN);
		fmt_ms(v[1], 32, p->lat.count ? p->lat.p90_ms : NAN);
		fmt_ms(v[2], 32, p->lat.count ? p->lat.p99_ms : NAN);
		fmt_ms(v[3], 32, p->lat.count ? p->lat.p999_ms : NAN);
		fmt_ms(a, sizeof(a), p->lat.count ? p->lat.max_ms : NAN);
		fprintf(fp, "<tr><td>");
		esc(fp, p->name);
		fprintf(fp,
			"</td><td>%llu</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td><td>%s</"
			"td><td>%s</td></tr>\n",
			(unsigned long long)p->requests, (unsigned long long)p->failed, v[0], v[1],
			v[2], v[3], a);
	}
	fprintf(fp, "</table>\n<h2>Request ids</h2>\n");
	html_list(fp, "Missing", &r->missing_ids, "missing_ids.txt");
	html_list(fp, "Ghosts", &r->ghost_ids, "ghost_ids.txt");
	html_list(fp, "Duplicates", &r->duplicate_ids, "duplicate_ids.txt");
	html_list(fp, "Unexplained failures", &r->unexplained_ids, "unexplained_ids.txt");
	html_list(fp, "Recovered (timed out, received)", &r->recovered_ids, NULL);
	html_list(fp, "Idempotency keys with more than one effect", &r->duplicate_keys, NULL);
	if (!c->missing && !c->ghosts && !c->duplicates && !c->unexplained)
		fprintf(fp, "<p>Every request accounted for.</p>\n");
	fprintf(fp, "</body></html>\n");
	return 0;
}

static int open_out(const char *dir, const char *name, FILE **fp, char *tmp, size_t len, char *err,
		    size_t errlen)
{
	snprintf(tmp, len, "%s/.%s.tmp", dir, name);
	*fp = fopen(tmp, "we");
	if (!*fp) {
		int ret = -errno;

		snprintf(err, errlen, "cannot write %s/%s: %s", dir, name, strerror(errno));
		return ret;
	}
	return 0;
}

static int close_out(const char *dir, const char *name, FILE *fp, const char *tmp, char *err,
		     size_t errlen)
{
	char dst[PATH_MAX + 64];
	int bad = ferror(fp);

	if (fclose(fp) || bad) {
		snprintf(err, errlen, "cannot write %s/%s: %s", dir, name,
			 strerror(errno ? errno : EIO));
		unlink(tmp);
		return -EIO;
	}
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	if (rename(tmp, dst)) {
		int ret = -errno;

		snprintf(err, errlen, "cannot write %s: %s", dst, strerror(errno));
		return ret;
	}
	return 0;
}

int rc_write_reports(const struct rc_result *r, const char *dir, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 64];
	json_t *j;
	FILE *fp;
	int ret;

	j = rc_report_json(r);
	if (!j)
		return -ENOMEM;
	ret = open_out(dir, "report.json", &fp, tmp, sizeof(tmp), err, errlen);
	if (!ret) {
		json_dumpf(j, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		fputc('\n', fp);
		ret = close_out(dir, "report.json", fp, tmp, err, errlen);
	}
	json_decref(j);
	if (ret)
		return ret;
	ret = open_out(dir, "report.md", &fp, tmp, sizeof(tmp), err, errlen);
	if (ret)
		return ret;
	write_md(fp, r);
	ret = close_out(dir, "report.md", fp, tmp, err, errlen);
	if (ret)
		return ret;
	ret = open_out(dir, "report.html", &fp, tmp, sizeof(tmp), err, errlen);
	if (ret)
		return ret;
	ret = write_html(fp, r);
	if (ret) {
		fclose(fp);
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s/report.html: %s", dir, strerror(-ret));
		return ret;
	}
	return close_out(dir, "report.html", fp, tmp, err, errlen);
}

void rc_print_summary(const struct rc_result *r, const char *out_dir, FILE *fp)
{
	const struct rc_counts *c = &r->c;

	fprintf(fp,
		"requests %llu: sent %llu, answered %llu, ok %llu, failed %llu (explained %llu, "
		"unexplained %llu)\n",
		(unsigned long long)c->requests, (unsigned long long)c->sent,
		(unsigned long long)c->answered, (unsigned long long)c->ok,
		(unsigned long long)c->failed, (unsigned long long)c->explained,
		(unsigned long long)c->unexplained);
	fprintf(fp,
		"service: missing %llu, ghosts %llu, duplicates %llu, recovered %llu, keys with "
		"more than one effect %llu\n",
		(unsigned long long)c->missing, (unsigned long long)c->ghosts,
		(unsigned long long)c->duplicates, (unsigned long long)c->recovered,
		(unsigned long long)c->duplicate_effects);
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct rc_check *k = &r->checks[i];

		if (k->no_data)
			fprintf(fp, "  %-4s %s (%s): no data\n", k->pass ? "ok" : "FAIL", k->name,
				k->field);
		else
			fprintf(fp, "  %-4s %s: %g%s (limit %g%s)\n", k->pass ? "ok" : "FAIL",
				k->name, k->value, k->unit, k->limit, k->unit);
	}
	if (c->events_lost)
		fprintf(fp,
			"  note: the agent lost %llu events; failures may be unexplained for that "
			"reason\n",
			(unsigned long long)c->events_lost);
	fprintf(fp, "verdict: %s", r->pass ? "PASS" : "FAIL");
	if (out_dir)
		fprintf(fp, " (report: %s/report.html)", out_dir);
	fputc('\n', fp);
}
