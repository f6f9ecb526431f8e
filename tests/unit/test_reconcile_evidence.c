// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Attribution by evidence, the adversarial table of docs/reconcile.md: for
 * every rule a failure that must be explained (and in which class) and one
 * that must not. Synthetic ledgers, receipts and event logs, written here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>
#include <jansson.h>
#include "ledger.h"
#include "hist.h"
#include "reconcile.h"
#include "rc_evidence_fix.h"

/* A drop never explains a status the service sent, even on the request's
 * own 5-tuple; it does explain a timeout on it. */
static void test_status_never_by_drop(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {
	    {.outcome = FL_OUT_STATUS,
	     .status = 500,
	     .lport = 40001,
	     .laddr = 1,
	     .paddr = 2,
	     .pport = 80,
	     .rstatus = 500},
	    TIMEOUT(40002),
	    OK(40003),
	};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 3, NULL);
	ev_window(&f, 1, "loss", at(0), at(3));
	ev_tcp(&f, 1, "drop", at(0) + MS, 1, 40001, 2, 80, NULL);
	ev_tcp(&f, 1, "drop", at(1) + MS, 1, 40002, 2, 80, NULL);
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.failed, 2);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 1);
	assert_int_equal(r.c.unexplained, 1);
	assert_true(unexplained(&r, 0));
	assert_string_equal(r.unexplained[0].client, "status 500");
	assert_string_equal(r.unexplained[0].service, "status 500");
	rc_result_free(&r);
	fix_close(&f);
}

/* The 5-tuple, both addresses and ports, in either direction: another
 * local port, peer port, peer address or local address explains nothing. */
static void test_tuple(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {TIMEOUT(40000), TIMEOUT(40001), TIMEOUT(40002),
			  TIMEOUT(40003), TIMEOUT(40004), TIMEOUT(40005)};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 6, NULL);
	ev_window(&f, 1, "loss", at(0), at(6));
	ev_tcp(&f, 1, "drop", at(0) + MS, 1, 40000, 2, 80, NULL); /* ours, to the service */
	ev_tcp(&f, 1, "drop", at(1) + MS, 2, 80, 1, 40001, NULL); /* ours, the reply */
	ev_tcp(&f, 1, "drop", at(2) + MS, 1, 40099, 2, 80, NULL); /* another local port */
	ev_tcp(&f, 1, "drop", at(3) + MS, 1, 40003, 2, 81, NULL); /* another service port */
	ev_tcp(&f, 1, "drop", at(4) + MS, 1, 40004, 9, 80, NULL); /* another service address */
	ev_tcp(&f, 1, "drop", at(5) + MS, 7, 40005, 2, 80, NULL); /* another client address */
	/* ours, but UDP */
	ev(&f, 1, "drop", at(2) + 2 * MS,
	   "\"proto\":\"udp\",\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"sport\":40002,"
	   "\"dport\":80");
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 2);
	assert_int_equal(r.c.unexplained, 4);
	for (unsigned s = 2; s < 6; s++)
		assert_true(unexplained(&r, s));
	rc_result_free(&r);
	fix_close(&f);
}

/* An event without ports (ICMP) beside TCP failures explains none; a
 * request that never had a local port matches no event by its ports, only
 * by its socket. */
static void test_portless(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {TIMEOUT(40000), TIMEOUT(0), TIMEOUT(0)};

	(void)state;
	q[2].cookie = 0xabc;
	fix_open(&f);
	write_reqs(&f, q, 3, NULL);
	ev_window(&f, 1, "ping", at(0), at(3));
	for (unsigned s = 0; s < 3; s++)
		ev(&f, 1, "drop", at(s) + MS,
		   "\"dir\":\"ingress\",\"proto\":\"icmp\",\"src\":\"10.0.0.1\",\"dst\":\"10.0.0."
		   "2\"");
	ev_tcp(&f, 1, "drop", at(1) + MS, 1, 0, 2, 80, NULL); /* port 0: not ours */
	ev_tcp(&f, 1, "drop", at(2) + MS, 1, 40100, 2, 80, "\"cookie\":2748"); /* its socket */
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 1);
	assert_int_equal(r.c.unexplained, 2);
	assert_true(unexplained(&r, 0));
	assert_true(unexplained(&r, 1));
	rc_result_free(&r);
	fix_close(&f);
}

