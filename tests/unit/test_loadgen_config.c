// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* What people type: URLs, SLOs, profiles, mix files; and the arrival schedule. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "lg_req.h"
#include "lg_sched.h"
#include "lg_slo.h"

static void test_url(void **state)
{
	struct lg_url u;
	char why[256];
	static const char *const bad[] = {
	    "ftp://x/",		  "http://",	      "http:///x",    "http://host:0/",
	    "http://host:65536/", "http://host:12x/", "http://[::1/", "http://ho st/",
	    "127.0.0.1:80",	  "http://h/a b",
	};

	(void)state;
	assert_int_equal(url_parse("http://127.0.0.1:8080/a?b=1#frag", &u, why, sizeof(why)), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_string_equal(u.port, "8080");
	assert_string_equal(u.path, "/a?b=1");
	assert_string_equal(u.hosthdr, "127.0.0.1:8080");
	assert_false(u.https);
	assert_int_equal(url_parse("https://[::1]/", &u, why, sizeof(why)), 0);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "443");
	assert_string_equal(u.hosthdr, "[::1]");
	assert_string_equal(u.origin, "https://[::1]");
	assert_true(u.https);
	assert_int_equal(url_parse("http://example.com", &u, why, sizeof(why)), 0);
	assert_string_equal(u.path, "/");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (url_parse(bad[i], &u, why, sizeof(why)) != -EINVAL) {
			print_error("accepted bad URL %s\n", bad[i]);
			fail();
		}
		assert_true(strlen(why) > 0 && !strchr(why, '\n'));
	}
}

static void test_slo(void **state)
{
	struct lg_slo s;
	struct hist *h = hist_new();
	struct slo_input in = {.lat = h};
	char why[256];
	double a;

	(void)state;
	assert_int_equal(
	    slo_parse("p99<200ms,error_rate<0.1%,p99.9<=1s,rps>=10", &s, why, sizeof(why)), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.c[0].metric, SLO_PCT);
	assert_true(fabs(s.c[0].pct - 99) < 1e-9);
	assert_true(fabs(s.c[0].value - 200e6) < 1);
	assert_int_equal(s.c[1].metric, SLO_ERROR_RATE);
	assert_true(fabs(s.c[1].value - 0.001) < 1e-12);
	assert_int_equal(s.c[2].op, SLO_LE);
	assert_int_equal(s.c[3].metric, SLO_RPS);
	/* 1000 answers at 1 ms, 20 at 300 ms: p99 is 300 ms */
	for (int i = 0; i < 1000; i++)
		hist_record(h, 1000000);
	for (int i = 0; i < 20; i++)
		hist_record(h, 300000000);
	in.ok = 1020;
	in.failed = 0;
	in.rps = 100;
	assert_false(slo_eval(&s.c[0], &in, &a));
	assert_true(a > 299 && a < 301);
	assert_true(slo_eval(&s.c[1], &in, &a));
	in.failed = 2; /* 2 / 1022 = 0.2% */
	assert_false(slo_eval(&s.c[1], &in, &a));
	assert_true(slo_eval(&s.c[3], &in, NULL));
	assert_false(slo_eval_all(&s, &in));
	assert_int_equal(slo_parse("p50<2ms", &s, why, sizeof(why)), 0);
	assert_true(slo_eval_all(&s, &in));
	static const char *const bad[] = {
	    "",	      "p99",	    "p99<",	    "p99<abc",	      "p101<1s",
	    "p-1<1s", "latency<1s", "error_rate<2", "error_rate<-1%", "rps>x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (slo_parse(bad[i], &s, why, sizeof(why)) != -EINVAL) {
			print_error("accepted bad SLO '%s'\n", bad[i]);
			fail();
		}
	}
	hist_free(h);
}

