// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The dependency rule for process faults (docs/reconcile.md, "dependency"):
 * a kill or pause whose start event says its target listened on the
 * upstream a receipt names explains the service's failures as a dependency
 * for the fault's whole window (plus its declared grace). The cases that
 * must not pass: another upstream address or port, outside the window, a
 * wildcard listener without the namespace's addresses, an IPv6 wildcard for
 * an IPv4 upstream, a UDP listener, a cpu cap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "rc_evidence_fix.h"

#define UP_DB "\"10.0.0.3:5432\""
#define TO(lp, up)                                                                                 \
	{                                                                                          \
		.outcome = FL_OUT_TIMEOUT, .lport = lp, .laddr = 1, .paddr = 2, .pport = 80,       \
		.rstatus = 504, .upstream = up                                                     \
	}

/* A process fault's window and its one start event (what agentd writes
 * for a pause's, a kill's or a cap's process), "listen" and the rest in
 * extra. */
static void proc_fault(struct fix *f, unsigned id, const char *kind, uint64_t start, uint64_t end,
		       const char *extra)
{
	char x[512];

	gzprintf(f->ev,
		 "{\"type\":\"start\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":%u,"
		 "\"backend\":\"freeze\",\"fault\":{\"kind\":\"%s\",\"name\":\"db-%s\"}}\n",
		 (unsigned long long)start, id, kind, kind);
	snprintf(x, sizeof(x), "\"pid\":4242,\"comm\":\"nginx\",%s", extra);
	ev(f, id, kind, start + MS, x);
	gzprintf(f->ev,
		 "{\"type\":\"end\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":%u,"
		 "\"reason\":\"cleared\"}\n",
		 (unsigned long long)end, id);
}

#define WILD                                                                                       \
	"\"netns\":4026532999,\"listen\":[{\"proto\":\"tcp\",\"dst\":\"0.0.0.0\",\"dport\":5432}," \
	"{\"proto\":\"tcp\",\"dst\":\"::\",\"dport\":5432}],"                                      \
	"\"netns_addrs\":[\"127.0.0.1\",\"10.0.0.3\",\"::1\"]"

/* A pause of the database (a wildcard listener): the API's 504s and
 * timeouts naming 10.0.0.3:5432 inside the window are dependency failures,
 * the one at its last second too (no event near it: the window counts);
 * another upstream address, another port, or after the window: not. */
static void test_pause_window(void **state)
{
	struct fix f;
	struct rc_result r;
	struct req q[] = {
	    GW(40000, UP_DB),		    /* 0: in the window */
	    TO(40001, UP_DB),		    /* 1: a timeout, in it */
	    GW(40002, "\"10.0.0.4:5432\""), /* 2: another upstream */
	    GW(40003, "\"10.0.0.3:5433\""), /* 3: another port */
	    GW(40004, UP_DB),		    /* 4: the window's last second */
	    GW(40005, NULL),		    /* 5: the receipt names none */
	    GW(40006, UP_DB),		    /* 6: after the window */
	    OK(40007),
	};

	(void)state;
	fix_open(&f);
	write_reqs(&f, q, 8, NULL);
	proc_fault(&f, 7, "pause", at(0), at(5) - 100 * MS, "\"action\":\"pause\"," WILD);
	ev(&f, 7, "pause", at(5) - 100 * MS,
	   "\"pid\":4242,\"comm\":\"nginx\",\"action\":\"resume\"");
	assert_int_equal(run(&f, NULL, 0, &r), 1);
	assert_int_equal(r.c.failed, 7);
	assert_int_equal(r.c.explained_by[RC_EX_DEPENDENCY], 3);
	assert_int_equal(r.c.explained_by[RC_EX_DIRECT], 0);
	assert_int_equal(r.c.unexplained, 4);
	assert_true(unexplained(&r, 2));
	assert_true(unexplained(&r, 3));
	assert_true(unexplained(&r, 5));
	assert_true(unexplained(&r, 6));
	assert_int_equal(r.faults[0].explained_by[RC_EX_DEPENDENCY], 3);
	assert_int_equal(r.n_chains, 1);
	assert_string_equal(r.chains[0].upstream, "10.0.0.3:5432");
	assert_string_equal(r.chains[0].fault_name, "db-pause");
	assert_int_equal(r.chains[0].n, 3);
	rc_result_free(&r);
	fix_close(&f);
}

/* A kill of a process bound to one address; then its window extended by
 * the grace its declared effects give: the failure 1.5 s after the end is
 * a dependency one, the one 3.5 s after is not (and no declared status
 * covers it). */
static void test_kill_grace(void **state)
{
	struct fix f;
	struct rc_result r;
	struct rc_declared d = {
	    .fault_id = 9, .statuses = {599}, .n_statuses = 1, .grace_ns = 2 * SEC};
	struct req q[] = {
	    GW(40000, UP_DB), GW(40001, UP_DB), GW(40002, UP_DB), GW(40003, UP_DB),
	    GW(40004, UP_DB), GW(40005, UP_DB), GW(40006, UP_DB),
	};

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		fix_open(&f);
		write_reqs(&f, q, 7, NULL);
		proc_fault(
		    &f, 9, "kill", at(0), at(2) + 500 * MS,
		    "\"signal\":\"KILL\",\"listen\":[{\"proto\":\"tcp\",\"dst\":\"10.0.0.3\","
		    "\"dport\":5432}]");
		assert_int_equal(run(&f, pass ? &d : NULL, pass ? 1 : 0, &r), 1);
		/* 0..2 in the window; with the grace also 3 and 4 (lo = at(s) - 200 ms) */
		assert_int_equal(r.c.explained_by[RC_EX_DEPENDENCY], pass ? 5 : 3);
		assert_int_equal(r.c.explained_by[RC_EX_DECLARED], 0);
		assert_true(unexplained(&r, 6));
		assert_true(unexplained(&r, 5));
		assert_int_equal(unexplained(&r, 3), !pass);
		rc_result_free(&r);
		fix_close(&f);
	}
}

/* What must not match: a wildcard with no addresses of its namespace, an
 * IPv6 wildcard for an IPv4 upstream, a UDP listener, and a cpu cap of the
 * database (slowness, not a failure) listening there. */
static void test_listen_not(void **state)
{
	static const struct {
		const char *kind, *extra;
	} cases[] = {
	    {"pause", "\"listen\":[{\"proto\":\"tcp\",\"dst\":\"0.0.0.0\",\"dport\":5432}]"},
	    {"pause", "\"listen\":[{\"proto\":\"tcp\",\"dst\":\"::\",\"dport\":5432}],"
		      "\"netns_addrs\":[\"10.0.0.3\",\"fe80::1\"]"},
	    {"kill", "\"listen\":[{\"proto\":\"udp\",\"dst\":\"10.0.0.3\",\"dport\":5432}]"},
	    {"cpu", "\"action\":\"cap\",\"quota\":0.1," WILD},
	};
	struct req q[] = {GW(40000, UP_DB), TO(40001, UP_DB)};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fix f;
		struct rc_result r;

		fix_open(&f);
		write_reqs(&f, q, 2, NULL);
		proc_fault(&f, 3, cases[i].kind, at(0), at(5), cases[i].extra);
		assert_int_equal(run(&f, NULL, 0, &r), 1);
		assert_int_equal(r.c.explained, 0);
		assert_int_equal(r.c.unexplained, 2);
		rc_result_free(&r);
		fix_close(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pause_window),
	    cmocka_unit_test(test_kill_grace),
	    cmocka_unit_test(test_listen_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