/* A dropped SYN: the connect attempt's port is in the ledger, so the
 * connect failure (or timeout) matches by 5-tuple; outside the request's
 * window it does not. */
static void test_syn_drop(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {
	    {.outcome = FL_OUT_CONNECT,
	     .err = ETIMEDOUT,
	     .lport = 40000,
	     .laddr = 1,
	     .paddr = 2,
	     .pport = 80},
	    {.outcome = FL_OUT_CONNECT,
	     .err = ETIMEDOUT,
	     .lport = 40001,
	     .laddr = 1,
	     .paddr = 2,
	     .pport = 80},
	};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 2, NULL);
	ev_window(&f, 1, "syn", at(0), at(2) + 5 * SEC);
	ev_tcp(&f, 1, "drop", at(0) + MS, 1, 40000, 2, 80, NULL);
	ev_tcp(&f, 1, "drop", at(1) + 3 * SEC, 1, 40001, 2, 80, NULL); /* long after */
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 1);
	assert_int_equal(r.c.missing_explained, 1);
	assert_true(unexplained(&r, 1));
	rc_result_free(&r);
	fix_close(&f);
}

/* A latency event explains a timeout only when its delay took the request
 * past its deadline; never a status. */
static void test_latency(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {TIMEOUT(40000),
			  TIMEOUT(40001),
			  {.outcome = FL_OUT_STATUS,
			   .status = 503,
			   .lport = 40002,
			   .laddr = 1,
			   .paddr = 2,
			   .pport = 80,
			   .rstatus = 503},
			  OK(40003)};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 4, NULL);
	ev_window(&f, 1, "slow", at(0), at(4));
	ev_tcp(&f, 1, "latency", at(0) + MS, 1, 40000, 2, 80, "\"delay_ns\":1500000000");
	ev_tcp(&f, 1, "latency", at(1) + MS, 1, 40001, 2, 80, "\"delay_ns\":10000000");
	ev_tcp(&f, 1, "latency", at(2) + MS, 1, 40002, 2, 80, "\"delay_ns\":1500000000");
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 1);
	assert_int_equal(r.c.unexplained, 2);
	assert_true(unexplained(&r, 1));
	assert_true(unexplained(&r, 2));
	rc_result_free(&r);
	fix_close(&f);
}

/* A socket-call errno explains the failure with that errno on that socket
 * only. */
static void test_errno(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {
	    {.outcome = FL_OUT_CONNECT, .err = ECONNREFUSED, .cookie = 11},
	    {.outcome = FL_OUT_CONNECT, .err = ECONNREFUSED, .cookie = 12},
	    {.outcome = FL_OUT_RESET, .err = ECONNRESET, .cookie = 13},
	};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 3, NULL);
	ev_window(&f, 3, "refuse", at(0), at(3));
	ev(&f, 3, "errno", at(0) + MS, "\"pid\":7,\"cookie\":11,\"errno\":111");
	ev(&f, 3, "errno", at(1) + MS,
	   "\"pid\":7,\"cookie\":99,\"errno\":111"); /* another socket */
	ev(&f, 3, "errno", at(2) + MS, "\"pid\":7,\"cookie\":13,\"errno\":111"); /* other errno */
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 1);
	assert_true(unexplained(&r, 1));
	assert_true(unexplained(&r, 2));
	assert_string_equal(r.unexplained[0].client, "connect (errno 111)");
	assert_string_equal(r.unexplained[1].client, "reset (errno 104)");
	rc_result_free(&r);
	fix_close(&f);
}

/* The service's receipt names its upstream and a drop hit that upstream's
 * address and port while the request was there: dependency, and the chain
 * is named. Another upstream port, another upstream address, no upstream
 * named, or the drop outside the request's window: unexplained. */