static void test_profiles(void **state)
{
	struct lg_profile p;
	char why[256];
	uint32_t ph;

	(void)state;
	assert_int_equal(profile_parse("ramp:from=100,to=500,over=60s", 0, &p, why, sizeof(why)),
			 0);
	assert_true(fabs(profile_rate(&p, 0, &ph) - 100) < 1e-6);
	assert_true(fabs(profile_rate(&p, 30000000000ULL, &ph) - 300) < 1e-6);
	assert_true(fabs(profile_rate(&p, 90000000000ULL, &ph) - 500) < 1e-6);
	assert_int_equal(profile_parse("ramp:100->500:60s", 0, &p, why, sizeof(why)), 0);
	assert_true(fabs(profile_rate(&p, 30000000000ULL, &ph) - 300) < 1e-6);
	assert_int_equal(profile_parse("ramp:100->500", 0, &p, why, sizeof(why)), 0);
	assert_int_equal(p.over_ns, 60000000000ULL);
	assert_int_equal(profile_parse("ramp:100->x:60s", 0, &p, why, sizeof(why)), -EINVAL);
	assert_int_equal(profile_parse("ramp:100->500:soon", 0, &p, why, sizeof(why)), -EINVAL);
	assert_int_equal(
	    profile_parse("spike:base=100,factor=10,at=10s,for=5s", 0, &p, why, sizeof(why)), 0);
	assert_true(fabs(profile_rate(&p, 9000000000ULL, &ph) - 100) < 1e-6 && ph == 0);
	assert_true(fabs(profile_rate(&p, 12000000000ULL, &ph) - 1000) < 1e-6 && ph == 1);
	assert_true(fabs(profile_rate(&p, 16000000000ULL, &ph) - 100) < 1e-6 && ph == 2);
	assert_int_equal(
	    profile_parse("step:from=100,by=50,every=10s,steps=3", 0, &p, why, sizeof(why)), 0);
	assert_true(fabs(profile_rate(&p, 25000000000ULL, &ph) - 200) < 1e-6 && ph == 2);
	assert_true(fabs(profile_rate(&p, 95000000000ULL, &ph) - 200) < 1e-6);
	assert_int_equal(profile_parse("constant", 250, &p, why, sizeof(why)), 0);
	assert_true(fabs(profile_rate(&p, 5, &ph) - 250) < 1e-6);
	assert_int_equal(profile_parse("stress:from=10,by=10,every=1s", 0, &p, why, sizeof(why)),
			 0);
	assert_true(fabs(profile_rate(&p, 3500000000ULL, &ph) - 40) < 1e-6);

	static const char *const bad[] = {"bogus",
					  "ramp:to=5",
					  "ramp:from=1",
					  "spike:base=-1",
					  "step:from=10,every=0s",
					  "ramp:from=1,to=2,over=x",
					  "constant",
					  "spike:base=1,nope=2",
					  "ramp:from"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (profile_parse(bad[i], 0, &p, why, sizeof(why)) != -EINVAL) {
			print_error("accepted bad profile '%s'\n", bad[i]);
			fail();
		}
		assert_true(strlen(why) > 0);
	}
	assert_non_null(
	    strstr((profile_parse("nosuch", 1, &p, why, sizeof(why)), why), "unknown profile"));
}

/* The schedule itself: 2000/s for 10 s, two threads, is 20000 requests. */
static void test_sched_rate(void **state)
{
	struct lg_profile p;
	struct lg_sched s;
	char why[64];
	int a;

	(void)state;
	assert_int_equal(profile_parse("constant", 2000, &p, why, sizeof(why)), 0);
	for (a = ARRIVAL_UNIFORM; a <= ARRIVAL_POISSON; a++) {
		uint64_t n = 0;

		for (int t = 0; t < 2; t++) {
			sched_init(&s, &p, (enum lg_arrival)a, 0.5, 1000, 42 + t);
			while (sched_peek(&s) < 1000 + 10000000000ULL) {
				n++;
				sched_advance(&s);
			}
		}
		if (a == ARRIVAL_UNIFORM)
			assert_true(n >= 19998 && n <= 20002);
		else
			assert_true(n >= 19400 && n <= 20600); /* Poisson: 4 sigma */
	}
	/* the ramp's integral: 100->500 over 10 s is 3000 requests */
	assert_int_equal(profile_parse("ramp:from=100,to=500,over=10s", 0, &p, why, sizeof(why)),
			 0);
	{
		uint64_t n = 0;

		sched_init(&s, &p, ARRIVAL_UNIFORM, 1.0, 0, 1);
		while (sched_peek(&s) < 10000000000ULL) {
			n++;
			sched_advance(&s);
		}
		assert_true(n >= 2990 && n <= 3010);
	}
	/* a spike starts and ends on time: 200/s, 1000/s for 1 s, 200/s */
	assert_int_equal(
	    profile_parse("spike:base=200,factor=5,at=1s,for=1s", 0, &p, why, sizeof(why)), 0);
	{
		uint64_t ph[3] = {0};

		sched_init(&s, &p, ARRIVAL_UNIFORM, 1.0, 0, 1);
		while (sched_peek(&s) < 3000000000ULL) {
			ph[s.phase]++;
			sched_advance(&s);
		}
		assert_true(ph[0] >= 199 && ph[0] <= 201);
		assert_true(ph[1] >= 999 && ph[1] <= 1001);
		assert_true(ph[2] >= 199 && ph[2] <= 201);
	}
}

