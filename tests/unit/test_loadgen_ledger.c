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
#include <zlib.h>
#include <arpa/inet.h>
#include <sys/socket.h>
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

/* A version-1 file (records of rec_size bytes, written by an older loadgen)
 * reads as version-2 records whose new fields are 0. */
static void check_v1(unsigned rec_size)
{
	char path[] = "/tmp/lg-ledger-v1-XXXXXX";
	struct fl_ledger_reader *r;
	struct fl_ledger_hdr h;
	struct fl_ledger_rec v[4], one;
	char raw[FL_LEDGER_V1_REC];
	const unsigned n = 5000; /* more than one read of the batch reader */
	unsigned got = 0;
	long k;
	gzFile gz;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	make_hdr(&h);
	h.version = 1;
	h.rec_size = rec_size;
	gz = gzopen(path, "wb1");
	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, &h, sizeof(h)), (int)sizeof(h));
	for (unsigned i = 0; i < n; i++) {
		struct fl_ledger_rec full;

		memset(&full, 0, sizeof(full));
		full.run_id = h.run_id;
		full.instance = h.instance;
		full.seq = i;
		full.local_port = (uint16_t)(40000 + i % 1000);
		full.outcome = FL_OUT_OK;
		if (rec_size == FL_LEDGER_V1_REC)
			full.sock_cookie = 0xc0c0000ULL + i;
		memcpy(raw, &full, rec_size);
		assert_int_equal(gzwrite(gz, raw, rec_size), (int)rec_size);
	}
	gzclose(gz);

	memset(&h, 0xff, sizeof(h));
	assert_int_equal(fl_ledger_open(path, &r, &h), 0);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.rec_size, rec_size);
	/* one by one for the first record, then in batches of 4 */
	memset(&one, 0xee, sizeof(one));
	assert_int_equal(fl_ledger_next(r, &one), 1);
	assert_int_equal(one.seq, 0);
	assert_int_equal(one.local_port, 40000);
	assert_int_equal(one.family, 0);
	assert_int_equal(one.peer_port, 0);
	got = 1;
	for (;;) {
		memset(v, 0xee, sizeof(v)); /* garbage the reader must overwrite */
		k = fl_ledger_read(r, v, 4);
		assert_true(k >= 0);
		if (!k)
			break;
		for (long j = 0; j < k; j++) {
			static const uint8_t zero[16];

			assert_int_equal(v[j].seq, got);
			assert_int_equal(v[j].local_port, 40000 + got % 1000);
			assert_int_equal(v[j].outcome, FL_OUT_OK);
			assert_int_equal(v[j].sock_cookie,
					 rec_size == FL_LEDGER_V1_REC ? 0xc0c0000ULL + got : 0);
			assert_memory_equal(v[j].local_addr, zero, 16);
			assert_memory_equal(v[j].peer_addr, zero, 16);
			assert_int_equal(v[j].peer_port, 0);
			assert_int_equal(v[j].family, 0);
			got++;
		}
	}
	assert_int_equal(got, n);
	fl_ledger_close(r);
	unlink(path);
}

static void test_v1_still_read(void **state)
{
	(void)state;
	check_v1(FL_LEDGER_V1_REC);
	check_v1(FL_LEDGER_V1_REC - 8); /* before the socket cookie */
}

/* Unknown versions and sizes that do not fit their version are refused. */
static void test_versions_refused(void **state)
{
	char path[] = "/tmp/lg-ledger-ver-XXXXXX";
	struct {
		__u32 version, rec_size;
	} bad[] = {
	    {0, 136}, {3, 136}, {1, 136}, {2, 96}, {1, 100}, {2, 144},
	};
	struct fl_ledger_reader *r;
	struct fl_ledger_hdr h;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gzFile gz = gzopen(path, "wb1");

		make_hdr(&h);
		h.version = bad[i].version;
		h.rec_size = bad[i].rec_size;
		gzwrite(gz, &h, sizeof(h));
		gzclose(gz);
		assert_int_equal(fl_ledger_open(path, &r, &h), -EPROTO);
	}
	unlink(path);
}

/* Version 2: the 5-tuple comes back byte for byte, IPv4 and IPv6. */
static void test_v2_roundtrip(void **state)
{
	char path[] = "/tmp/lg-ledger-v2-XXXXXX";
	struct fl_ledger_writer *w;
	struct fl_ledger_reader *r;
	struct fl_ledger_hdr h;
	struct fl_ledger_rec recs[3], rec;
	uint8_t v4[16] = {0}, v4p[16] = {0}, v6[16], v6p[16];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(inet_pton(AF_INET, "10.253.1.2", v4), 1);
	assert_int_equal(inet_pton(AF_INET, "10.253.9.8", v4p), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00:253::1", v6), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00:253::2", v6p), 1);
	memset(recs, 0, sizeof(recs));
	for (int i = 0; i < 3; i++) {
		recs[i].run_id = 0xabcdefULL;
		recs[i].instance = 7;
		recs[i].seq = (__u64)i;
		recs[i].local_port = (__u16)(50000 + i);
	}
	recs[0].family = AF_INET;
	memcpy(recs[0].local_addr, v4, 16);
	memcpy(recs[0].peer_addr, v4p, 16);
	recs[0].peer_port = 8080;
	recs[0].outcome = FL_OUT_OK;
	recs[1].family = AF_INET6;
	memcpy(recs[1].local_addr, v6, 16);
	memcpy(recs[1].peer_addr, v6p, 16);
	recs[1].peer_port = 443;
	recs[1].outcome = FL_OUT_CONNECT;
	recs[2].outcome = FL_OUT_TIMEOUT; /* never sent: no socket, no addresses */
	recs[2].local_port = 0;
	make_hdr(&h);
	assert_int_equal(fl_ledger_create(path, &h, &w), 0);
	assert_int_equal(fl_ledger_write(w, recs, 3), 0);
	assert_int_equal(fl_ledger_finish(w, NULL), 0);
	assert_int_equal(fl_ledger_open(path, &r, &h), 0);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.rec_size, 136);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fl_ledger_next(r, &rec), 1);
		assert_memory_equal(&rec, &recs[i], sizeof(rec));
	}
	assert_int_equal(fl_ledger_next(r, &rec), 0);
	fl_ledger_close(r);
	/* IPv4 in the first 4 bytes, network byte order */
	assert_int_equal(recs[0].local_addr[0], 10);
	assert_int_equal(recs[0].local_addr[1], 253);
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
	    cmocka_unit_test(test_roundtrip),	     cmocka_unit_test(test_duplicate_and_truncated),
	    cmocka_unit_test(test_req_id),	     cmocka_unit_test(test_v1_still_read),
	    cmocka_unit_test(test_versions_refused), cmocka_unit_test(test_v2_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
