// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Capped lists of request ids for the report, and the full lists on disk.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ledger.h"
#include "rc_int.h"

/* ---- id lists ---- */

void idlist_add(struct rc_idlist *l, const char *id, FILE *fp)
{
	l->total++;
	if (fp) {
		fputs(id, fp);
		fputc('\n', fp);
	}
	if (l->n >= l->cap)
		return;
	snprintf(l->ids[l->n++], RC_ID_LEN, "%s", id);
}

int idlist_init(struct rc_idlist *l, unsigned cap)
{
	l->ids = calloc(cap ? cap : 1, RC_ID_LEN);
	l->cap = cap;
	return l->ids ? 0 : -ENOMEM;
}

int cmp_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

void rc_fmt_id(char *buf, uint64_t run_id, uint32_t instance, uint64_t seq)
{
	fl_req_id_format(buf, RC_ID_LEN, run_id, instance, seq);
}
