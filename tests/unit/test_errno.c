// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The errno and syscall-latency kinds' parsers: syscall and errno names,
 * which calls take a path or a file, the socket calls, the documented
 * errnos; the protocol's params for both kinds, each rule with the case
 * that passes and the one refused; the round trip; the supervise request. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <cmocka.h>
#include <jansson.h>
#include "errno_names.h"
#include "event.h"
#include "proto.h"

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(fl_syscall_nr("openat"), SYS_openat);
	assert_int_equal(fl_syscall_nr("connect"), SYS_connect);
	assert_int_equal(fl_syscall_nr("write"), SYS_write);
	assert_string_equal(fl_syscall_name(SYS_openat), "openat");
	assert_string_equal(fl_syscall_name(-1), "?");
	assert_string_equal(fl_syscall_name(100000), "?");
	{
		static const char *const bad[] = {
		    "", "opnat", "OPENAT", "openat ", " openat", "open-at", "openat\n", "1", NULL};

		for (int i = 0; bad[i]; i++)
			assert_int_equal(fl_syscall_nr(bad[i]), -ENOENT);
		assert_int_equal(fl_syscall_nr(NULL), -ENOENT);
	}
	assert_int_equal(fl_errno_nr("ECONNREFUSED"), ECONNREFUSED);
	assert_int_equal(fl_errno_nr("ENOSPC"), ENOSPC);
	assert_int_equal(fl_errno_nr("EWOULDBLOCK"), EAGAIN);
	assert_int_equal(fl_errno_nr("ENOTSUP"), EOPNOTSUPP);
	assert_string_equal(fl_errno_name(EACCES), "EACCES");
	assert_string_equal(fl_errno_name(0), "?");
	{
		static const char *const bad[] = {"",  "econnrefused", "ECONNREFUSE", "111",
						  "E", "EIO ",	       "ERANGEX",     NULL};

		for (int i = 0; bad[i]; i++)
			assert_int_equal(fl_errno_nr(bad[i]), -ENOENT);
	}
}

static void test_calls(void **state)
{
	(void)state;
	assert_int_equal(fl_syscall_path_arg("openat"), 1);
	assert_int_equal(fl_syscall_path_arg("open"), 0);
	assert_int_equal(fl_syscall_path_arg("write"), -1);
	assert_int_equal(fl_syscall_fd_arg("write"), 0);
	assert_int_equal(fl_syscall_fd_arg("mmap"), 4);
	assert_int_equal(fl_syscall_fd_arg("openat"), -1);
	assert_int_equal(fl_syscall_path_arg("brk"), -1);
	assert_int_equal(fl_syscall_fd_arg("brk"), -1);
	assert_int_equal(fl_syscall_sock_call("connect"), FL_SOCK_CONNECT);
	assert_int_equal(fl_syscall_sock_call("sendto"), FL_SOCK_SENDMSG);
	assert_int_equal(fl_syscall_sock_call("socket"), FL_SOCK_CREATE);
	assert_int_equal(fl_syscall_sock_call("recvmsg"), FL_SOCK_NONE); /* no hook can fail it */
	assert_int_equal(fl_syscall_sock_call("openat"), FL_SOCK_NONE);
	assert_true(fl_syscall_may_return("connect", ECONNREFUSED));
	assert_true(fl_syscall_may_return("connect", EINTR)); /* nearly every call */
	assert_false(fl_syscall_may_return("connect", EIO));
	assert_true(fl_syscall_may_return("write", ENOSPC));
	assert_false(fl_syscall_may_return("write", ECONNREFUSED));
	assert_true(fl_syscall_may_return("read", EWOULDBLOCK));
	/* A name that is a prefix of a listed one is not listed. */
	assert_false(fl_syscall_may_return("bind", ENOTDIR));
	assert_true(fl_syscall_may_return("getpid", EIO)); /* not described: not checked */
}

static int inject(const char *fault, struct fl_request *req, char *err, size_t errlen)
{
	char line[2048];

	snprintf(line, sizeof(line), "{\"cmd\":\"inject\",\"fault\":%s}", fault);
	err[0] = '\0';
	return proto_parse_request(line, strlen(line), req, err, errlen);
}

