// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The event record's JSON text (agent/daemon/event_json.c): every kind's
 * fields with their JSON types, strings escaped and made valid UTF-8 (what
 * jansson and every reader can parse), and a buffer too small refused. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <jansson.h>
#include "errno_names.h"
#include "event_json.h"
#include "registry.h"

/* The record parsed back, strictly (jansson refuses bad UTF-8). */
static json_t *parsed(const struct fl_event *e, const char *host)
{
	char buf[EVENT_JSON_MAX];
	json_error_t jerr;
	size_t n = event_json_format(e, 1700000000123456789ULL, host, buf, sizeof(buf));
	json_t *j;

	assert_true(n > 0);
	assert_int_equal(strlen(buf), n);
	assert_null(strchr(buf, '\n'));
	j = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		print_error("not JSON (%s): %s\n", jerr.text, buf);
	assert_non_null(j);
	return j;
}

static const char *str(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t num(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_packet(void **state)
{
	struct fl_event e = {.ts_ns = 123456789012ULL,
			     .value = 50000000,
			     .fault_id = 7,
			     .kind = FL_KIND_LATENCY,
			     .dir = FL_DIR_EGRESS,
			     .family = AF_INET,
			     .proto = IPPROTO_TCP,
			     .sport = 40000,
			     .dport = 8080,
			     .ifindex = 3,
			     .saddr = {10, 0, 0, 1},
			     .daddr = {10, 0, 0, 2}};
	json_t *j = parsed(&e, "h");

	(void)state;
	assert_string_equal(str(j, "type"), "inject");
	assert_int_equal(num(j, "wall_ns"), 1700000000123456789LL);
	assert_int_equal(num(j, "mono_ns"), 123456789012LL);
	assert_string_equal(str(j, "host"), "h");
	assert_int_equal(num(j, "fault_id"), 7);
	assert_string_equal(str(j, "kind"), "latency");
	assert_string_equal(str(j, "dir"), "egress");
	assert_int_equal(num(j, "ifindex"), 3);
	assert_string_equal(str(j, "proto"), "tcp");
	assert_string_equal(str(j, "src"), "10.0.0.1");
	assert_string_equal(str(j, "dst"), "10.0.0.2");
	assert_int_equal(num(j, "sport"), 40000);
	assert_int_equal(num(j, "dport"), 8080);
	assert_int_equal(num(j, "delay_ns"), 50000000);
	/* Nothing it has not got: no pid, comm, cookie or syscall. */
	assert_null(json_object_get(j, "pid"));
	assert_null(json_object_get(j, "comm"));
	assert_null(json_object_get(j, "cookie"));
	assert_null(json_object_get(j, "syscall"));
	assert_int_equal(json_object_size(j), 14);
	json_decref(j);

	/* IPv6, an unnamed protocol: a number, no ports. */
	memset(e.saddr, 0, 16);
	memset(e.daddr, 0, 16);
	e.saddr[15] = 1;
	e.daddr[0] = 0xfd, e.daddr[15] = 2;
	e.family = AF_INET6;
	e.proto = 132;
	e.kind = FL_KIND_DROP;
	e.dir = FL_DIR_INGRESS;
	e.cookie = 0xffffffffffffffffULL; /* written as the signed 64 bits it is */
	j = parsed(&e, "h");
	assert_string_equal(str(j, "src"), "::1");
	assert_string_equal(str(j, "dst"), "fd00::2");
	assert_int_equal(num(j, "proto"), 132);
	assert_string_equal(str(j, "dir"), "ingress");
	assert_null(json_object_get(j, "sport"));
	assert_null(json_object_get(j, "delay_ns"));
	assert_int_equal(num(j, "cookie"), -1);
	json_decref(j);
}

static void test_process_kinds(void **state)
{
	struct fl_event e = {.ts_ns = 1, .fault_id = 2, .pid = 4242, .kind = FL_KIND_ERRNO};
	json_t *j;

	(void)state;
	e.sysno = 257; /* openat on x86-64; the name comes from errno_names */
	e.value = 28;
	memcpy(e.comm, "postgres", 8);
	j = parsed(&e, "h");
	assert_string_equal(str(j, "syscall"), fl_syscall_name(257));
	assert_int_equal(num(j, "errno"), 28);
	assert_string_equal(str(j, "errno_name"), fl_errno_name(28));
	assert_int_equal(num(j, "pid"), 4242);
	assert_string_equal(str(j, "comm"), "postgres");
	assert_null(json_object_get(j, "dir"));
	json_decref(j);

	e.kind = FL_KIND_KILL;
	e.value = 9;
	j = parsed(&e, "h");
	assert_string_equal(str(j, "signal"), "KILL");
	json_decref(j);

	e.kind = FL_KIND_PAUSE;
	e.value = 0;
	j = parsed(&e, "h");
	assert_string_equal(str(j, "action"), "resume");
	json_decref(j);

	/* A CPU cap: the quota a real number, also when it is whole. */
	e.kind = FL_KIND_CPU;
	e.value = 250000;
	j = parsed(&e, "h");
	assert_string_equal(str(j, "action"), "cap");
	assert_true(json_is_real(json_object_get(j, "quota")));
	assert_true(json_real_value(json_object_get(j, "quota")) == 0.25);
	json_decref(j);
	e.value = 2000000;
	j = parsed(&e, "h");
	assert_true(json_is_real(json_object_get(j, "quota")));
	assert_true(json_real_value(json_object_get(j, "quota")) == 2.0);
	json_decref(j);
	e.value = 0;
	j = parsed(&e, "h");
	assert_string_equal(str(j, "action"), "restore");
	assert_null(json_object_get(j, "quota"));
	json_decref(j);
}

/* A comm is any 16 bytes a process chose; a host name any the admin did. */
static void test_strings(void **state)
{
	struct fl_event e = {
	    .ts_ns = 1, .fault_id = 2, .pid = 1, .kind = FL_KIND_KILL, .value = 15};
	json_t *j;

	(void)state;
	memcpy(e.comm, "a\"b\\c\n\x01", 8);
	j = parsed(&e, "ho\"st\t");
	assert_string_equal(str(j, "comm"), "a\"b\\c\n\x01");
	assert_string_equal(str(j, "host"), "ho\"st\t");
	json_decref(j);

	/* Valid UTF-8 kept; a lone continuation byte, a cut sequence, an
	 * overlong form and a surrogate each become U+FFFD. */
	memset(e.comm, 0, sizeof(e.comm));
	memcpy(e.comm, "\xc3\xa9\x80z\xe2\x82\xc0\x80\xed\xa0\x80", 12);
	j = parsed(&e, "h");
	assert_string_equal(str(j, "comm"),
			    "\xc3\xa9\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);

	/* All 16 bytes used: no NUL, the comm is 16 long. */
	memcpy(e.comm, "0123456789abcdef", 16);
	j = parsed(&e, "h");
	assert_string_equal(str(j, "comm"), "0123456789abcdef");
	json_decref(j);
}

static void test_small_buffer(void **state)
{
	struct fl_event e = {.ts_ns = 1, .fault_id = 2, .kind = FL_KIND_DROP};
	char buf[EVENT_JSON_MAX];
	size_t n = event_json_format(&e, 5, "h", buf, sizeof(buf));

	(void)state;
	assert_true(n > 0);
	/* n bytes and its NUL fit; one byte less does not. */
	assert_int_equal(event_json_format(&e, 5, "h", buf, n + 1), n);
	assert_int_equal(event_json_format(&e, 5, "h", buf, n), 0);
	assert_int_equal(event_json_format(&e, 5, "h", buf, 3), 0);
}

/* The jansson form is the same record. */
static void test_to_json(void **state)
{
	struct fl_event e = {.ts_ns = 9, .fault_id = 3, .kind = FL_KIND_DROP, .family = AF_INET};
	json_t *j = event_to_json(&e, 11, "h"), *k = parsed(&e, "h");

	(void)state;
	assert_non_null(j);
	assert_int_equal(num(j, "wall_ns"), 11);
	json_object_set_new(k, "wall_ns", json_integer(11));
	assert_true(json_equal(j, k));
	json_decref(j);
	json_decref(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_packet),  cmocka_unit_test(test_process_kinds),
	    cmocka_unit_test(test_strings), cmocka_unit_test(test_small_buffer),
	    cmocka_unit_test(test_to_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
