// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* report.html: one self-contained page; the charts are SVG drawn here, no
 * scripts. */
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

int rc_write_html(FILE *fp, const struct rc_result *r)
{
	const struct rc_counts *c = &r->c;
	char a[32], b[32], note[1024];
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

	if (c->has_value)
		fprintf(
		    fp,
		    "<p id=\"value\"><b>Value at risk: %.2f</b> (missing %.2f, duplicated %.2f, "
		    "failed %.2f; each request once in the total)</p>\n",
		    c->value_at_risk, c->value_missing, c->value_duplicated, c->value_failed);
	if (r->n_run_errors) {
		fprintf(fp, "<h2>The run itself failed</h2>\n<ul id=\"run_errors\">\n");
		for (size_t i = 0; i < r->n_run_errors; i++) {
			fprintf(fp, "<li class=\"bad\">");
			esc(fp, r->run_errors[i]);
			fprintf(fp, "</li>\n");
		}
		fprintf(fp, "</ul>\n");
	}
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
		    "<th>requests in window</th><th>failed</th><th>direct</th><th>dependency</th>"
		    "<th>declared</th><th>p99</th>"
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
			"<td>%llu</td><td>%llu%s</td><td>%s</td><td>%s</td></tr>\n",
			fc.start, fc.end, (unsigned long long)f->injections,
			(unsigned long long)f->requests, (unsigned long long)f->failed,
			(unsigned long long)f->explained_by[0],
			(unsigned long long)f->explained_by[1],
			(unsigned long long)f->explained_by[2],
			f->declared ? "" : " (none declared)", fc.p99, fc.recovery);
	}
	fprintf(fp,
		"<tr><td>unexplained</td><td></td><td></td><td></td><td></td><td></td><td></td>"
		"<td class=\"%s\" colspan=\"3\">%llu</td><td></td><td></td></tr></table>\n",
		c->unexplained ? "bad" : "ok", (unsigned long long)c->unexplained);
	classes_text(note, sizeof(note), r);
	fprintf(fp, "<p id=\"classes\">");
	esc(fp, note);
	fprintf(fp, "</p>\n");
	if (r->n_chains) {
		fprintf(fp, "<h3>Dependency chains</h3>\n<ul id=\"chains\">\n");
		for (size_t i = 0; i < r->n_chains; i++) {
			chain_text(&r->chains[i], note, sizeof(note));
			fprintf(fp, "<li>");
			esc(fp, note);
			fprintf(fp, ": %llu failures (e.g. ", (unsigned long long)r->chains[i].n);
			esc(fp, r->chains[i].example);
			fprintf(fp, ")</li>\n");
		}
		fprintf(fp, "</ul>\n");
	}
	rules_note(note, sizeof(note), r);
	fprintf(fp, "<p class=\"note\">");
	esc(fp, note);
	fprintf(fp, "</p>\n");
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

		fmt_pct(v[0], 32, &p->lat, RC_P50);
		fmt_pct(v[1], 32, &p->lat, RC_P90);
		fmt_pct(v[2], 32, &p->lat, RC_P99);
		fmt_pct(v[3], 32, &p->lat, RC_P999);
		fmt_ms(a, sizeof(a), p->lat.count ? p->lat.max_ms : NAN);
		fprintf(fp, "<tr><td>");
		esc(fp, p->name);
		fprintf(fp,
			"</td><td>%llu</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td><td>%s</"
			"td><td>%s</td></tr>\n",
			(unsigned long long)p->requests, (unsigned long long)p->failed, v[0], v[1],
			v[2], v[3], a);
	}
	fprintf(fp, "</table>\n");
	if (r->traces)
		rc_traces_html(fp, r->traces);
	fprintf(fp, "<h2>Request ids</h2>\n");
	html_list(fp, "Missing", &r->missing_ids, "missing_ids.txt");
	html_list(fp, "Ghosts", &r->ghost_ids, "ghost_ids.txt");
	html_list(fp, "Duplicates", &r->duplicate_ids, "duplicate_ids.txt");
	if (r->n_unexplained) {
		size_t show = r->n_unexplained < 100 ? r->n_unexplained : 100;

		fprintf(fp,
			"<details open><summary>Unexplained failures (%llu)</summary>\n<table "
			"id=\"unexplained\"><tr><th>id</th><th>client saw</th><th>service "
			"saw</th></tr>\n",
			(unsigned long long)c->unexplained);
		for (size_t i = 0; i < show; i++) {
			fprintf(fp, "<tr><td class=\"ids\">");
			esc(fp, r->unexplained[i].id);
			fprintf(fp, "</td><td>");
			esc(fp, r->unexplained[i].client);
			fprintf(fp, "</td><td>");
			esc(fp, r->unexplained[i].service);
			fprintf(fp, "</td></tr>\n");
		}
		fprintf(fp, "</table>");
		if (c->unexplained > show)
			fprintf(fp, "<p>... and %llu more (see unexplained_ids.txt)</p>",
				(unsigned long long)(c->unexplained - show));
		fprintf(fp, "</details>\n");
	}
	html_list(fp, "Recovered (timed out, received)", &r->recovered_ids, NULL);
	html_list(fp, "Idempotency keys with more than one effect", &r->duplicate_keys, NULL);
	if (!c->missing && !c->ghosts && !c->duplicates && !c->unexplained)
		fprintf(fp, "<p>Every request accounted for.</p>\n");
	fprintf(fp, "</body></html>\n");
	return 0;
}
