// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The report model shared by its three writers (report_json.c, report_md.c,
 * report_html.c): names, formatting of values and cells, and writing the
 * three files atomically; and the verdict for a terminal.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "hist.h"
#include "report_int.h"
#include "traces.h"

const char *const client_names[RC_C_MAX] = {"ok", "failed", "timed_out", "unsent"};
const char *const client_titles[RC_C_MAX] = {"ok", "failed", "timed out (fate unknown)", "unsent"};
const char *const recv_names[RC_R_MAX] = {"0", "1", "more"};

/* ---- time bins ---- */

double lh_value(unsigned i)
{
	unsigned b, sub;

	if (i < RC_LH_SUB)
		return i;
	b = i / RC_LH_SUB + 2;
	sub = i % RC_LH_SUB;
	/* the middle of [ (8+sub) << (b-3), (9+sub) << (b-3) ) */
	return ((double)(RC_LH_SUB + sub) + 0.5) * (double)(1ULL << (b - 3));
}

double bin_pct_ms(const struct rc_bin *b, double p)
{
	uint64_t total = 0, seen = 0, rank;

	for (unsigned i = 0; i < RC_LH_LEN; i++)
		total += b->lh[i];
	if (!total)
		return NAN;
	rank = hist_rank(p, total);
	for (unsigned i = 0; i < RC_LH_LEN; i++) {
		seen += b->lh[i];
		if (seen >= rank)
			return lh_value(i) / 1e6;
	}
	return NAN;
}

/* ---- helpers for text ---- */

void fmt_ms(char *buf, size_t len, double ms)
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

void fmt_pct(char *buf, size_t len, const struct rc_latency *l, unsigned which)
{
	double v = which == RC_P50   ? l->p50_ms
		   : which == RC_P90 ? l->p90_ms
		   : which == RC_P99 ? l->p99_ms
				     : l->p999_ms;
	size_t n = 0;

	if (l->count && (l->lower & which) && len > 3)
		n = snprintf(buf, len, ">= ");
	fmt_ms(buf + n, len - n, l->count ? v : NAN);
}

void fmt_check_value(char *buf, size_t len, const struct rc_check *k, double v)
{
	if (k->no_data) {
		snprintf(buf, len, "no data");
		return;
	}
	if (!isfinite(v))
		snprintf(buf, len, "never");
	else if (!strcmp(k->unit, "ms") && k->lower_bound && len > 3)
		fmt_ms(buf + snprintf(buf, len, ">= "), len - 3, v);
	else if (!strcmp(k->unit, "ms"))
		fmt_ms(buf, len, v);
	else if (!strcmp(k->unit, "s"))
		snprintf(buf, len, "%.1f s", v);
	else if (!strcmp(k->field, "error_rate_max"))
		snprintf(buf, len, "%.4f%%", v * 100);
	else
		snprintf(buf, len, "%.0f", v);
}

void fmt_limit(char *buf, size_t len, const struct rc_check *k)
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

void fmt_wall(char *buf, size_t len, uint64_t ns)
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

double rel_s(const struct rc_result *r, uint64_t ns)
{
	return ((double)ns - (double)r->series.t0_ns) / 1e9;
}

void fault_label(const struct rc_fault *f, char *buf, size_t len)
{
	if (f->name[0])
		snprintf(buf, len, "%u %s", f->id, f->name);
	else
		snprintf(buf, len, "%u", f->id);
}

