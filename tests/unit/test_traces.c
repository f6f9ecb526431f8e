// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agent/reconcile/traces.c: the stages of a request, the join of trace
 * records to ledger records by cookie and time, the trace file reader. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>
#include "traces.h"

#define MS 1000000ULL
#define US 1000ULL

/* An exchange at base: connect 1 ms (when conn), send 10 us, 5 ms to the
 * response, read 200 us after it of which 50 us in the run queue. */
static struct rc_trace_rec xch(uint64_t cookie, uint64_t base, bool conn)
{
	struct rc_trace_rec r = {.cookie = cookie};

	if (conn) {
		r.syn_ns = base;
		r.est_ns = base + 1 * MS;
		r.flags = 4; /* FL_RQ_CONNECT */
		base += 1 * MS;
	}
	r.send_start_ns = base + 5 * US;
	r.send_end_ns = base + 15 * US;
	r.rx_first_ns = base + 15 * US + 5 * MS;
	r.recv_end_ns = r.rx_first_ns + 200 * US;
	r.runq_ns = 50 * US;
	return r;
}

static struct fl_ledger_rec lrec(uint64_t seq, uint64_t cookie, uint64_t sent, uint64_t done)
{
	struct fl_ledger_rec l = {.run_id = 0xabc,
				  .seq = seq,
				  .sock_cookie = cookie,
				  .sched_ns = sent,
				  .sent_ns = sent,
				  .done_ns = done,
				  .latency_ns = done - sent,
				  .outcome = FL_OUT_OK};

	return l;
}

static void test_stages(void **state)
{
	struct rc_trace_rec x = xch(7, 1000 * MS, true);
	struct fl_ledger_rec l = lrec(0, 7, 1000 * MS, 1000 * MS + 7 * MS);
	uint64_t st[RC_ST_MAX];

	rc_trace_stages(&x, &l, st);
	assert_int_equal(st[RC_ST_CONNECT], 1 * MS);
	assert_int_equal(st[RC_ST_SEND], 10 * US);
	assert_int_equal(st[RC_ST_WIRE], 5 * MS);
	assert_int_equal(st[RC_ST_RUNQ], 50 * US);
	assert_int_equal(st[RC_ST_RECV], 150 * US);
	/* 7 ms in all: 1 ms + 10 us + 5 ms + 200 us in the kernel, the rest loadgen's */
	assert_int_equal(st[RC_ST_CLIENT], 7 * MS - 1 * MS - 10 * US - 5 * MS - 200 * US);
	/* Not the first exchange: no connect stage even with times in it. */
	x.flags = 0;
	rc_trace_stages(&x, &l, st);
	assert_int_equal(st[RC_ST_CONNECT], 0);
	/* done before the last read returned (loadgen's loop clock): no
	 * negative rest. */
	x.flags = 4;
	l.done_ns = x.recv_end_ns - 10 * US;
	rc_trace_stages(&x, &l, st);
	assert_int_equal(st[RC_ST_CLIENT], 0);
	/* The response before the send returned: the wire from the send's start. */
	x.rx_first_ns = x.send_start_ns + 4 * US;
	x.recv_end_ns = x.rx_first_ns + 100 * US;
	rc_trace_stages(&x, &l, st);
	assert_int_equal(st[RC_ST_WIRE], 4 * US);
}