static void test_dependency(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {
	    GW(40000, "\"10.0.0.3:5432\""),
	    GW(40001, "{\"addr\":\"10.0.0.3:5432\",\"status\":504}"),
	    GW(40002, "\"10.0.0.3:5433\""),
	    GW(40003, "\"10.0.0.4:5432\""),
	    GW(40004, NULL),
	    GW(40005, "\"10.0.0.3:5432\""),
	    OK(40006),
	};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 7, NULL);
	ev_window(&f, 5, "db-outage", at(0), at(5));
	for (unsigned s = 0; s < 5; s++) /* the API's connections to the database */
		ev_tcp(&f, 5, "drop", at(s) + 2 * MS, 2, 50000 + s, 3, 5432, NULL);
	ev_tcp(&f, 5, "drop", at(5) + 3 * SEC, 2, 50005, 3, 5432, NULL);
	/* on the client's own connection but a status: still not direct */
	ev_tcp(&f, 5, "drop", at(4) + MS, 1, 40004, 2, 80, NULL);
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.explained_by[RC_EX_DEPENDENCY], 2);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 0);
	assert_int_equal(r.c.unexplained, 4);
	for (unsigned s = 2; s < 6; s++)
		assert_true(unexplained(&r, s));
	assert_int_equal(r.n_faults, 1);
	assert_int_equal(r.faults[0].explained_by[RC_EX_DEPENDENCY], 2);
	assert_int_equal(r.n_chains, 1);
	assert_string_equal(r.chains[0].service, "10.0.0.2:80");
	assert_string_equal(r.chains[0].upstream, "10.0.0.3:5432");
	assert_int_equal(r.chains[0].fault_id, 5);
	assert_int_equal(r.chains[0].n, 2);
	assert_non_null(strstr(r.unexplained[0].service, "upstream 10.0.0.3:5433"));
	rc_result_free(&r);
	fix_close(&f);
}

/* Receipts that name no upstream: unexplained, unless the scenario
 * declared the effect; then declared, but only of the declared form and
 * inside the window plus grace. */
static void test_declared(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {
	    GW(40000, NULL), /* 504 in the window: declared */
	    {.outcome = FL_OUT_STATUS,
	     .status = 500,
	     .lport = 40001,
	     .laddr = 1,
	     .paddr = 2,
	     .pport = 80,
	     .rstatus = 500}, /* 500 not declared */
	    TIMEOUT(40002),   /* timeout declared */
	    {.outcome = FL_OUT_RESET,
	     .err = ECONNRESET,
	     .lport = 40003,
	     .laddr = 1,
	     .paddr = 2,
	     .pport = 80},   /* reset not declared */
	    GW(40004, NULL), /* inside the grace */
	    OK(40005),
	    OK(40006),
	    GW(40007, NULL), /* after the grace */
	};
	struct rc_declared d = {.fault_id = 5,
				.statuses = {502, 504},
				.n_statuses = 2,
				.forms = RC_FORM_BIT(RC_FORM_TIMEOUT),
				.grace_ns = SEC};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 8, NULL);
	ev_window(&f, 5, "db-outage", at(0), at(3) + 50 * MS);
	assert_int_equal(run(&f, &d, 1, &r), 1);
	assert_int_equal(r.c.explained_by[RC_EX_DECLARED], 3);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT] + r.c.explained_by[RC_EX_DEPENDENCY], 0);
	assert_int_equal(r.c.unexplained, 3);
	assert_true(unexplained(&r, 1));
	assert_true(unexplained(&r, 3));
	assert_true(unexplained(&r, 7));
	assert_true(r.faults[0].declared);
	assert_int_equal(r.faults[0].explained_by[RC_EX_DECLARED], 3);
	rc_result_free(&r);
	fix_close(&f);

	/* the same without the declaration: all six unexplained */
	fix_open(&f);
	write_reqs(&f, q, 8, NULL);
	ev_window(&f, 5, "db-outage", at(0), at(3) + 50 * MS);
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.unexplained, 6);
	assert_int_equal(r.c.explained, 0);
	rc_result_free(&r);
	fix_close(&f);
}

/* A version 1 ledger (no addresses): the service's address and port come
 * from the URL; both ports must still match. */
