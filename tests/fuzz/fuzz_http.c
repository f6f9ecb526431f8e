// fuzz-srcs: loadgen/http.c
// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The HTTP response parser on arbitrary bytes. The first byte picks how the
 * input is split (the parser must give the same answer for any split) and
 * whether the request was a HEAD.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lg_http.h"

static int run(const uint8_t *d, size_t n, size_t step, bool head, struct http_resp *r,
	       size_t *consumed)
{
	size_t off = 0, used;
	int rc = 0;

	http_resp_init(r, head);
	*consumed = 0;
	while (off < n) {
		size_t k = n - off < step ? n - off : step;

		rc = http_resp_feed(r, (const char *)d + off, k, &used);
		if (used > k)
			abort();
		*consumed += used;
		if (rc != 0)
			return rc;
		if (used != k)
			abort(); /* need-more must eat everything */
		off += k;
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_resp a, b;
	size_t ua, ub, step;
	bool head;
	int ra, rb;

	if (size < 1)
		return 0;
	step = (data[0] & 0x3f) + 1;
	head = data[0] & 0x40;
	data++;
	size--;
	ra = run(data, size, size ? size : 1, head, &a, &ua);
	rb = run(data, size, step, head, &b, &ub);
	/* same verdict whatever the split, and the same place where it ends */
	if (ra != rb)
		abort();
	if (ra == 1 &&
	    (ua != ub || a.status != b.status || a.body != b.body || a.keep_alive != b.keep_alive))
		abort();
	if (ra == 1 && (a.status < 100 || a.status > 999))
		abort();
	if (ra == 0 && (http_resp_eof(&a) != http_resp_eof(&b)))
		abort();
	return 0;
}
