// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The kernel traces' part of report.json, report.md and report.html. */
#include <stdio.h>
#include <string.h>
#include "traces.h"

static const char *const stage_titles[RC_ST_MAX] = {
    [RC_ST_CONNECT] = "connect",     [RC_ST_SEND] = "send",
    [RC_ST_WIRE] = "wire + service", [RC_ST_RECV] = "receive + wake-up",
    [RC_ST_RUNQ] = "run queue",	     [RC_ST_CLIENT] = "load generator",
};
static const char *const stage_colors[RC_ST_MAX] = {
    "#8c6bb1", "#41b6c4", "#fd8d3c", "#78c679", "#e31a1c", "#bdbdbd",
};

/* Bucket i of the log2 layout, in microseconds: [lo, hi]. */
static void slot_range(unsigned i, uint64_t *lo, uint64_t *hi)
{
	*lo = i ? 1ULL << i : 0;
	*hi = (2ULL << i) - 1;
}

/* The upper bound of the bucket holding percentile p (0..1). */
static uint64_t hist_pct_us(const struct rc_tr_hist *h, double p)
{
	uint64_t need = (uint64_t)(p * (double)h->count + 0.999999), seen = 0, lo, hi = 0;

	if (!h->count)
		return 0;
	if (!need)
		need = 1;
	for (unsigned i = 0; i < RC_TR_SLOTS; i++) {
		seen += h->slots[i];
		slot_range(i, &lo, &hi);
		if (seen >= need)
			return hi;
	}
	return hi;
}

static const char *reason_of(const struct rc_traces *t, int16_t r)
{
	return r >= 0 && (size_t)r < t->n_reasons ? t->reasons[r] : NULL;
}

static json_t *req_json(const struct rc_traces *t, const struct rc_traced_req *q)
{
	json_t *o = json_object(), *st = json_object();
	const char *rn = reason_of(t, q->reason);

	json_object_set_new(o, "id", json_string(q->id));
	json_object_set_new(o, "outcome", json_string(fl_outcome_name(q->outcome)));
	json_object_set_new(o, "latency_ms", json_real((double)q->latency_ns / 1e6));
	json_object_set_new(o, "sent_ns", json_integer((json_int_t)q->sent_ns));
	json_object_set_new(o, "done_ns", json_integer((json_int_t)q->done_ns));
	json_object_set_new(o, "sent_wall_ns", json_integer((json_int_t)q->sent_wall_ns));
	json_object_set_new(o, "cookie", json_integer((json_int_t)q->cookie));
	for (int i = 0; i < RC_ST_MAX; i++)
		json_object_set_new(st, rc_stage_names[i], json_real((double)q->stage_ns[i] / 1e3));
	json_object_set_new(o, "stages_us", st);
	json_object_set_new(o, "retransmits", json_integer(q->retrans));
	json_object_set_new(o, "drops", json_integer(q->drops));
	if (rn)
		json_object_set_new(o, "drop_reason", json_string(rn));
	json_object_set_new(o, "in_fault_window", json_boolean(q->in_fault));
	return o;
}

static json_t *req_list(const struct rc_traces *t, const struct rc_traced_req *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, req_json(t, &v[i]));
	return a;
}

static json_t *hist_json(const struct rc_tr_hist *h)
{
	json_t *o = json_object(), *a = json_array();
	uint64_t lo, hi;

	json_object_set_new(o, "count", json_integer((json_int_t)h->count));
	json_object_set_new(o, "mean_us",
			    json_real(h->count ? (double)h->sum_ns / 1e3 / (double)h->count : 0));
	json_object_set_new(o, "p50_us", json_integer((json_int_t)hist_pct_us(h, 0.5)));
	json_object_set_new(o, "p99_us", json_integer((json_int_t)hist_pct_us(h, 0.99)));
	for (unsigned i = 0; i < RC_TR_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		slot_range(i, &lo, &hi);
		json_array_append_new(a,
				      json_pack("{s:I,s:I,s:I}", "lo", (json_int_t)lo, "hi",
						(json_int_t)hi, "count", (json_int_t)h->slots[i]));
	}
	json_object_set_new(o, "hist", a);
	return o;
}