static void test_join_by_cookie_and_time(void **state)
{
	struct rc_traces *t = rc_traces_new(10, 100);
	struct rc_trace_rec a1 = xch(7, 1000 * MS, true), a2 = xch(7, 1010 * MS, false);
	struct rc_trace_rec b1 = xch(9, 1000 * MS, true);
	struct rc_traced_req q;
	struct fl_ledger_rec l;

	assert_non_null(t);
	/* Out of order on purpose: the index sorts. */
	assert_int_equal(rc_traces_add(t, &a2, NULL), 0);
	assert_int_equal(rc_traces_add(t, &b1, NULL), 0);
	assert_int_equal(rc_traces_add(t, &a1, NULL), 0);
	rc_traces_index(t);
	/* The second request on cookie 7 takes the second exchange. */
	l = lrec(1, 7, 1009 * MS, 1016 * MS);
	assert_int_equal(rc_traces_request(t, &l, false, &q), 1);
	assert_int_equal(q.stage_ns[RC_ST_CONNECT], 0);
	assert_int_equal(q.stage_ns[RC_ST_WIRE], 5 * MS);
	assert_string_equal(q.id, "0000000000000abc-0-1");
	/* The first takes the first (with the handshake). */
	l = lrec(0, 7, 999 * MS, 1008 * MS);
	assert_int_equal(rc_traces_request(t, &l, false, &q), 1);
	assert_int_equal(q.stage_ns[RC_ST_CONNECT], 1 * MS);
	/* Must not: a third request on 7 inside the first's window finds both
	 * exchanges used; one whose window holds no exchange start; another
	 * cookie with no records; no cookie; never sent. */
	l = lrec(2, 7, 999 * MS, 1008 * MS);
	assert_int_equal(rc_traces_request(t, &l, false, NULL), 0);
	l = lrec(3, 9, 1001 * MS, 1002 * MS); /* b1 started at 1000 ms */
	assert_int_equal(rc_traces_request(t, &l, false, NULL), 0);
	l = lrec(4, 11, 999 * MS, 1008 * MS);
	assert_int_equal(rc_traces_request(t, &l, false, NULL), 0);
	l = lrec(5, 0, 999 * MS, 1008 * MS);
	assert_int_equal(rc_traces_request(t, &l, false, NULL), 0);
	l = lrec(6, 9, 0, 0);
	l.outcome = FL_OUT_UNSENT;
	assert_int_equal(rc_traces_request(t, &l, false, NULL), 0);
	assert_int_equal(t->matched, 2);
	assert_int_equal(t->unmatched, 3);
	assert_int_equal(t->no_cookie, 1);
	assert_int_equal(t->unsent, 1);
	assert_int_equal(t->h[RC_ST_CONNECT].count, 1); /* only requests that connected */
	assert_int_equal(t->h[RC_ST_WIRE].count, 2);
	rc_traces_free(t);
}

static void test_drops_attributed(void **state)
{
	struct rc_traces *t = rc_traces_new(10, 100);
	struct rc_trace_rec a = xch(7, 1000 * MS, false), b = xch(8, 1000 * MS, false);
	struct rc_traced_req q;
	struct fl_ledger_rec l;

	a.retrans = 2;
	a.retrans_ns = 1003 * MS;
	a.drops = 2;
	a.drop_ns = 1002 * MS;
	/* b's only drop and retransmit came after its request ended: teardown. */
	b.retrans = 1;
	b.retrans_ns = 1100 * MS;
	b.drops = 1;
	b.drop_ns = 1100 * MS;
	rc_traces_add(t, &a, "TC_INGRESS");
	rc_traces_add(t, &b, "TCP_OLD_DATA");
	rc_traces_index(t);
	l = lrec(0, 7, 999 * MS, 1010 * MS);
	assert_int_equal(rc_traces_request(t, &l, false, &q), 1);
	assert_int_equal(q.retrans, 2);
	assert_int_equal(q.drops, 2);
	assert_true(q.reason >= 0);
	assert_string_equal(t->reasons[q.reason], "TC_INGRESS");
	l = lrec(1, 8, 999 * MS, 1010 * MS);
	assert_int_equal(rc_traces_request(t, &l, false, &q), 1);
	assert_int_equal(q.retrans, 0);
	assert_int_equal(q.drops, 0);
	assert_int_equal(q.reason, -1);
	assert_int_equal(t->with_drops, 1);
	assert_int_equal(t->with_retrans, 1);
	assert_int_equal(t->total_faulted, 1);
	rc_traces_free(t);
}

static void test_slowest_failed(void **state)
{
	struct rc_traces *t = rc_traces_new(2, 100);
	struct fl_ledger_rec l;

	for (int i = 0; i < 5; i++) {
		struct rc_trace_rec x = xch(100 + i, 1000 * MS, false);

		rc_traces_add(t, &x, NULL);
	}
	rc_traces_index(t);
	for (int i = 0; i < 5; i++) {
		l = lrec(i, 100 + i, 999 * MS, 1000 * MS + (uint64_t)(10 + (i * 7) % 5) * MS);
		if (i == 1)
			l.outcome = FL_OUT_TIMEOUT;
		rc_traces_request(t, &l, i == 4, NULL);
	}
	rc_traces_finish(t);
	/* latencies (ms): 11, 13, 15, 12, 14 (+1 for the 999 ms send): the slowest two, 2 and 4 */
	assert_int_equal(t->n_slow, 2);
	assert_string_equal(t->slow[0].id, "0000000000000abc-0-2");
	assert_string_equal(t->slow[1].id, "0000000000000abc-0-4");
	assert_int_equal(t->n_failed, 1);
	assert_string_equal(t->failed[0].id, "0000000000000abc-0-1");
	assert_int_equal(t->n_faulted, 1);
	assert_true(t->faulted[0].in_fault);
	rc_traces_free(t);
}