static void test_v1_ledger(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {TIMEOUT(40000), TIMEOUT(40001)};
	struct fl_ledger_hdr h = {0};
	struct fl_ledger_rec rec;
	gzFile gz;

	(void)state;
	q[0].laddr = q[1].laddr = 0;
	fix_open(&f);
	write_reqs(&f, q, 2, "http://10.0.0.2:8080/x");
	/* rewrite the ledger as version 1: 96-byte records */
	{
		struct fl_ledger_reader *lr;
		struct fl_ledger_rec v[2];

		assert_int_equal(fl_ledger_open(f.ledger, &lr, &h), 0);
		assert_int_equal(fl_ledger_next(lr, &v[0]), 1);
		assert_int_equal(fl_ledger_next(lr, &v[1]), 1);
		fl_ledger_close(lr);
		h.version = 1;
		h.rec_size = FL_LEDGER_V1_REC;
		gz = gzopen(f.ledger, "wb");
		assert_non_null(gz);
		gzwrite(gz, &h, sizeof(h));
		for (int i = 0; i < 2; i++) {
			rec = v[i];
			gzwrite(gz, &rec, FL_LEDGER_V1_REC);
		}
		gzclose(gz);
	}
	ev_window(&f, 1, "loss", at(0), at(2));
	ev_tcp(&f, 1, "drop", at(0) + MS, 1, 40000, 2, 8080, NULL);
	ev_tcp(&f, 1, "drop", at(1) + MS, 1, 40001, 2, 80, NULL); /* not the URL's port */
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 1);
	assert_true(unexplained(&r, 1));
	rc_result_free(&r);
	fix_close(&f);
}

/* nginx's upstream variables: the last upstream tried, its status. */
struct got {
	char up[64];
	int up_status, status, n;
};

static int on_rc(const struct rc_receipt *rc, void *arg)
{
	struct got *g = arg;

	g->n++;
	snprintf(g->up, sizeof(g->up), "%.*s", (int)rc->upstream_len,
		 rc->upstream ? rc->upstream : "");
	g->up_status = rc->upstream_status;
	g->status = rc->status;
	return 0;
}

static void test_nginx_upstream(void **state)
{
	static const struct {
		const char *line, *up;
		int status, up_status;
	} t[] = {
	    {"1790000000.100 00c0ffee00c0ffee-0-1 504 5.001 10.0.0.3:5432 504 -", "10.0.0.3:5432",
	     504, 504},
	    {"1790000000.100 00c0ffee00c0ffee-0-1 502 0.002 10.0.0.4:5432, 10.0.0.3:5432 502, "
	     "502 0.001, -",
	     "10.0.0.3:5432", 502, 502},
	    {"1790000000.100 00c0ffee00c0ffee-0-1 200 0.002 - - -", "", 200, 0},
	    {"1790000000.100 00c0ffee00c0ffee-0-1 200 0.002", "", 200, 0},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct got g = {0};

		assert_int_equal(rc_receipts_parse("nginx", t[i].line, strlen(t[i].line), on_rc, &g,
						   err, sizeof(err)),
				 0);
		assert_int_equal(g.n, 1);
		assert_string_equal(g.up, t[i].up);
		assert_int_equal(g.status, t[i].status);
		assert_int_equal(g.up_status, t[i].up_status);
	}
}

/* A fault the run could not inject fails the verdict, whatever else
 * passed, and the report names it; without it the same run passes. */
static void test_run_errors(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {OK(40000), OK(40001)};
	const char *why[] = {"faults[0] (drop on veth9) could not be injected: no such device"};
	const char *l[] = {f.ledger}, *rc[] = {f.receipts};
	struct rc_inputs in = {.ledgers = l, .n_ledgers = 1, .receipts = rc, .n_receipts = 1};
	char err[256], path[200], buf[8192];
	FILE *fp;
	size_t n;

	(void)state;
	fix_open(&f);
	gzclose(f.ev);
	write_reqs(&f, q, 2, NULL);
	in.out_dir = f.out;
	assert_int_equal(reconcile(&in, &r, err, sizeof(err)), 0);
	rc_result_free(&r);
	in.run_errors = why;
	in.n_run_errors = 1;
	assert_int_equal(reconcile(&in, &r, err, sizeof(err)), 1);
	assert_false(r.pass);
	assert_int_equal(r.n_run_errors, 1);
	rc_result_free(&r);
	snprintf(path, sizeof(path), "%s/report.md", f.out);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(buf, "The run itself failed"));
	assert_non_null(strstr(buf, "could not be injected: no such device"));
	assert_non_null(strstr(buf, "**Verdict: FAIL**"));
	fix_close(&f);
}

/* Percentile ranks are exact: p99.9 of 1..1000 is 999 (in doubles,
 * ceil(99.9 / 100 * 1000) is 1000). */
