/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside the receipts: the line parsers (receipts.c) and the sources that
 * feed them lines (receipts_src.c: files, URLs, commands; receipts_pg.c:
 * PostgreSQL). */
#ifndef FL_RECEIPTS_INT_H
#define FL_RECEIPTS_INT_H

#include <stddef.h>
#include <stdint.h>
#include "reconcile.h"

#define LINE_MAX_LEN (64 * 1024)

/* FMT_AUTO: decided by the first line (a '{': NDJSON, else a CSV header). */
enum fmt { FMT_NGINX, FMT_NDJSON, FMT_CSV, FMT_AUTO };

#define CSV_MAX_COLS 32
struct lp {
	enum fmt fmt;
	const char *what; /* for messages */
	uint64_t line;
	rc_receipt_cb cb;
	void *arg;
	char *err;
	size_t errlen;
	/* CSV: the column of each field, -1 absent */
	int col_id, col_status, col_key, col_ts, col_upstream, col_upstream_status;
};

/* One line (without its newline or with it) to the callback. */
int rc_one_line(struct lp *p, const char *s, size_t len);
/* A CSV header line: the columns by name; 0 or -EINVAL. */
int rc_csv_header(struct lp *p, const char *s, size_t len);

int rc_read_file(struct lp *p, const char *path);
int rc_read_url(struct lp *p, const char *url);
int rc_read_exec(struct lp *p, const char *cmd);
int rc_read_pg(struct lp *p, const char *spec);

#endif