static void test_params(void **state)
{
	struct fl_request req;
	char err[512];

	(void)state;
	assert_int_equal(inject("{\"kind\":\"errno\",\"target\":{\"cgroup\":\"a/b\",\"dst\":"
				"\"10.255.0.0/16\",\"dport\":\"80-90\"},\"params\":{\"syscall\":"
				"\"connect\",\"errno\":\"ECONNREFUSED\",\"prob\":\"30%\"}}",
				&req, err, sizeof(err)),
			 0);
	assert_int_equal(req.fault.kind, FL_KIND_ERRNO);
	assert_string_equal(req.fault.sys.syscall, "connect");
	assert_int_equal(req.fault.sys.nr, SYS_connect);
	assert_int_equal(req.fault.sys.err, ECONNREFUSED);
	assert_string_equal(req.fault.sys.warning, "");
	assert_int_equal(req.fault.target.match.dport_hi, 90);
	assert_string_equal(req.fault.target.cgroup, "a/b");

	/* An errno the call does not document: accepted, with a warning. */
	assert_int_equal(inject("{\"kind\":\"errno\",\"target\":{\"pid\":1},\"params\":{"
				"\"syscall\":\"connect\",\"errno\":\"EIO\"}}",
				&req, err, sizeof(err)),
			 0);
	assert_non_null(strstr(req.fault.sys.warning, "EIO is not among"));

	assert_int_equal(inject("{\"kind\":\"syscall-latency\",\"target\":{\"path\":\"/srv/\"},"
				"\"params\":{\"syscall\":\"write\",\"delay\":\"20ms\","
				"\"jitter\":\"5ms\"}}",
				&req, err, sizeof(err)),
			 0);
	assert_int_equal(req.fault.sys.delay_ns, 20000000ULL);
	assert_int_equal(req.fault.sys.jitter_ns, 5000000ULL);
	assert_int_equal(req.fault.sys.err, 0);

	/* A drop takes no syscall; the kinds take each other's params not. */
	static const struct {
		const char *fault, *says;
	} bad[] = {
	    {"{\"kind\":\"errno\",\"target\":{}}", "fault.params: missing"},
	    {"{\"kind\":\"errno\",\"target\":{},\"params\":{\"errno\":\"EIO\"}}",
	     "fault.params.syscall: missing"},
	    {"{\"kind\":\"errno\",\"target\":{},\"params\":{\"syscall\":\"openat\"}}",
	     "fault.params.errno: missing"},
	    {"{\"kind\":\"errno\",\"target\":{},\"params\":{\"syscall\":\"opnat\",\"errno\":"
	     "\"EIO\"}}",
	     "'opnat' is not a syscall"},
	    {"{\"kind\":\"errno\",\"target\":{},\"params\":{\"syscall\":\"openat\",\"errno\":"
	     "\"EBOGUS\"}}",
	     "'EBOGUS' is not an errno name"},
	    {"{\"kind\":\"errno\",\"target\":{},\"params\":{\"syscall\":\"openat\",\"errno\":5}}",
	     "fault.params.errno"},
	    {"{\"kind\":\"errno\",\"target\":{},\"params\":{\"syscall\":\"openat\",\"errno\":"
	     "\"EIO\",\"delay\":\"1s\"}}",
	     "fault.params: unknown field 'delay'"},
	    {"{\"kind\":\"syscall-latency\",\"target\":{},\"params\":{\"syscall\":\"write\","
	     "\"errno\":\"EIO\",\"delay\":\"1s\"}}",
	     "unknown field 'errno'"},
	    {"{\"kind\":\"syscall-latency\",\"target\":{},\"params\":{\"syscall\":\"write\"}}",
	     "fault.params.delay: missing"},
	    {"{\"kind\":\"syscall-latency\",\"target\":{},\"params\":{\"syscall\":\"write\","
	     "\"delay\":\"10ms\",\"jitter\":\"11ms\"}}",
	     "more than the delay"},
	    {"{\"kind\":\"syscall-latency\",\"target\":{},\"params\":{\"syscall\":\"write\","
	     "\"delay\":\"0s\"}}",
	     "fault.params.delay"},
	    {"{\"kind\":\"errno\",\"target\":{\"path\":\"/tmp\"},\"params\":{\"syscall\":"
	     "\"connect\",\"errno\":\"EIO\"}}",
	     "connect takes no path"},
	    {"{\"kind\":\"errno\",\"target\":{\"path\":\"/tmp\"},\"params\":{\"syscall\":"
	     "\"brk\",\"errno\":\"ENOMEM\"}}",
	     "brk takes no path"},
	    {"{\"kind\":\"errno\",\"target\":{\"path\":\"tmp\"},\"params\":{\"syscall\":"
	     "\"openat\",\"errno\":\"EIO\"}}",
	     "must be absolute"},
	    {"{\"kind\":\"errno\",\"target\":{\"dport\":80},\"params\":{\"syscall\":"
	     "\"openat\",\"errno\":\"EIO\"}}",
	     "need connect, bind, sendto or sendmsg"},
	    {"{\"kind\":\"errno\",\"target\":{\"sport\":80},\"params\":{\"syscall\":"
	     "\"connect\",\"errno\":\"EIO\"}}",
	     "a call has one address"},
	    {"{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},\"params\":{\"syscall\":\"write\"}}",
	     "unknown field 'syscall'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = inject(bad[i].fault, &req, err, sizeof(err));

		if (ret != -EINVAL || !strstr(err, bad[i].says) || strchr(err, '\n')) {
			print_error("%s\n  -> %d '%s', wanted '%s'\n", bad[i].fault, ret, err,
				    bad[i].says);
			fail();
		}
	}
}

static void test_round_trip(void **state)
{
	static const char *const faults[] = {
	    "{\"kind\":\"errno\",\"target\":{\"comm\":\"curl\",\"dport\":443},\"params\":{"
	    "\"syscall\":\"connect\",\"errno\":\"ECONNREFUSED\",\"prob\":0.5}}",
	    "{\"kind\":\"syscall-latency\",\"target\":{\"pid\":7,\"path\":\"/srv/db/\"},"
	    "\"params\":{\"syscall\":\"fsync\",\"delay\":\"250ms\",\"jitter\":\"10ms\"}}",
	};
	struct fl_request a, b;
	char err[512];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		json_t *j;
		char *s;

		assert_int_equal(inject(faults[i], &a, err, sizeof(err)), 0);
		j = fault_spec_to_json(&a.fault);
		s = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		assert_int_equal(inject(s, &b, err, sizeof(err)), 0);
		free(s);
		assert_memory_equal(&a.fault, &b.fault, sizeof(a.fault));
	}
}