void fault_cells(const struct rc_fault *f, struct fault_cells *c)
{
	fault_label(f, c->label, sizeof(c->label));
	fmt_wall(c->start, sizeof(c->start), f->start_ns);
	fmt_wall(c->end, sizeof(c->end), f->end_ns);
	fmt_pct(c->p99, sizeof(c->p99), &f->lat, RC_P99);
	if (!f->has_recovery)
		snprintf(c->recovery, sizeof(c->recovery), "-");
	else if (f->recovery_s < 0)
		snprintf(c->recovery, sizeof(c->recovery), "%s",
			 f->recovery_note[0] ? f->recovery_note : "not recovered");
	else
		snprintf(c->recovery, sizeof(c->recovery), "%.1f s", f->recovery_s);
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

void rules_note(char *buf, size_t len, const struct rc_result *r)
{
	snprintf(buf, len,
		 "A failure is explained only by evidence. Direct: an inject event on the "
		 "request's own connection (its 5-tuple, both addresses and ports, or its socket "
		 "cookie) within the request's window +- %.0f ms, of a kind that can cause that "
		 "failure (a drop: timeouts, resets, connect failures, early EOF, never a status "
		 "the service sent; a delay: only a timeout the delay itself caused). "
		 "Dependency: the service's receipt names the upstream it called and an inject "
		 "event hit that upstream's address and port within the window. Declared: the "
		 "scenario said the fault causes failures of this form, and the request lies in "
		 "its window plus grace (weaker evidence: the scenario's word). Everything else "
		 "is unexplained. Recovery: the time from a fault's end (or the end of the last "
		 "fault overlapping it) after which the error rate of every window of %.0f s and "
		 "at least %d requests, by scheduled time, stays at most %.4f%% (baseline %.4f%%).",
		 (double)r->slack_ns / 1e6, RECOV_WINDOW_NS / 1e9, RECOV_MIN_REQ,
		 r->recovery_threshold * 100, r->baseline_error_rate * 100);
}

void classes_text(char *buf, size_t len, const struct rc_result *r)
{
	const struct rc_counts *c = &r->c;

	snprintf(buf, len,
		 "Failures explained: direct %llu, dependency %llu, declared %llu (weaker: the "
		 "scenario's word); unexplained %llu.",
		 (unsigned long long)c->explained_by[RC_EX_DIRECT],
		 (unsigned long long)c->explained_by[RC_EX_DEPENDENCY],
		 (unsigned long long)c->explained_by[RC_EX_DECLARED],
		 (unsigned long long)c->unexplained);
}

void chain_text(const struct rc_chain *ch, char *buf, size_t len)
{
	snprintf(buf, len, "request -> %s -> upstream %s -> fault %u%s%s%s", ch->service,
		 ch->upstream, ch->fault_id, ch->fault_name[0] ? " (" : "", ch->fault_name,
		 ch->fault_name[0] ? ")" : "");
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
	rc_write_md(fp, r);
	ret = close_out(dir, "report.md", fp, tmp, err, errlen);
	if (ret)
		return ret;
	ret = open_out(dir, "report.html", &fp, tmp, sizeof(tmp), err, errlen);
	if (ret)
		return ret;
	ret = rc_write_html(fp, r);
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
		"requests %llu: sent %llu, answered %llu, ok %llu, failed %llu (explained %llu: "
		"direct %llu, dependency %llu, declared %llu; unexplained %llu)\n",
		(unsigned long long)c->requests, (unsigned long long)c->sent,
		(unsigned long long)c->answered, (unsigned long long)c->ok,
		(unsigned long long)c->failed, (unsigned long long)c->explained,
		(unsigned long long)c->explained_by[RC_EX_DIRECT],
		(unsigned long long)c->explained_by[RC_EX_DEPENDENCY],
		(unsigned long long)c->explained_by[RC_EX_DECLARED],
		(unsigned long long)c->unexplained);
	fprintf(fp,
		"service: missing %llu, ghosts %llu, duplicates %llu, recovered %llu, keys with "
		"more than one effect %llu\n",
		(unsigned long long)c->missing, (unsigned long long)c->ghosts,
		(unsigned long long)c->duplicates, (unsigned long long)c->recovered,
		(unsigned long long)c->duplicate_effects);
	if (c->has_value)
		fprintf(fp, "value at risk %.2f: missing %.2f, duplicated %.2f, failed %.2f\n",
			c->value_at_risk, c->value_missing, c->value_duplicated, c->value_failed);
	for (size_t i = 0; i < r->n_run_errors; i++)
		fprintf(fp, "  FAIL run: %s\n", r->run_errors[i]);
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
	if (r->traces)
		rc_traces_summary(fp, r->traces);
	fprintf(fp, "verdict: %s", r->pass ? "PASS" : "FAIL");
	if (out_dir)
		fprintf(fp, " (report: %s/report.html)", out_dir);
	fputc('\n', fp);
}
