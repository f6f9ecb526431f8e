/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The end of a run: the summary on stdout, the JSON summary, the SLO verdict. */
#ifndef LG_REPORT_H
#define LG_REPORT_H

#include <stdbool.h>
#include "lg_run.h"

struct lg_summary {
	double elapsed_s;
	uint64_t scheduled, sent, completed, ok, failed, unsent, inflight;
	uint64_t never_sent; /* timeouts whose deadline passed before a connection was free */
	uint64_t ended;	     /* completed + never_sent: every request that met its end */
	double rps;	     /* completed (answered or failed after sending) per second */
	double target_rps;   /* open model: scheduled per second */
	bool slo_pass;
	bool conserved;
};

void summary_compute(const struct lg_run *run, struct lg_summary *s);
void report_text(const struct lg_run *run, const struct lg_summary *s);
int report_json(const struct lg_run *run, const struct lg_summary *s, const char *path);
/* loadgen --merge: the --json summaries of several instances as one
 * (counts and rates added, histograms merged), JSON on stdout. */
int report_merge(char *const *paths, int n);

#endif