static char *write_tmp(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	strcpy(path, "/tmp/lg-mix-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_mix(void **state)
{
	struct lg_url u;
	struct lg_reqs rs;
	struct req_opts o = {.id_header = "X-Request-Id"};
	const char *hdr[] = {"X-Test: 1"};
	char why[256], var[REQ_VAR_MAX];
	unsigned hits[3] = {0};
	char *p;

	(void)state;
	assert_int_equal(url_parse("http://127.0.0.1:8080/base", &u, why, sizeof(why)), 0);
	p = write_tmp("{\"requests\":[{\"weight\":6,\"path\":\"/\",\"expect\":200},"
		      "{\"weight\":3,\"path\":\"/missing\",\"expect\":404},"
		      "{\"weight\":1,\"method\":\"POST\",\"path\":\"/o\",\"body\":\"{}\","
		      "\"headers\":{\"Content-Type\":\"application/json\"},\"expect\":[200,201],"
		      "\"idempotency\":\"Idempotency-Key\"}]}");
	o.mix_file = p;
	o.hdrs = hdr;
	o.nhdrs = 1;
	assert_int_equal(reqs_build(&rs, &u, &o, why, sizeof(why)), 0);
	unlink(p);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rs.total_weight, 10);
	for (uint64_t i = 0; i < 10000; i++)
		hits[reqs_pick(&rs, i * 7919)]++;
	assert_int_equal(hits[0], 6000);
	assert_int_equal(hits[1], 3000);
	assert_true(req_status_ok(&rs.r[1], 404));
	assert_false(req_status_ok(&rs.r[1], 200));
	assert_false(req_status_ok(&rs.r[0], 500));
	assert_true(req_status_ok(&rs.r[2], 201));
	assert_non_null(strstr(rs.r[2].head, "POST /o HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
	assert_non_null(strstr(rs.r[2].head, "X-Test: 1\r\n"));
	assert_non_null(strstr(rs.r[2].head, "Content-Length: 2\r\n"));
	assert_int_equal(rs.r[2].body_len, 2);
	req_var(&rs, &rs.r[2], var, "ID1", "KEY");
	assert_string_equal(var, "ID1\r\nIdempotency-Key: KEY\r\n\r\n");
	assert_string_equal(rs.r[0].head + rs.r[0].head_len - 14, "X-Request-Id: ");
	reqs_free(&rs);

	/* a Host header of our own replaces the URL's */
	{
		const char *h2[] = {"host: example.org"};
		struct req_opts o2 = {.id_header = "X-Request-Id", .hdrs = h2, .nhdrs = 1};

		assert_int_equal(reqs_build(&rs, &u, &o2, why, sizeof(why)), 0);
		assert_null(strstr(rs.r[0].head, "Host: 127.0.0.1"));
		assert_non_null(strstr(rs.r[0].head, "\r\nhost: example.org\r\n"));
		reqs_free(&rs);
	}
	/* no mix: one request, any 2xx/3xx is success */
	o.mix_file = NULL;
	assert_int_equal(reqs_build(&rs, &u, &o, why, sizeof(why)), 0);
	assert_int_equal(rs.n, 1);
	assert_true(req_status_ok(&rs.r[0], 302));
	assert_false(req_status_ok(&rs.r[0], 404));
	assert_non_null(strstr(rs.r[0].head, "GET /base HTTP/1.1\r\n"));
	reqs_free(&rs);

	static const char *const bad[] = {
	    "{\"requests\":[{\"weight\":0},{\"weight\":0}]}",
	    "{\"requests\":[]}",
	    "{\"requests\":[{\"weight\":-1}]}",
	    "{\"requests\":[{\"expect\":99}]}",
	    "{\"requests\":[{\"path\":\"nope\"}]}",
	    "{\"requests\":[{\"headers\":{\"Bad Name\":\"x\"}}]}",
	    "{\"requests\":[{\"idempotency\":5}]}",
	    "not json",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.mix_file = write_tmp(bad[i]);
		why[0] = '\0';
		if (reqs_build(&rs, &u, &o, why, sizeof(why)) != -EINVAL) {
			print_error("accepted bad mix '%s'\n", bad[i]);
			fail();
		}
		assert_true(strlen(why) > 0 && !strchr(why, '\n'));
		unlink(o.mix_file);
	}
	o.mix_file = "/nonexistent/mix.json";
	assert_int_equal(reqs_build(&rs, &u, &o, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "cannot read mix file"));
	o.mix_file = NULL;
	hdr[0] = "NoColon";
	assert_int_equal(reqs_build(&rs, &u, &o, why, sizeof(why)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url),	     cmocka_unit_test(test_slo),
	    cmocka_unit_test(test_profiles), cmocka_unit_test(test_sched_rate),
	    cmocka_unit_test(test_mix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