json_t *rc_traces_json(const struct rc_traces *t)
{
	json_t *o = json_object(), *st = json_object(), *rs = json_object();

	json_object_set_new(o, "files", json_integer(t->files));
	json_object_set_new(o, "hook", json_string(t->hook));
	json_object_set_new(o, "records", json_integer((json_int_t)t->n));
	json_object_set_new(o, "lost", json_integer((json_int_t)t->lost));
	json_object_set_new(o, "sockets_not_followed", json_integer((json_int_t)t->noslot));
	json_object_set_new(o, "open_at_end", json_integer((json_int_t)t->open));
	json_object_set_new(o, "truncated_files", json_integer(t->truncated));
	json_object_set_new(o, "requests", json_integer((json_int_t)t->requests));
	json_object_set_new(o, "matched", json_integer((json_int_t)t->matched));
	json_object_set_new(o, "unmatched", json_integer((json_int_t)t->unmatched));
	json_object_set_new(o, "no_cookie", json_integer((json_int_t)t->no_cookie));
	json_object_set_new(o, "unsent", json_integer((json_int_t)t->unsent));
	json_object_set_new(o, "with_retransmits", json_integer((json_int_t)t->with_retrans));
	json_object_set_new(o, "with_drops", json_integer((json_int_t)t->with_drops));
	for (size_t i = 0; i < t->n_reasons; i++)
		if (t->reason_reqs[i])
			json_object_set_new(rs, t->reasons[i],
					    json_integer((json_int_t)t->reason_reqs[i]));
	json_object_set_new(o, "drop_reasons", rs);
	for (int i = 0; i < RC_ST_MAX; i++)
		json_object_set_new(st, rc_stage_names[i], hist_json(&t->h[i]));
	json_object_set_new(o, "stages", st);
	json_object_set_new(o, "slowest", req_list(t, t->slow, t->n_slow));
	json_object_set_new(o, "failed", req_list(t, t->failed, t->n_failed));
	json_object_set_new(o, "failed_total", json_integer((json_int_t)t->total_failed));
	json_object_set_new(o, "faulted", req_list(t, t->faulted, t->n_faulted));
	json_object_set_new(o, "faulted_total", json_integer((json_int_t)t->total_faulted));
	return o;
}

static void us_text(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 10000000)
		snprintf(buf, len, "%.0f ms", (double)ns / 1e6);
	else if (ns >= 1000000)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.0f us", (double)ns / 1e3);
}

void rc_traces_summary(FILE *fp, const struct rc_traces *t)
{
	fprintf(fp,
		"traces: %llu of %llu requests joined to kernel records (%llu without, %llu "
		"without a cookie, %llu never sent); %llu with retransmits, %llu with drops; %llu "
		"records lost\n",
		(unsigned long long)t->matched, (unsigned long long)t->requests,
		(unsigned long long)t->unmatched, (unsigned long long)t->no_cookie,
		(unsigned long long)t->unsent, (unsigned long long)t->with_retrans,
		(unsigned long long)t->with_drops, (unsigned long long)t->lost);
}

void rc_traces_md(FILE *fp, const struct rc_traces *t)
{
	char v[3][32];

	fprintf(fp, "\n## Kernel traces\n\n");
	rc_traces_summary(fp, t);
	fprintf(fp, "\n| stage | count | mean | p50 <= | p99 <= |\n|---|---|---|---|---|\n");
	for (int i = 0; i < RC_ST_MAX; i++) {
		const struct rc_tr_hist *h = &t->h[i];

		us_text(v[0], sizeof(v[0]), h->count ? h->sum_ns / h->count : 0);
		us_text(v[1], sizeof(v[1]), hist_pct_us(h, 0.5) * 1000);
		us_text(v[2], sizeof(v[2]), hist_pct_us(h, 0.99) * 1000);
		fprintf(fp, "| %s | %llu | %s | %s | %s |\n", stage_titles[i],
			(unsigned long long)h->count, v[0], v[1], v[2]);
	}
	if (!t->n_slow)
		return;
	fprintf(fp, "\n### Slowest requests\n\n| id | latency |");
	for (int i = 0; i < RC_ST_MAX; i++)
		fprintf(fp, " %s |", stage_titles[i]);
	fprintf(fp, " retransmits | drops |\n|---|---|");
	for (int i = 0; i < RC_ST_MAX + 2; i++)
		fprintf(fp, "---|");
	fputc('\n', fp);
	for (size_t k = 0; k < t->n_slow; k++) {
		const struct rc_traced_req *q = &t->slow[k];
		const char *rn = reason_of(t, q->reason);

		us_text(v[0], sizeof(v[0]), q->latency_ns);
		fprintf(fp, "| `%s` | %s |", q->id, v[0]);
		for (int i = 0; i < RC_ST_MAX; i++) {
			us_text(v[1], sizeof(v[1]), q->stage_ns[i]);
			fprintf(fp, " %s |", v[1]);
		}
		fprintf(fp, " %u | %u%s%s |\n", q->retrans, q->drops, rn ? " " : "", rn ? rn : "");
	}
}

