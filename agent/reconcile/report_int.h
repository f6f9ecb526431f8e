/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside the report: what its three writers share (report.c). */
#ifndef FL_REPORT_INT_H
#define FL_REPORT_INT_H

#include <stdio.h>
#include "reconcile.h"

extern const char *const client_names[RC_C_MAX];
extern const char *const client_titles[RC_C_MAX];
extern const char *const recv_names[RC_R_MAX];

/* The value of log-linear bucket i, and a percentile of one time bin. */
double lh_value(unsigned i);
double bin_pct_ms(const struct rc_bin *b, double p);

void fmt_ms(char *buf, size_t len, double ms);
/* One percentile of l (RC_P*), "-" without data, ">= " before a lower bound. */
void fmt_pct(char *buf, size_t len, const struct rc_latency *l, unsigned which);
void fmt_check_value(char *buf, size_t len, const struct rc_check *k, double v);
void fmt_limit(char *buf, size_t len, const struct rc_check *k);
void fmt_wall(char *buf, size_t len, uint64_t ns);
/* Seconds from the first time bin. */
double rel_s(const struct rc_result *r, uint64_t ns);
void fault_label(const struct rc_fault *f, char *buf, size_t len);

/* The attribution table's cells of one fault, for the Markdown and HTML
 * reports alike. */
struct fault_cells {
	char label[96], start[32], end[32], p99[32], recovery[96];
};
void fault_cells(const struct rc_fault *f, struct fault_cells *c);

/* How failures are explained and recovery measured, in one paragraph of
 * plain text (the Markdown and HTML reports print the same). */
void rules_note(char *buf, size_t len, const struct rc_result *r);
/* "Failures explained: direct N, dependency N, declared N (...); unexplained N." */
void classes_text(char *buf, size_t len, const struct rc_result *r);
/* "request -> SERVICE -> upstream UP -> fault ID (NAME)" */
void chain_text(const struct rc_chain *ch, char *buf, size_t len);

void rc_write_md(FILE *fp, const struct rc_result *r);
int rc_write_html(FILE *fp, const struct rc_result *r);

#endif