static void test_exact_ranks(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[1000];

	(void)state;
	assert_int_equal(hist_rank(99.9, 1000), 999);
	assert_int_equal(hist_rank(99, 100), 99);
	assert_int_equal(hist_rank(50, 1), 1);
	assert_int_equal(hist_rank(100, 1000), 1000);
	assert_int_equal(hist_rank(0.1, 1000), 1);
	assert_int_equal(hist_rank(99.99, 10000), 9999);
	assert_int_equal(hist_rank(99.9, 1001), 1000); /* 999.999: the next rank */
	for (unsigned i = 0; i < 1000; i++)
		q[i] = (struct req)OK(40000 + i);
	fix_open(&f);
	write_reqs(&f, q, 1000, NULL);
	/* latencies 1..1000 ns: exact in the histogram */
	{
		struct fl_ledger_reader *lr;
		struct fl_ledger_hdr h;
		struct fl_ledger_rec *v = calloc(1000, sizeof(*v));
		struct fl_ledger_writer *w;

		assert_non_null(v);
		assert_int_equal(fl_ledger_open(f.ledger, &lr, &h), 0);
		assert_int_equal(fl_ledger_read(lr, v, 1000), 1000);
		fl_ledger_close(lr);
		for (unsigned i = 0; i < 1000; i++) {
			v[i].latency_ns = i + 1;
			v[i].done_ns = v[i].sched_ns + i + 1;
		}
		assert_int_equal(fl_ledger_create(f.ledger, &h, &w), 0);
		assert_int_equal(fl_ledger_write(w, v, 1000), 0);
		assert_int_equal(fl_ledger_finish(w, NULL), 0);
		free(v);
	}
	assert_int_equal(run(&f, NULL, 0, &r), 0);
	assert_true(r.all.p999_ms * 1e6 > 998.5 && r.all.p999_ms * 1e6 < 999.5);
	assert_true(r.all.p50_ms * 1e6 > 499.5 && r.all.p50_ms * 1e6 < 500.5);
	rc_result_free(&r);
	fix_close(&f);
}

/* The accounting defaults (no missing, ghosts, duplicates, unexplained)
 * hold when objectives say something else; a file overrides each by name,
 * null drops the check. */
static void test_defaults(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {TIMEOUT(40000), OK(40001)};
	const char *l[] = {f.ledger}, *rc[] = {f.receipts};
	struct rc_inputs in = {.ledgers = l, .n_ledgers = 1, .receipts = rc, .n_receipts = 1};
	static const char *const cases[][2] = {
	    {"{\"error_rate_max\": 1}", "1"},
	    {"{\"error_rate_max\": 1, \"unexplained_max\": 1, \"missing_max\": 1}", "0"},
	    {"{\"unexplained_max\": null, \"missing_max\": null}", "0"},
	    {"{\"unexplained_max\": 1}", "1"}, /* missing still 0 */
	};
	char err[256];

	(void)state;
	fix_open(&f);
	gzclose(f.ev);
	write_reqs(&f, q, 2, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = json_loads(cases[i][0], 0, NULL);

		assert_non_null(o);
		in.objectives = o;
		assert_int_equal(reconcile(&in, &r, err, sizeof(err)), atoi(cases[i][1]));
		rc_result_free(&r);
		json_decref(o);
	}
	fix_close(&f);
}

/* Value at risk: the mix entries' "value" summed over the requests
 * missing, duplicated and failed (each once in the total); entries without
 * a value count 0; a bad value is an error. */