static void test_supervise(void **state)
{
	struct fl_request req;
	char err[512];
	const char *ok = "{\"cmd\":\"supervise\",\"pid\":42,\"trap\":[\"openat\",\"write\"]}";

	(void)state;
	assert_int_equal(proto_parse_request(ok, strlen(ok), &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, FL_CMD_SUPERVISE);
	assert_int_equal(req.pid, 42);
	assert_true(req.trap[SYS_openat / 64] >> (SYS_openat % 64) & 1);
	assert_true(req.trap[SYS_write / 64] >> (SYS_write % 64) & 1);
	assert_false(req.trap[SYS_read / 64] >> (SYS_read % 64) & 1);
	static const char *const bad[] = {
	    "{\"cmd\":\"supervise\",\"trap\":[\"openat\"]}",
	    "{\"cmd\":\"supervise\",\"pid\":0,\"trap\":[\"openat\"]}",
	    "{\"cmd\":\"supervise\",\"pid\":4,\"trap\":[]}",
	    "{\"cmd\":\"supervise\",\"pid\":4,\"trap\":[\"opnat\"]}",
	    "{\"cmd\":\"supervise\",\"pid\":4,\"trap\":\"openat\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    proto_parse_request(bad[i], strlen(bad[i]), &req, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),     cmocka_unit_test(test_calls),
	    cmocka_unit_test(test_params),    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_supervise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
