// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* report.md: the report for a terminal or a pull request. */
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

void rc_write_md(FILE *fp, const struct rc_result *r)
{
	const struct rc_counts *c = &r->c;
	char a[32], b[32], note[1024];

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

	if (c->has_value)
		fprintf(fp,
			"\n**Value at risk: %.2f** (missing %.2f, duplicated %.2f, failed %.2f; "
			"each request once in the total)\n",
			c->value_at_risk, c->value_missing, c->value_duplicated, c->value_failed);
	if (r->n_run_errors) {
		fprintf(fp, "\n## The run itself failed\n\n");
		for (size_t i = 0; i < r->n_run_errors; i++)
			fprintf(fp, "- %s\n", r->run_errors[i]);
	}
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

		fmt_pct(a, sizeof(a), &p->lat, RC_P50);
		fmt_pct(b, sizeof(b), &p->lat, RC_P99);
		fmt_pct(e, sizeof(e), &p->lat, RC_P999);
		fmt_ms(f2, sizeof(f2), p->lat.count ? p->lat.max_ms : NAN);
		fprintf(fp, "| %s | %llu | %llu | %s | %s | %s | %s |\n", p->name,
			(unsigned long long)p->requests, (unsigned long long)p->failed, a, b, e,
			f2);
	}

	fprintf(fp, "\n## Attribution\n\n| fault | kind | backend | window (UTC) | injections | "
		    "requests | failed | direct | dependency | declared | p99 | recovery |\n"
		    "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < r->n_faults; i++) {
		const struct rc_fault *f = &r->faults[i];
		struct fault_cells fc;

		fault_cells(f, &fc);
		fprintf(
		    fp,
		    "| %s | %s | %s | %s - %s | %llu | %llu | %llu | %llu | %llu | %llu%s | %s | "
		    "%s |\n",
		    fc.label, f->kind, f->backend, fc.start, fc.end,
		    (unsigned long long)f->injections, (unsigned long long)f->requests,
		    (unsigned long long)f->failed, (unsigned long long)f->explained_by[0],
		    (unsigned long long)f->explained_by[1], (unsigned long long)f->explained_by[2],
		    f->declared ? "" : " (none declared)", fc.p99, fc.recovery);
	}
	fprintf(fp, "| unexplained | | | | | | | %llu | | | | |\n",
		(unsigned long long)c->unexplained);
	classes_text(note, sizeof(note), r);
	fprintf(fp, "\n%s\n", note);
	if (r->n_chains) {
		fprintf(fp, "\n### Dependency chains\n\n");
		for (size_t i = 0; i < r->n_chains; i++) {
			chain_text(&r->chains[i], note, sizeof(note));
			fprintf(fp, "- %s: %llu failures (e.g. `%s`)\n", note,
				(unsigned long long)r->chains[i].n, r->chains[i].example);
		}
	}
	rules_note(note, sizeof(note), r);
	fprintf(fp, "\n%s\n", note);
	if (c->events_lost)
		fprintf(fp,
			"\n**The agent lost %llu events**: some failures may be unexplained "
			"for that reason.\n",
			(unsigned long long)c->events_lost);
	md_list(fp, "Missing", &r->missing_ids, "missing_ids.txt");
	md_list(fp, "Ghosts", &r->ghost_ids, "ghost_ids.txt");
	md_list(fp, "Duplicates", &r->duplicate_ids, "duplicate_ids.txt");
	if (c->unexplained) {
		size_t show = r->n_unexplained < 50 ? r->n_unexplained : 50;

		fprintf(fp,
			"\n### Unexplained failures (%llu)\n\n| id | client saw | service saw |\n"
			"|---|---|---|\n",
			(unsigned long long)c->unexplained);
		for (size_t i = 0; i < show; i++)
			fprintf(fp, "| `%s` | %s | %s |\n", r->unexplained[i].id,
				r->unexplained[i].client, r->unexplained[i].service);
		if (c->unexplained > show)
			fprintf(fp, "\n... and %llu more: see unexplained_ids.txt\n",
				(unsigned long long)(c->unexplained - show));
	}
	md_list(fp, "Idempotency keys with more than one effect", &r->duplicate_keys, NULL);
	if (r->traces)
		rc_traces_md(fp, r->traces);
}