static void test_value_at_risk(void **state)
{
	struct fix f;
	struct rc_result r;
	/* entry 0: 100.0, entry 1: 2.5, entry 2: no value */
	struct req q[] = {
	    OK(40000),	    /* entry 0, fine */
	    TIMEOUT(40001), /* entry 0, failed and missing: 100 */
	    OK(40002),	    /* entry 1, received twice: 2.5 */
	    OK(40003),	    /* entry 1, missing: 2.5 */
	    TIMEOUT(40004), /* entry 2: 0 */
	};
	static const uint16_t mix[] = {0, 0, 1, 1, 2};
	const char *l[] = {f.ledger}, *rc[] = {f.receipts};
	struct rc_inputs in = {.ledgers = l, .n_ledgers = 1, .receipts = rc, .n_receipts = 1};
	char err[256], mixf[200];
	FILE *fp;

	(void)state;
	q[3].rstatus = 0;
	fix_open(&f);
	gzclose(f.ev);
	write_reqs(&f, q, 5, NULL);
	{ /* set the mix entries, and a second receipt of seq 2 */
		struct fl_ledger_reader *lr;
		struct fl_ledger_hdr h;
		struct fl_ledger_rec v[5];
		struct fl_ledger_writer *w;
		char id[FL_REQ_ID_LEN];

		assert_int_equal(fl_ledger_open(f.ledger, &lr, &h), 0);
		assert_int_equal(fl_ledger_read(lr, v, 5), 5);
		fl_ledger_close(lr);
		for (int i = 0; i < 5; i++)
			v[i].mix = mix[i];
		assert_int_equal(fl_ledger_create(f.ledger, &h, &w), 0);
		assert_int_equal(fl_ledger_write(w, v, 5), 0);
		assert_int_equal(fl_ledger_finish(w, NULL), 0);
		fp = fopen(f.receipts + 7, "a");
		fl_req_id_format(id, sizeof(id), RUN, 0, 2);
		fprintf(fp, "{\"id\":\"%s\",\"status\":200}\n", id);
		fclose(fp);
	}
	snprintf(mixf, sizeof(mixf), "%s/mix.json", f.dir);
	fp = fopen(mixf, "w");
	fputs("[{\"path\":\"/pay\",\"value\":100},{\"path\":\"/small\",\"value\":2.5},"
	      "{\"path\":\"/free\"}]",
	      fp);
	fclose(fp);
	in.mix = mixf;
	assert_int_equal(reconcile(&in, &r, err, sizeof(err)), 1);
	assert_true(r.c.has_value);
	assert_true(r.c.value_missing > 102.4 && r.c.value_missing < 102.6); /* 100 + 2.5 */
	assert_true(r.c.value_duplicated > 2.4 && r.c.value_duplicated < 2.6);
	assert_true(r.c.value_failed > 99.9 && r.c.value_failed < 100.1);
	assert_true(r.c.value_at_risk > 104.9 && r.c.value_at_risk < 105.1);
	rc_result_free(&r);
	in.mix = NULL; /* no mix: no value */
	assert_int_equal(reconcile(&in, &r, err, sizeof(err)), 1);
	assert_false(r.c.has_value);
	rc_result_free(&r);
	fp = fopen(mixf, "w");
	fputs("[{\"path\":\"/pay\",\"value\":\"lots\"}]", fp);
	fclose(fp);
	in.mix = mixf;
	assert_int_equal(reconcile(&in, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "request 0: value must be a number >= 0"));
	rc_result_free(&r);
	fix_close(&f);
}

/* exec:COMMAND prints NDJSON or CSV (its first line says which); a
 * command that fails is an error; a CSV header needs an id column. */
struct seen {
	int n, status;
	char id[64], key[64], up[64];
};

static int on_seen(const struct rc_receipt *rc, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->status = rc->status;
	snprintf(s->id, sizeof(s->id), "%.*s", (int)rc->id_len, rc->id ? rc->id : "");
	snprintf(s->key, sizeof(s->key), "%.*s", (int)rc->key_len, rc->key ? rc->key : "");
	snprintf(s->up, sizeof(s->up), "%.*s", (int)rc->upstream_len,
		 rc->upstream ? rc->upstream : "");
	return 0;
}

static void test_exec_receipts(void **state)
{
	char err[256];
	struct seen s = {0};

	(void)state;
	assert_int_equal(rc_receipts_read("exec:printf '{\"id\":\"a-1\",\"status\":201}\\n'",
					  on_seen, &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.id, "a-1");
	assert_int_equal(s.status, 201);
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    rc_receipts_read("exec:printf 'status,key,id,upstream\\n200,\"k,1\",b-2,\\n503,k2,b-3,"
			     "10.0.0.3:5432\\n'",
			     on_seen, &s, err, sizeof(err)),
	    0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.id, "b-3");
	assert_string_equal(s.key, "k2");
	assert_string_equal(s.up, "10.0.0.3:5432");
	assert_int_equal(s.status, 503);
	memset(&s, 0, sizeof(s));
	{
		static const char good[] = "id,key\nc-1,\"x \"\"y\"\"\"\n",
				  open[] = "id,key\nc-1,\"x \"\"y\"\"\n";

		assert_int_equal(
		    rc_receipts_parse("csv", good, strlen(good), on_seen, &s, err, sizeof(err)), 0);
		assert_string_equal(s.key, "x \"y\"");
		assert_int_equal(
		    rc_receipts_parse("csv", open, strlen(open), on_seen, &s, err, sizeof(err)),
		    -EINVAL);
		assert_non_null(strstr(err, "quoted field that does not end"));
	}
	/* not so */
	assert_int_equal(rc_receipts_read("exec:echo hi; exit 3", on_seen, &s, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "must name an \"id\" column"));
	assert_int_equal(rc_receipts_read("exec:exit 3", on_seen, &s, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "failed: exit 3"));
	assert_int_equal(
	    rc_receipts_read("exec:printf 'id,status\\nd-1,ok\\n'", on_seen, &s, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "status 'ok' is not an HTTP status"));
	assert_int_equal(rc_receipts_read("pg:", on_seen, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "needs a query"));
}

