// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The ledger: concurrent writers, streaming reader, conservation check, bad files. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "ledger.h"
#include "lg_run.h"

#define PER_THREAD 50000
#define BATCH	   1000

struct wargs {
	struct fl_ledger_writer *w;
	unsigned idx;
};

static void *writer(void *arg)
{
	struct wargs *a = arg;
	struct fl_ledger_rec *b = calloc(BATCH, sizeof(*b));
	unsigned i, k;

	for (i = 0; i < PER_THREAD; i += BATCH) {
		for (k = 0; k < BATCH; k++) {
			struct fl_ledger_rec *r = &b[k];

			r->run_id = 0xabcdefULL;
			r->instance = 7;
			r->seq = (uint64_t)(i + k) * 2 + a->idx; /* threads interleave ids */
			r->sched_ns = 1000000ULL * r->seq;
			r->sent_ns = r->sched_ns + 5;
			r->done_ns = r->sent_ns + 100000 + (r->seq % 977);
			r->latency_ns = r->done_ns - r->sched_ns;
			r->outcome = r->seq % 100 ? FL_OUT_OK : FL_OUT_TIMEOUT;
			r->status = r->seq % 100 ? 200 : 0;
		}
		if (fl_ledger_write(a->w, b, BATCH))
			break;
	}
	free(b);
	return NULL;
}

static void make_hdr(struct fl_ledger_hdr *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, FL_LEDGER_MAGIC, 8);
	h->version = FL_LEDGER_VERSION;
	h->hdr_size = sizeof(*h);
	h->rec_size = sizeof(struct fl_ledger_rec);
	h->run_id = 0xabcdefULL;
	h->instance = 7;
	strcpy(h->url, "http://x/");
}

static void test_roundtrip(void **state)
{
	char path[] = "/tmp/lg-ledger-XXXXXX";
	struct fl_ledger_writer *w;
	struct fl_ledger_reader *r;
	struct fl_ledger_hdr h, h2;
	struct fl_ledger_rec rec;
	pthread_t th[2];
	struct wargs a[2];
	uint64_t bytes, n = 0, counts[FL_OUT_MAX], sumseq = 0;
	char msg[256];
	int fd, rc;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	make_hdr(&h);
	assert_int_equal(fl_ledger_create(path, &h, &w), 0);
	for (int i = 0; i < 2; i++) {
		a[i].w = w;
		a[i].idx = (unsigned)i;
		assert_int_equal(pthread_create(&th[i], NULL, writer, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(fl_ledger_finish(w, &bytes), 0);
	/* goal: at most 64 bytes a request on disk */
	assert_true(bytes < 64 * 2 * PER_THREAD);

	assert_int_equal(fl_ledger_open(path, &r, &h2), 0);
	assert_int_equal(h2.run_id, 0xabcdefULL);
	assert_int_equal(h2.instance, 7);
	assert_string_equal(h2.url, "http://x/");
	while ((rc = fl_ledger_next(r, &rec)) == 1) {
		n++;
		sumseq += rec.seq;
		assert_int_equal(rec.latency_ns, rec.done_ns - rec.sched_ns);
	}
	assert_int_equal(rc, 0);
	fl_ledger_close(r);
	assert_int_equal(n, 2 * PER_THREAD);
	assert_int_equal(sumseq, n * (n - 1) / 2);

	assert_int_equal(ledger_verify(path, n, counts, msg, sizeof(msg)), 0);
	assert_int_equal(counts[FL_OUT_TIMEOUT], n / 100);
	assert_int_equal(counts[FL_OUT_OK], n - n / 100);
	/* one id more was scheduled than recorded: missing */
	assert_int_equal(ledger_verify(path, n + 1, counts, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "1 missing"));
	/* fewer scheduled than recorded: unknown ids */
	assert_int_equal(ledger_verify(path, n - 5, counts, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "5 unknown"));
	unlink(path);
}

static void test_duplicate_and_truncated(void **state)
{
	char path[] = "/tmp/lg-ledger-XXXXXX";
	struct fl_ledger_writer *w;
	struct fl_ledger_reader *r;
	struct fl_ledger_hdr h;
	struct fl_ledger_rec recs[3] = {0}, rec;
	uint64_t counts[FL_OUT_MAX];
	char msg[256];
	FILE *f;
	long size;
	int fd, rc;

	(void)state;
	fd = mkstemp(path);
	close(fd);
	make_hdr(&h);
	for (int i = 0; i < 3; i++) {
		recs[i].run_id = h.run_id;
		recs[i].instance = h.instance;
		recs[i].outcome = FL_OUT_OK;
	}
	recs[1].seq = 1;
	recs[2].seq = 1; /* duplicate */
	assert_int_equal(fl_ledger_create(path, &h, &w), 0);
	assert_int_equal(fl_ledger_write(w, recs, 3), 0);
	assert_int_equal(fl_ledger_finish(w, NULL), 0);
	assert_int_equal(ledger_verify(path, 2, counts, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "1 duplicated"));

	/* cut the file: the reader says so instead of ending quietly */
	f = fopen(path, "r+");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	assert_int_equal(truncate(path, size - 12), 0);
	assert_int_equal(fl_ledger_open(path, &r, &h), 0);
	while ((rc = fl_ledger_next(r, &rec)) == 1)
		;
	assert_int_equal(rc, -EIO);
	fl_ledger_close(r);

	/* not a ledger */
	f = fopen(path, "w");
	fputs("hello, this is not a ledger at all, not even gzip, but long enough to fill a "
	      "header? no: the header is 304 bytes.",
	      f);
	fclose(f);
	assert_int_equal(fl_ledger_open(path, &r, &h), -EPROTO);
	assert_int_equal(fl_ledger_open("/nonexistent/x", &r, &h) < 0, 1);
	unlink(path);
}

static void test_req_id(void **state)
{
	char id[FL_REQ_ID_LEN];

	(void)state;
	fl_req_id_format(id, sizeof(id), 0xffffffffffffffffULL, 4294967295U, UINT64_MAX);
	assert_string_equal(id, "ffffffffffffffff-4294967295-18446744073709551615");
	assert_true(strlen(id) < FL_REQ_ID_LEN);
	fl_req_id_format(id, sizeof(id), 0x1a, 2, 3);
	assert_string_equal(id, "000000000000001a-2-3");
	assert_string_equal(fl_outcome_name(FL_OUT_UNSENT), "unsent");
	assert_string_equal(fl_outcome_name(0), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_duplicate_and_truncated),
	    cmocka_unit_test(test_req_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
