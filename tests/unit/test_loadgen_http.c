// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The incremental HTTP response parser: whole, split at every byte, malformed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "lg_http.h"

/* Feeds s in pieces of `step` bytes; returns the final code, sets *used_total. */
static int feed_steps(struct http_resp *r, const char *s, size_t len, size_t step,
		      size_t *used_total)
{
	size_t off = 0, used;
	int rc = 0;

	*used_total = 0;
	while (off < len) {
		size_t n = len - off < step ? len - off : step;

		rc = http_resp_feed(r, s + off, n, &used);
		*used_total += used;
		if (rc != 0)
			return rc;
		assert_int_equal(used, n);
		off += n;
	}
	return rc;
}

struct good {
	const char *text;
	bool head;
	int status;
	uint64_t body;
	bool keep_alive;
	size_t extra; /* bytes after the response */
};

static const struct good goods[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n", false, 200, 3, true, 0},
    {"HTTP/1.1 404 Not Found\r\nServer: x\r\ncontent-length:  5 \r\n\r\nabcde", false, 404, 5, true,
     0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n"
     "0\r\nX-Trailer: 1\r\n\r\n",
     false, 200, 9, true, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
     false, 200, 10, true, 0},
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", false, 201,
     0, true, 0},
    {"HTTP/1.1 204 No Content\r\n\r\n", false, 204, 0, true, 0},
    {"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", false, 304, 0, true, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, 200, 0, true, 0},
    {"HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno", false, 500, 2, false,
     0},
    {"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, 2, false, 0},
    {"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", false, 200, 2,
     true, 0},
    {"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", false, 200, 1, true, 0},
    {"HTTP/1.1 200 OK\nContent-Length: 1\n\nx", false, 200, 1, true, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", false, 200, 2, true, 17},
};

static void test_good_every_split(void **state)
{
	size_t g, step;

	(void)state;
	for (g = 0; g < sizeof(goods) / sizeof(goods[0]); g++) {
		const struct good *t = &goods[g];
		size_t len = strlen(t->text);

		for (step = 1; step <= len; step++) {
			struct http_resp r;
			size_t used;
			int rc;

			http_resp_init(&r, t->head);
			rc = feed_steps(&r, t->text, len, step, &used);
			if (rc != 1 || r.status != t->status || r.body != t->body ||
			    r.keep_alive != t->keep_alive || used + t->extra != len) {
				print_error(
				    "case %zu step %zu: rc %d status %u body %llu ka %d used "
				    "%zu\n",
				    g, step, rc, r.status, (unsigned long long)r.body, r.keep_alive,
				    used);
				fail();
			}
		}
	}
}

static void test_body_until_close(void **state)
{
	const char *s = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nsome body bytes";
	struct http_resp r;
	size_t used;

	(void)state;
	http_resp_init(&r, false);
	assert_int_equal(http_resp_feed(&r, s, strlen(s), &used), 0);
	assert_int_equal(used, strlen(s));
	assert_false(r.keep_alive);
	assert_int_equal(http_resp_eof(&r), 1);
	assert_int_equal(r.body, 15);
	/* cut short: EOF inside a Content-Length body is an error */
	http_resp_init(&r, false);
	s = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
	assert_int_equal(http_resp_feed(&r, s, strlen(s), &used), 0);
	assert_int_equal(http_resp_eof(&r), -EPIPE);
	http_resp_init(&r, false);
	assert_false(http_resp_started(&r));
	assert_int_equal(http_resp_eof(&r), -EPIPE);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "HTTP/2.0 200 OK\r\n\r\n",
	    "HTTX/1.1 200 OK\r\n\r\n",
	    "HTTP/1.1 20 OK\r\n\r\n",
	    "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 099 OK\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	    "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
	    "HTTP/1.1 200 OK\r\r\n\r\n",
	    "\x00\x01\x02",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *s = bad[i];
		size_t len = i == sizeof(bad) / sizeof(bad[0]) - 1 ? 3 : strlen(s), used;
		struct http_resp r;
		int rc;

		http_resp_init(&r, false);
		rc = http_resp_feed(&r, s, len, &used);
		if (rc != -EBADMSG) {
			print_error("bad case %zu accepted: rc %d\n", i, rc);
			fail();
		}
		assert_true(used <= len);
	}
}

static void test_header_limit(void **state)
{
	size_t n = HTTP_MAX_HEADER_BYTES + 100, used;
	char *s = malloc(n);
	struct http_resp r;

	(void)state;
	assert_non_null(s);
	memcpy(s, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(s + 20, 'a', n - 20);
	http_resp_init(&r, false);
	assert_int_equal(http_resp_feed(&r, s, n, &used), -E2BIG);
	/* a big body is fine: body bytes do not count */
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_every_split),
	    cmocka_unit_test(test_body_until_close),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_header_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