/* One request as a bar: each stage's share of its latency. */
static void html_bar(FILE *fp, const struct rc_traced_req *q)
{
	uint64_t tot = 0;

	for (int i = 0; i < RC_ST_MAX; i++)
		tot += q->stage_ns[i];
	fprintf(fp, "<div style=\"display:flex;width:320px;height:12px;background:#eee\">");
	for (int i = 0; i < RC_ST_MAX && tot; i++) {
		double pct = 100.0 * (double)q->stage_ns[i] / (double)tot;

		if (pct >= 0.5)
			fprintf(fp, "<div title=\"%s\" style=\"width:%.1f%%;background:%s\"></div>",
				stage_titles[i], pct, stage_colors[i]);
	}
	fprintf(fp, "</div>");
}

static void html_reqs(FILE *fp, const struct rc_traces *t, const char *id,
		      const struct rc_traced_req *v, size_t n)
{
	char b[32];

	fprintf(
	    fp,
	    "<table id=\"%s\"><tr><th>id</th><th>outcome</th><th>latency</th><th>where the time "
	    "went</th>",
	    id);
	for (int i = 0; i < RC_ST_MAX; i++)
		fprintf(fp, "<th>%s</th>", stage_titles[i]);
	fprintf(fp, "<th>retransmits</th><th>drops</th></tr>\n");
	for (size_t k = 0; k < n; k++) {
		const struct rc_traced_req *q = &v[k];
		const char *rn = reason_of(t, q->reason);

		us_text(b, sizeof(b), q->latency_ns);
		fprintf(fp, "<tr><td class=\"ids\">%s</td><td>%s</td><td>%s</td><td>", q->id,
			fl_outcome_name(q->outcome), b);
		html_bar(fp, q);
		fprintf(fp, "</td>");
		for (int i = 0; i < RC_ST_MAX; i++) {
			us_text(b, sizeof(b), q->stage_ns[i]);
			fprintf(fp, "<td>%s</td>", b);
		}
		fprintf(fp, "<td>%u</td><td>%u%s%s</td></tr>\n", q->retrans, q->drops,
			rn ? " " : "", rn ? rn : "");
	}
	fprintf(fp, "</table>\n");
}

void rc_traces_html(FILE *fp, const struct rc_traces *t)
{
	char v[3][32];

	fprintf(fp, "<h2>Where the time went (kernel traces)</h2>\n<p>");
	rc_traces_summary(fp, t);
	fprintf(fp, "</p>\n<p>");
	for (int i = 0; i < RC_ST_MAX; i++)
		fprintf(fp,
			"<span style=\"display:inline-block;width:10px;height:10px;background:%s\">"
			"</span> %s &nbsp; ",
			stage_colors[i], stage_titles[i]);
	fprintf(fp, "</p>\n<table id=\"stages\"><tr><th>stage</th><th>requests</th><th>mean</th>"
		    "<th>p50 &le;</th><th>p99 &le;</th></tr>\n");
	for (int i = 0; i < RC_ST_MAX; i++) {
		const struct rc_tr_hist *h = &t->h[i];

		us_text(v[0], sizeof(v[0]), h->count ? h->sum_ns / h->count : 0);
		us_text(v[1], sizeof(v[1]), hist_pct_us(h, 0.5) * 1000);
		us_text(v[2], sizeof(v[2]), hist_pct_us(h, 0.99) * 1000);
		fprintf(fp, "<tr><td>%s</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			stage_titles[i], (unsigned long long)h->count, v[0], v[1], v[2]);
	}
	fprintf(fp, "</table>\n<h3>Slowest requests</h3>\n");
	html_reqs(fp, t, "slowest", t->slow, t->n_slow);
	if (t->n_failed) {
		fprintf(fp, "<details><summary>Failed requests (%llu)</summary>\n",
			(unsigned long long)t->total_failed);
		html_reqs(fp, t, "traced_failed", t->failed, t->n_failed);
		fprintf(fp, "</details>\n");
	}
	if (t->n_faulted) {
		fprintf(fp,
			"<details><summary>Requests in a fault window or with retransmits or drops "
			"(%llu)</summary>\n",
			(unsigned long long)t->total_faulted);
		html_reqs(fp, t, "traced_faulted", t->faulted, t->n_faulted);
		fprintf(fp, "</details>\n");
	}
}
