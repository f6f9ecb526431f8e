// fuzz-srcs: agent/reconcile/receipts.c
// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The receipts readers on arbitrary bytes: the first byte picks the format
 * (nginx access log, NDJSON or CSV). Every receipt handed over must have a sane
 * id and status; an id in loadgen's form parsed on the fast path must equal
 * what the strict parser makes of its text; a refusal must come with a
 * one-line reason.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "reconcile.h"

static int on_receipt(const struct rc_receipt *r, void *arg)
{
	(void)arg;
	if (r->id_len > 64 * 1024 || r->status < 0 || r->status > 999 ||
	    r->upstream_len > 64 * 1024 || (r->upstream_len && !r->upstream) ||
	    r->upstream_status < 0 || r->upstream_status > 999 || (r->key_len && !r->key))
		abort();
	if (r->parsed) {
		uint64_t run, seq;
		uint32_t in;

		if (rc_parse_req_id(r->id, r->id_len, &run, &in, &seq) || run != r->run_id ||
		    in != r->instance || seq != r->seq)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	int ret;

	if (size < 1)
		return 0;
	static const char *const fmt[3] = {"nginx", "ndjson", "csv"};

	ret = rc_receipts_parse(fmt[data[0] % 3], (const char *)data + 1, size - 1, on_receipt,
				NULL, err, sizeof(err));
	if (ret && (!err[0] || strchr(err, '\n')))
		abort();
	return 0;
}
