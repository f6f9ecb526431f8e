// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agent/trace: bucket layout, the histogram document, its text rendering,
 * and the checks of what agentctl trace is asked to watch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "tracer.h"

static void test_slot_range(void **state)
{
	uint64_t lo, hi;

	fl_trace_slot_range(0, &lo, &hi);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 1);
	fl_trace_slot_range(1, &lo, &hi);
	assert_int_equal(lo, 2);
	assert_int_equal(hi, 3);
	fl_trace_slot_range(10, &lo, &hi);
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 2047);
	/* Adjacent buckets neither overlap nor leave a gap. */
	for (unsigned i = 1; i < FL_TRACE_SLOTS; i++) {
		uint64_t plo, phi;

		fl_trace_slot_range(i - 1, &plo, &phi);
		fl_trace_slot_range(i, &lo, &hi);
		assert_int_equal(lo, phi + 1);
	}
}

static json_int_t geti(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void test_hist_empty(void **state)
{
	struct fl_trace_hist h = {0};
	json_t *o = fl_trace_hist_json(&h);

	assert_non_null(o);
	assert_int_equal(geti(o, "count"), 0);
	assert_int_equal(geti(o, "p50_us"), 0);
	assert_int_equal(geti(o, "p99_us"), 0);
	assert_true(json_real_value(json_object_get(o, "mean_us")) == 0.0);
	assert_int_equal(json_array_size(json_object_get(o, "hist")), 0);
	json_decref(o);
}

static void test_hist_quantiles(void **state)
{
	struct fl_trace_hist h = {0};
	json_t *o, *b;

	h.slots[0] = 90;  /* 0..1 us */
	h.slots[10] = 10; /* 1024..2047 us */
	h.count = 100;
	h.sum_ns = 90 * 500 + 10 * 1500000ULL;
	o = fl_trace_hist_json(&h);
	assert_int_equal(geti(o, "count"), 100);
	assert_int_equal(geti(o, "p50_us"), 1);
	assert_int_equal(geti(o, "p99_us"), 2047);
	assert_true(json_real_value(json_object_get(o, "mean_us")) > 150.0);
	assert_true(json_real_value(json_object_get(o, "mean_us")) < 151.0);
	/* Only the buckets that hold something, in order. */
	assert_int_equal(json_array_size(json_object_get(o, "hist")), 2);
	b = json_array_get(json_object_get(o, "hist"), 1);
	assert_int_equal(geti(b, "lo"), 1024);
	assert_int_equal(geti(b, "hi"), 2047);
	assert_int_equal(geti(b, "count"), 10);
	json_decref(o);

	/* p50 exactly on a bucket's edge: 50 of 100 in slot 2 -> its top. */
	memset(&h, 0, sizeof(h));
	h.slots[2] = 50;
	h.slots[3] = 50;
	h.count = 100;
	o = fl_trace_hist_json(&h);
	assert_int_equal(geti(o, "p50_us"), 7);
	assert_int_equal(geti(o, "p99_us"), 15);
	json_decref(o);
}

static void test_print(void **state)
{
	struct fl_trace_hist h = {0};
	json_t *sys, *doc, *conn;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	h.slots[0] = 1000;
	h.count = 1000;
	h.sum_ns = 400000;
	sys = fl_trace_hist_json(&h);
	json_object_set_new(sys, "syscall", json_string("getppid"));
	doc = json_pack("{s:s,s:f,s:s,s:{s:i},s:[o],s:o,s:i,s:[{s:s,s:i,s:i}]}", "time",
			"2026-12-01T00:00:00.000Z", "interval_s", 1.0, "hook", "tp_btf", "filter",
			"pid", 42, "syscalls", sys, "runq", fl_trace_hist_json(&h), "retransmits",
			3, "drops", "reason", "TC_INGRESS", "code", 77, "count", 5);
	assert_non_null(doc);
	json_object_set_new(doc, "connect", json_array());
	json_object_set_new(doc, "rtt", json_array());
	conn = fl_trace_hist_json(&h);
	json_object_set_new(conn, "port", json_integer(8080));
	json_object_set_new(conn, "pid", json_integer(77));
	json_object_set_new(conn, "comm", json_string("curl"));
	json_array_append_new(json_object_get(doc, "connect"), conn);
	f = open_memstream(&buf, &len);
	fl_trace_print(doc, f);
	fclose(f);
	assert_non_null(strstr(buf, "hook tp_btf"));
	assert_non_null(strstr(buf, "pid 42"));
	assert_non_null(strstr(buf, "getppid"));
	assert_non_null(strstr(buf, "1000"));
	assert_non_null(strstr(buf, "tcp retransmits (all ports): 3"));
	assert_non_null(strstr(buf, "TC_INGRESS"));
	assert_null(strstr(buf, "drops (all ports): none"));
	/* A connect row with its port and process; no RTT seen. */
	assert_non_null(strstr(buf, "8080   77       curl"));
	assert_non_null(strstr(buf, "tcp rtt (srtt): none"));
	free(buf);
	json_decref(doc);
}

/* Two intervals add up; the exposition is cumulative bucket by bucket,
 * +Inf equals _count, _sum is in seconds, labels are escaped. */
static void test_prom(void **state)
{
	struct fl_trace_prom *p = fl_trace_prom_new();
	struct fl_trace_hist h = {0};
	char *buf = NULL;
	size_t len = 0;
	json_t *doc, *sys;
	FILE *f;

	assert_non_null(p);
	h.slots[0] = 3; /* 0-1 us */
	h.slots[4] = 2; /* 16-31 us */
	h.count = 5;
	h.sum_ns = 50000;
	for (int i = 0; i < 2; i++) {
		sys = fl_trace_hist_json(&h);
		json_object_set_new(sys, "syscall", json_string("re\"ad"));
		doc = json_pack("{s:[o],s:o,s:[],s:[],s:I,s:[{s:s,s:i}]}", "syscalls", sys, "runq",
				fl_trace_hist_json(&h), "connect", "rtt", "retransmits",
				(json_int_t)2, "drops", "reason", "TC_INGRESS", "count", 4);
		assert_non_null(doc);
		assert_int_equal(fl_trace_prom_add(p, doc), 0);
		json_decref(doc);
	}
	f = open_memstream(&buf, &len);
	fl_trace_prom_write(p, f);
	fclose(f);
	assert_non_null(strstr(buf, "# TYPE faultline_trace_syscall_latency_seconds histogram\n"));
	assert_non_null(strstr(buf, "faultline_trace_syscall_latency_seconds_bucket{syscall="
				    "\"re\\\"ad\",le=\"0.000002\"} 6\n"));
	assert_non_null(strstr(buf, "faultline_trace_syscall_latency_seconds_bucket{syscall="
				    "\"re\\\"ad\",le=\"0.000016\"} 6\n"));
	assert_non_null(strstr(buf, "faultline_trace_syscall_latency_seconds_bucket{syscall="
				    "\"re\\\"ad\",le=\"0.000032\"} 10\n"));
	assert_non_null(strstr(buf, "faultline_trace_syscall_latency_seconds_bucket{syscall="
				    "\"re\\\"ad\",le=\"+Inf\"} 10\n"));
	assert_non_null(strstr(
	    buf,
	    "faultline_trace_syscall_latency_seconds_sum{syscall=\"re\\\"ad\"} 0.000100000\n"));
	assert_non_null(strstr(buf, "faultline_trace_runqueue_latency_seconds_count 10\n"));
	assert_non_null(strstr(buf, "faultline_trace_drops_total{reason=\"TC_INGRESS\"} 8\n"));
	assert_non_null(strstr(buf, "faultline_trace_tcp_retransmits_total 4\n"));
	assert_non_null(strstr(buf, "faultline_trace_intervals_total 2\n"));
	free(buf);
	fl_trace_prom_free(p);
}

static void test_check(void **state)
{
	struct fl_trace_opts o = {.hook = FL_HOOK_AUTO};
	char err[256];

	assert_int_equal(fl_trace_check(&o, err, sizeof(err)), 0);
	o.pid = getpid();
	assert_int_equal(fl_trace_check(&o, err, sizeof(err)), 0);
	o.pid = 0x7ffffffe; /* above any pid_max */
	assert_int_equal(fl_trace_check(&o, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "no process"));
	o.pid = 0;
	o.comm = "";
	assert_int_equal(fl_trace_check(&o, err, sizeof(err)), -EINVAL);
	o.comm = "a-name-of-sixteen";
	assert_int_equal(fl_trace_check(&o, err, sizeof(err)), -EINVAL);
	o.comm = "fifteen-bytes-x";
	assert_int_equal(fl_trace_check(&o, err, sizeof(err)), 0);
	o.comm = NULL;
	o.cgroup = "/nonexistent/cgroup";
	assert_int_equal(fl_trace_check(&o, err, sizeof(err)), -ENOENT);
	o.cgroup = "/etc/hostname"; /* a file, not a directory */
	assert_int_equal(fl_trace_check(&o, err, sizeof(err)), -ENOENT);
}

static void test_hook_names(void **state)
{
	for (int h = 0; h < FL_HOOK_MAX; h++)
		assert_int_equal(fl_trace_hook_parse(fl_trace_hook_name(h)), h);
	assert_int_equal(fl_trace_hook_parse("kprobe"), -EINVAL);
	assert_int_equal(fl_trace_hook_parse(""), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slot_range),	   cmocka_unit_test(test_hist_empty),
	    cmocka_unit_test(test_hist_quantiles), cmocka_unit_test(test_print),
	    cmocka_unit_test(test_prom),	   cmocka_unit_test(test_check),
	    cmocka_unit_test(test_hook_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