static const char *write_gz(const char *text)
{
	static char path[64];
	gzFile gz;
	int fd;

	snprintf(path, sizeof(path), "/tmp/fl-test-traces.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	gz = gzopen(path, "wb");
	assert_non_null(gz);
	gzputs(gz, text);
	gzclose(gz);
	return path;
}

#define HDR                                                                                        \
	"{\"type\":\"header\",\"format\":\"faultline-reqtrace\",\"version\":1,\"hook\":\"raw_"     \
	"tp\"}\n"
#define REC(c)                                                                                     \
	"{\"cookie\":" #c ",\"send_start_ns\":100,\"send_end_ns\":110,\"rx_first_ns\":200,"        \
	"\"recv_end_ns\":300,\"drops\":1,\"drop_ns\":150,\"drop_reason\":\"TC_INGRESS\","          \
	"\"flags\":0}\n"

static void test_load(void **state)
{
	struct rc_traces *t = rc_traces_new(2, 10);
	char err[256];
	const char *p;

	p = write_gz(HDR REC(5)
			 REC(6) "{\"cookie\":0,\"send_start_ns\":1}\n"
				"{\"type\":\"end\",\"records\":3,\"lost\":4,\"noslot\":1}\n");
	assert_int_equal(rc_traces_load(t, p, err, sizeof(err)), 0);
	unlink(p);
	assert_int_equal(t->n, 2); /* the record without a cookie is left out */
	assert_int_equal(t->lost, 4);
	assert_int_equal(t->noslot, 1);
	assert_int_equal(t->truncated, 0);
	assert_string_equal(t->hook, "raw_tp");
	assert_int_equal(t->recs[0].drops, 1);
	assert_string_equal(t->reasons[t->recs[0].reason], "TC_INGRESS");
	/* A file without its end line (the tracer was killed): read, counted. */
	p = write_gz(HDR REC(7));
	assert_int_equal(rc_traces_load(t, p, err, sizeof(err)), 0);
	unlink(p);
	assert_int_equal(t->truncated, 1);
	assert_int_equal(t->n, 3);
	/* Not ours; not JSON in the middle; empty; no file. */
	p = write_gz("{\"type\":\"header\",\"format\":\"other\"}\n" REC(8));
	assert_int_equal(rc_traces_load(t, p, err, sizeof(err)), -EPROTO);
	unlink(p);
	p = write_gz(HDR "garbage\n" REC(9));
	assert_int_equal(rc_traces_load(t, p, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "line 2"));
	unlink(p);
	p = write_gz("");
	assert_int_equal(rc_traces_load(t, p, err, sizeof(err)), -EPROTO);
	unlink(p);
	assert_true(rc_traces_load(t, "/nonexistent/x.gz", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/x.gz"));
	rc_traces_free(t);
}

static void test_json(void **state)
{
	struct rc_traces *t = rc_traces_new(5, 10);
	struct rc_trace_rec x = xch(7, 1000 * MS, true);
	struct fl_ledger_rec l = lrec(0, 7, 999 * MS, 1010 * MS);
	json_t *j, *w;

	rc_traces_add(t, &x, NULL);
	rc_traces_index(t);
	rc_traces_request(t, &l, false, NULL);
	rc_traces_finish(t);
	j = rc_traces_json(t);
	w = json_object_get(json_object_get(j, "stages"), "wire_service");
	assert_int_equal(json_integer_value(json_object_get(w, "count")), 1);
	/* 5 ms = 5000 us: log2 bucket [4096, 8191] */
	assert_int_equal(json_integer_value(json_object_get(w, "p50_us")), 8191);
	assert_int_equal(json_array_size(json_object_get(j, "slowest")), 1);
	json_decref(j);
	rc_traces_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stages),
	    cmocka_unit_test(test_join_by_cookie_and_time),
	    cmocka_unit_test(test_drops_attributed),
	    cmocka_unit_test(test_slowest_failed),
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