/* Inject records take a fast path (a flat object, as agentd writes them)
 * or jansson's (anything else): the same verdict either way, and the same
 * error for a record without its fault. */
static void test_event_paths(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {TIMEOUT(40000), TIMEOUT(40001), TIMEOUT(40002)};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 3, NULL);
	ev_window(&f, 1, "loss", at(0), at(3));
	ev_tcp(&f, 1, "drop", at(0) + MS, 1, 40000, 2, 80, NULL);
	ev_tcp(&f, 1, "drop", at(1) + MS, 1, 40001, 2, 80, "\"comm\":\"lo\\\"ad\"");
	ev_tcp(&f, 1, "drop", at(2) + MS, 1, 40002, 2, 80, "\"x\":{\"y\":[1.5]}");
	assert_int_equal(run(&f, NULL, 0, &r), 0);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 3);
	assert_int_equal(r.c.events_inject, 3);
	rc_result_free(&r);
	fix_close(&f);
	fix_open(&f);
	write_reqs(&f, q, 1, NULL);
	gzprintf(f.ev, "{\"type\":\"inject\",\"wall_ns\":5,\"host\":\"h\",\"kind\":\"drop\"}\n");
	assert_int_equal(run(&f, NULL, 0, &r), -EINVAL);
	rc_result_free(&r);
	fix_close(&f);
}

/* The kinds' rules come from the kind registry: a syscall delay explains
 * the timeout it caused on its socket; a CPU cap (slowness) and a kill
 * (no connection named) explain no failure directly. */
static void test_kinds_from_registry(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {
	    {.outcome = FL_OUT_TIMEOUT, .cookie = 21},
	    {.outcome = FL_OUT_TIMEOUT, .cookie = 22},
	    {.outcome = FL_OUT_RESET, .err = ECONNRESET, .cookie = 23},
	    {.outcome = FL_OUT_TIMEOUT, .cookie = 24},
	};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 4, NULL);
	ev_window(&f, 4, "mixed", at(0), at(4));
	ev(&f, 4, "syscall-latency", at(0) + MS,
	   "\"pid\":9,\"syscall\":\"recvfrom\",\"cookie\":21,\"delay_ns\":1500000000");
	ev(&f, 4, "cpu", at(1) + MS, "\"pid\":9,\"cookie\":22");
	ev(&f, 4, "kill", at(2) + MS, "\"pid\":9,\"cookie\":23");
	ev(&f, 4, "syscall-latency", at(3) + MS,
	   "\"pid\":9,\"syscall\":\"recvfrom\",\"cookie\":24,\"delay_ns\":1000000");
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 1);
	assert_int_equal(r.c.unexplained, 3);
	assert_false(unexplained(&r, 0));
	rc_result_free(&r);
	fix_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_never_by_drop),
	    cmocka_unit_test(test_tuple),
	    cmocka_unit_test(test_portless),
	    cmocka_unit_test(test_syn_drop),
	    cmocka_unit_test(test_latency),
	    cmocka_unit_test(test_errno),
	    cmocka_unit_test(test_dependency),
	    cmocka_unit_test(test_declared),
	    cmocka_unit_test(test_v1_ledger),
	    cmocka_unit_test(test_nginx_upstream),
	    cmocka_unit_test(test_run_errors),
	    cmocka_unit_test(test_exact_ranks),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_value_at_risk),
	    cmocka_unit_test(test_exec_receipts),
	    cmocka_unit_test(test_event_paths),
	    cmocka_unit_test(test_kinds_from_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
