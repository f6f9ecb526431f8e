// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The control protocol: every request the agent takes, every one it refuses
 * (with a one-line reason naming the field), and the fault object's round trip. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <jansson.h>
#include "event.h"
#include "proto.h"
#include "registry.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int parse(const char *line, struct fl_request *req, char *err, size_t errlen)
{
	err[0] = '\0';
	return proto_parse_request(line, strlen(line), req, err, errlen);
}

/* A one-line, non-empty reason. */
static void assert_one_line(const char *line, const char *err)
{
	if (!*err || strchr(err, '\n') || strchr(err, '\r')) {
		print_error("%s\n  -> reason not one non-empty line: '%s'\n", line, err);
		fail();
	}
}

static void test_valid(void **state)
{
	struct fl_request req;
	char err[512];

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"status\"}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, FL_CMD_STATUS);
	assert_int_equal(parse(" {\"cmd\" : \"doctor\"} \r", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, FL_CMD_DOCTOR);
	assert_int_equal(parse("{\"cmd\":\"list\"}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, FL_CMD_LIST);
	assert_int_equal(parse("{\"cmd\":\"clear\",\"id\":7}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, FL_CMD_CLEAR);
	assert_int_equal(req.id, 7);
	assert_false(req.all);
	assert_int_equal(parse("{\"cmd\":\"clear\",\"id\":4294967295}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.id, 4294967295U);
	assert_int_equal(parse("{\"cmd\":\"clear\",\"all\":true}", &req, err, sizeof(err)), 0);
	assert_true(req.all);

	/* The smallest inject: kind and device; the defaults fill the rest. */
	assert_int_equal(
	    parse(
		"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"eth0\"}}}",
		&req, err, sizeof(err)),
	    0);
	assert_int_equal(req.cmd, FL_CMD_INJECT);
	assert_false(req.dry_run);
	assert_int_equal(req.fault.kind, FL_KIND_DROP);
	assert_string_equal(req.fault.target.dev, "eth0");
	assert_int_equal(req.fault.target.dir, FL_DIR_INGRESS);
	assert_float_equal(req.fault.prob, 1.0, 0);
	assert_int_equal(req.fault.duration_ns, 0);
	assert_false(req.fault.force);
	assert_int_equal(req.fault.target.match.family, 0);
	assert_int_equal(req.fault.target.match.proto, 0);
	assert_int_equal(req.fault.target.match.dport_lo, 0);

	/* Every field, in the forms people write. */
	assert_int_equal(parse("{\"cmd\":\"inject\",\"dry_run\":true,\"fault\":{\"kind\":\"drop\","
			       "\"name\":\"web-1.a:b_c\",\"backend\":\"tc\",\"duration\":\"250ms\","
			       "\"force\":true,\"target\":{\"dev\":\"veth0\",\"netns\":\"pid:42\","
			       "\"direction\":\"egress\",\"proto\":\"udp\",\"src\":\"fd00::1/64\","
			       "\"dst\":\"fd00::2\",\"sport\":\"1000-2000\",\"dport\":53},"
			       "\"params\":{\"prob\":\"30%\"}}}",
			       &req, err, sizeof(err)),
			 0);
	assert_true(req.dry_run);
	assert_string_equal(req.fault.name, "web-1.a:b_c");
	assert_string_equal(req.fault.backend, "tc");
	assert_int_equal(req.fault.duration_ns, 250000000ULL);
	assert_true(req.fault.force);
	assert_string_equal(req.fault.target.netns, "pid:42");
	assert_int_equal(req.fault.target.dir, FL_DIR_EGRESS);
	assert_int_equal(req.fault.target.match.proto, IPPROTO_UDP);
	assert_int_equal(req.fault.target.match.family, AF_INET6);
	assert_string_equal(req.fault.target.src, "fd00::1/64");
	assert_int_equal(req.fault.target.match.sport_lo, 1000);
	assert_int_equal(req.fault.target.match.sport_hi, 2000);
	assert_int_equal(req.fault.target.match.dport_lo, 53);
	assert_int_equal(req.fault.target.match.dport_hi, 53);
	assert_float_equal(req.fault.prob, 0.3, 1e-12);

	/* Numbers where numbers make sense. */
	assert_int_equal(
	    parse("{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":2.5,"
		  "\"target\":{\"dev\":\"lo\",\"proto\":\"icmp\"},\"params\":{\"prob\":0}}}",
		  &req, err, sizeof(err)),
	    0);
	assert_int_equal(req.fault.duration_ns, 2500000000ULL);
	assert_float_equal(req.fault.prob, 0, 0);
	assert_int_equal(req.fault.target.match.family, AF_INET); /* icmp is IPv4 */
	/* One step of the 32-bit draw is the smallest probability there is. */
	assert_int_equal(
	    parse("{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\","
		  "\"target\":{\"dev\":\"lo\"},\"params\":{\"prob\":2.3283064365386963e-10}}}",
		  &req, err, sizeof(err)),
	    0);
	assert_true(req.fault.prob * 4294967296.0 >= 1.0);
	assert_int_equal(
	    parse("{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
		  "\"proto\":\"icmp6\"}}}",
		  &req, err, sizeof(err)),
	    0);
	assert_int_equal(req.fault.target.match.family, AF_INET6);

	/* The length is what counts, not a NUL: the line need not end in one. */
	assert_int_equal(
	    proto_parse_request("{\"cmd\":\"list\"}garbage", 14, &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, FL_CMD_LIST);
}

static void test_invalid(void **state)
{
	/* Each line, and a part of the reason that says what is wrong where. */
	static const struct {
		const char *line, *says;
	} bad[] = {
	    /* not a request at all */
	    {"", "malformed JSON"},
	    {"garbage", "malformed JSON"},
	    {"{\"cmd\":\"status\"", "malformed JSON"},
	    {"{\"cmd\":\"status\"} x", "malformed JSON"},
	    {"[]", "must be a JSON object"},
	    {"[{\"cmd\":\"status\"}]", "must be a JSON object"},
	    {"42", "malformed JSON"},
	    {"\"status\"", "malformed JSON"},
	    {"null", "malformed JSON"},
	    {"{\"cmd\":\"status\",\"cmd\":\"list\"}", "duplicate object key near '\"cmd\"'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"kind\":\"drop\",\"target\":{"
	     "\"dev\":\"lo\"}}}",
	     "duplicate object key near '\"kind\"'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\",\"dev\":"
	     "\"eth0\"}}}",
	     "duplicate object key near '\"dev\"'"},
	    /* the request */
	    {"{}", "request.cmd"},
	    {"{\"cmd\":1}", "request.cmd"},
	    {"{\"cmd\":null}", "request.cmd"},
	    {"{\"cmd\":\"frobnicate\"}", "unknown command 'frobnicate'"},
	    {"{\"cmd\":\"STATUS\"}", "unknown command 'STATUS'"},
	    {"{\"cmd\":\"status\",\"bogus\":1}", "request: unknown field 'bogus'"},
	    {"{\"cmd\":\"inject\",\"dry_run\":\"yes\",\"fault\":{\"kind\":\"drop\",\"target\":{"
	     "\"dev\":\"lo\"}}}",
	     "request.dry_run"},
	    {"{\"cmd\":\"clear\"}", "request.id"},
	    {"{\"cmd\":\"clear\",\"id\":0}", "request.id"},
	    {"{\"cmd\":\"clear\",\"id\":-3}", "request.id"},
	    {"{\"cmd\":\"clear\",\"id\":\"3\"}", "request.id"},
	    {"{\"cmd\":\"clear\",\"id\":1.5}", "request.id"},
	    {"{\"cmd\":\"clear\",\"id\":4294967296}", "request.id"},
	    {"{\"cmd\":\"clear\",\"all\":false}", "request.id"},
	    /* the fault */
	    {"{\"cmd\":\"inject\"}", "fault"},
	    {"{\"cmd\":\"inject\",\"fault\":[]}", "fault: must be an object"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"target\":{\"dev\":\"lo\"}}}", "fault.kind: missing"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":7,\"target\":{\"dev\":\"lo\"}}}",
	     "fault.kind: must be a string"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"explode\",\"target\":{\"dev\":\"lo\"}}}",
	     "fault.kind: 'explode'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"bogus\":true,\"target\":{\"dev\":"
	     "\"lo\"}}}",
	     "fault: unknown field 'bogus'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"name\":5,\"target\":{\"dev\":"
	     "\"lo\"}}}",
	     "fault.name: must be a string"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"name\":\"a "
	     "b\",\"target\":{\"dev\":\"lo\"}}}",
	     "fault.name"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"name\":\"x\\\"}\",\"target\":{"
	     "\"dev\":\"lo\"}}}",
	     "fault.name"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"force\":1,\"target\":{\"dev\":"
	     "\"lo\"}}}",
	     "fault.force"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":\"abc\",\"target\":{"
	     "\"dev\":\"lo\"}}}",
	     "fault.duration: 'abc'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":\"-1s\",\"target\":{"
	     "\"dev\":\"lo\"}}}",
	     "fault.duration"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":0,\"target\":{\"dev\":"
	     "\"lo\"}}}",
	     "fault.duration"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":-1,\"target\":{\"dev\":"
	     "\"lo\"}}}",
	     "fault.duration"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":[],\"target\":{\"dev\":"
	     "\"lo\"}}}",
	     "fault.duration"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\"}}", "fault.target: missing"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":\"lo\"}}",
	     "fault.target: must be an object"},
	    /* the target */
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{}}}",
	     "fault.target.dev: missing"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":3}}}",
	     "fault.target.dev: must be a string"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"a-very-long-"
	     "device-name\"}}}",
	     "fault.target.dev: longer than"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\\u0000x\"}}"
	     "}",
	     "\\u0000 is not allowed"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\",\"port\":"
	     "80}}}",
	     "fault.target: unknown field 'port'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"direction\":\"sideways\"}}}",
	     "fault.target.direction: 'sideways'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"direction\":1}}}",
	     "fault.target.direction"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"proto\":\"sctp\"}}}",
	     "fault.target.proto: 'sctp'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\",\"src\":"
	     "\"10.0.0.0/33\"}}}",
	     "fault.target.src: '10.0.0.0/33'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\",\"dst\":"
	     "\"1.2.3.4/\"}}}",
	     "fault.target.dst"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\",\"dst\":"
	     "false}}}",
	     "fault.target.dst: must be a string"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\",\"src\":"
	     "\"10.0.0.1\","
	     "\"dst\":\"fd00::1\"}}}",
	     "fault.target.dst: 'fd00::1' mixes IPv4 and IPv6"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\",\"src\":"
	     "\"::/0\","
	     "\"dst\":\"0.0.0.0/0\"}}}",
	     "fault.target.dst"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"proto\":\"icmp\","
	     "\"dport\":80}}}",
	     "fault.target: ports need proto tcp or udp, not icmp"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"proto\":\"icmp6\","
	     "\"sport\":\"1-2\"}}}",
	     "fault.target: ports need proto tcp or udp"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"proto\":\"icmp\","
	     "\"dst\":\"fd00::1\"}}}",
	     "fault.target.proto: icmp is IPv4"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"proto\":\"icmp6\","
	     "\"src\":\"10.0.0.1\"}}}",
	     "fault.target.proto: icmp6 is IPv6"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"dport\":70000}}}",
	     "fault.target.dport: port 70000 out of range"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"dport\":\"70000\"}}}",
	     "fault.target.dport: port '70000' out of range"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"dport\":0}}}",
	     "fault.target.dport"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"sport\":-1}}}",
	     "fault.target.sport"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"dport\":\"80-70\"}}}",
	     "fault.target.dport: '80-70'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"dport\":80.5}}}",
	     "fault.target.dport"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"dport\":"
	     "\"80000000000000000000000000000000000\"}}}",
	     "fault.target.dport"},
	    /* the parameters */
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},"
	     "\"params\":5}}",
	     "fault.params: must be an object"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},"
	     "\"params\":{\"p\":1}}}",
	     "fault.params: unknown field 'p'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},"
	     "\"params\":{\"prob\":1.5}}}",
	     "fault.params.prob: 1.5 is outside 0..1"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},"
	     "\"params\":{\"prob\":-0.1}}}",
	     "fault.params.prob"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"\"}}}",
	     "fault.target.dev: empty"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"latency\",\"target\":{\"dev\":\"\"},"
	     "\"params\":{\"delay\":\"1ms\"}}}",
	     "fault.target.dev: empty"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},"
	     "\"params\":{\"prob\":1e-10}}}",
	     "fault.params.prob: 1e-10 is below the resolution of the random draw"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"pid\":0}}}",
	     "fault.target.pid: must be a process id"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},"
	     "\"params\":{\"prob\":\"150%\"}}}",
	     "fault.params.prob: '150%' is outside 0..1"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},"
	     "\"params\":{\"prob\":\"lots\"}}}",
	     "fault.params.prob: 'lots'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},"
	     "\"params\":{\"prob\":true}}}",
	     "fault.params.prob"},
	    /* control characters never reach a reply as a second line */
	    {"{\"cmd\":\"sta\\ntus\"}", "unknown command"},
	    {"{\"cmd\":\"status\",\"x\\ny\":1}", "request: unknown field"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"name\":\"a\\nb\",\"target\":{"
	     "\"dev\":\"lo\"}}}",
	     "fault.name"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\",\"src\":"
	     "\"1.2.3.4\\r\\n\"}}}",
	     "fault.target.src"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"l\\no\"}}}",
	     "fault.target.dev"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\","
	     "\"netns\":\"a\\nb\"}}}",
	     "fault.target.netns"},
	};
	struct fl_request req;
	char err[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = parse(bad[i].line, &req, err, sizeof(err));

		if (ret != -EINVAL) {
			print_error("%s\n  -> %d, expected -EINVAL\n", bad[i].line, ret);
			fail();
		}
		assert_one_line(bad[i].line, err);
		if (!strstr(err, bad[i].says)) {
			print_error("%s\n  -> '%s', expected it to say '%s'\n", bad[i].line, err,
				    bad[i].says);
			fail();
		}
	}
}

/* Every reason goes back to the client in a JSON string, which must be UTF-8:
 * a cut in the middle of a character would leave the client without a reply. */
static void test_reason_utf8(void **state)
{
	static const char *const lines[] = {
	    "{\"cmd\":"
	    "\"a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
	    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\"}",
	    "{\"cmd\":"
	    "\"\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac"
	    "\u20ac\u20ac\"}",
	};
	struct fl_request req;
	char err[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		json_t *r;

		assert_int_equal(parse(lines[i], &req, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "unknown command"));
		r = proto_error("%s", err);
		if (!r) {
			print_error("%s\n  -> reason is not UTF-8: %s\n", lines[i], err);
			fail();
		}
		json_decref(r);
	}
	/* A short buffer cuts a long echoed value: still UTF-8. */
	for (size_t len = 60; len < 80; len++) {
		json_t *r;

		assert_int_equal(
		    parse(
			"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":"
			"\"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
			"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\",\"target\":{\"dev\":"
			"\"lo\"}}}",
			&req, err, len),
		    -EINVAL);
		r = proto_error("%s", err);
		assert_non_null(r);
		json_decref(r);
	}
}

static void test_errlen(void **state)
{
	struct fl_request req;
	char err[16];

	(void)state;
	/* A short buffer holds the start of the reason, terminated. */
	memset(err, 'x', sizeof(err));
	assert_int_equal(proto_parse_request("{\"cmd\":\"nope\"}", 14, &req, err, 8), -EINVAL);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'x');
}

static void test_too_long(void **state)
{
	size_t n = FL_PROTO_MAX_LINE + 1;
	char *line = malloc(n + 1);
	struct fl_request req;
	char err[512];
	int ret;

	(void)state;
	assert_non_null(line);
	/* Valid JSON padded with blanks: refused for its length alone. */
	memset(line, ' ', n);
	memcpy(line, "{\"cmd\":\"status\"}", 16);
	line[n] = '\0';
	ret = proto_parse_request(line, n, &req, err, sizeof(err));
	assert_int_equal(ret, -E2BIG);
	assert_one_line("(65537 bytes)", err);
	assert_non_null(strstr(err, "longer than 65536 bytes"));
	/* At the limit it is still a request. */
	assert_int_equal(proto_parse_request(line, n - 1, &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, FL_CMD_STATUS);
	/* 10 MiB */
	free(line);
	n = 10 << 20;
	line = malloc(n);
	assert_non_null(line);
	memset(line, 'a', n);
	ret = proto_parse_request(line, n, &req, err, sizeof(err));
	assert_int_equal(ret, -E2BIG);
	assert_non_null(strstr(err, "longer than"));
	free(line);
}

static void assert_spec_equal(const struct fl_fault_spec *a, const struct fl_fault_spec *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->backend, b->backend);
	assert_true(a->prob == b->prob);
	assert_true(a->duration_ns == b->duration_ns);
	assert_int_equal(a->force, b->force);
	assert_string_equal(a->target.dev, b->target.dev);
	assert_string_equal(a->target.netns, b->target.netns);
	assert_int_equal(a->target.dir, b->target.dir);
	assert_string_equal(a->target.src, b->target.src);
	assert_string_equal(a->target.dst, b->target.dst);
	assert_memory_equal(&a->target.match, &b->target.match, sizeof(a->target.match));
}

/* spec -> JSON text -> spec */
static void round_trip(const struct fl_fault_spec *in, struct fl_fault_spec *out)
{
	json_t *j = fault_spec_to_json(in), *back;
	char *text, err[512];

	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(back);
	if (fault_spec_from_json(back, out, err, sizeof(err))) {
		print_error("%s\n  -> %s\n", text, err);
		fail();
	}
	free(text);
	json_decref(back);
	json_decref(j);
}

static void test_round_trip(void **state)
{
	static const char *const lines[] = {
	    "{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"name\":\"full\",\"backend\":"
	    "\"tcx\","
	    "\"duration\":\"1.234567891s\",\"force\":true,\"target\":{\"dev\":\"veth0\",\"netns\":"
	    "\"/run/netns/x\","
	    "\"direction\":\"egress\",\"proto\":\"tcp\",\"src\":\"10.1.2.3/"
	    "24\",\"dst\":\"10.9.0.1\","
	    "\"sport\":\"1000-2000\",\"dport\":80},\"params\":{\"prob\":0.3}}}",
	    "{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":\"999999999ns\","
	    "\"target\":{\"dev\":\"lo\","
	    "\"proto\":\"udp\",\"src\":\"fd00::1/"
	    "64\",\"dport\":\"53-53\"},\"params\":{\"prob\":\"0.1%\"}}}",
	    "{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":90,\"target\":{\"dev\":"
	    "\"lo\","
	    "\"proto\":\"icmp\"}}}",
	    "{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"duration\":\"2h\",\"target\":{"
	    "\"dev\":\"lo\","
	    "\"proto\":\"icmp6\",\"direction\":\"ingress\"},\"params\":{\"prob\":0}}}",
	    "{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"x\",\"dst\":\":"
	    ":/0\","
	    "\"sport\":1,\"dport\":\"1-65535\"}}}",
	};
	struct fl_request req;
	struct fl_fault_spec back;
	char err[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		if (parse(lines[i], &req, err, sizeof(err))) {
			print_error("%s\n  -> %s\n", lines[i], err);
			fail();
		}
		round_trip(&req.fault, &back);
		assert_spec_equal(&req.fault, &back);
	}
	/* The first one, field by field, to know that the parse kept what was asked. */
	assert_int_equal(parse(lines[0], &req, err, sizeof(err)), 0);
	assert_int_equal(req.fault.duration_ns, 1234567891ULL);
	assert_string_equal(req.fault.target.src, "10.1.2.3/24");
	assert_int_equal(req.fault.target.match.family, AF_INET);
	assert_int_equal(req.fault.target.match.proto, IPPROTO_TCP);
	assert_int_equal(((unsigned char *)req.fault.target.match.src)[3], 0); /* masked */
	assert_int_equal(((unsigned char *)req.fault.target.match.src_mask)[2], 0xff);
	assert_int_equal(((unsigned char *)req.fault.target.match.src_mask)[3], 0);
}

/* A drop's loss models (loss.h): what each accepts, what it refuses and why,
 * the chain each becomes, and the round trip (the model as given). */
#define DROP_WITH(params)                                                                          \
	"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"drop\",\"target\":{\"dev\":\"lo\"},"            \
	"\"params\":" params "}}"

static void test_loss_params(void **state)
{
	static const struct {
		const char *line, *says;
	} bad[] = {
	    {DROP_WITH("{\"prob\":1,\"correlation\":0.5}"), "correlation: needs a prob below 1"},
	    {DROP_WITH("{\"correlation\":\"25%\"}"), "correlation: needs a prob below 1"},
	    {DROP_WITH("{\"prob\":0.1,\"correlation\":1}"), "correlation: 1 would repeat"},
	    {DROP_WITH("{\"prob\":0.1,\"correlation\":1.5}"), "correlation: 1.5 is outside 0..1"},
	    {DROP_WITH("{\"prob\":0.1,\"correlation\":-0.1}"), "is outside 0..1"},
	    {DROP_WITH("{\"prob\":0.1,\"correlation\":\"120%\"}"), "'120%' is outside 0..1"},
	    {DROP_WITH("{\"prob\":0.1,\"correlation\":\"lots\"}"), "'lots' is not a fraction"},
	    {DROP_WITH("{\"prob\":0.1,\"correlation\":true}"), "correlation: must be a number"},
	    {DROP_WITH("{\"prob\":0.1,\"correlation\":1e-12}"), "below the resolution"},
	    {DROP_WITH("{\"model\":\"ge:p=1%,r=30%\",\"prob\":0.1}"), "prob: not with a model"},
	    {DROP_WITH("{\"model\":\"ge:p=1%\",\"correlation\":0.5}"),
	     "correlation: not with a model"},
	    {DROP_WITH("{\"model\":7}"), "model: must be a string"},
	    {DROP_WITH("{\"model\":\"gilbert:p=1%\"}"), "'gilbert:p=1%' is not a loss model"},
	    {DROP_WITH("{\"model\":\"ge\"}"), "'ge' is not a loss model"},
	    {DROP_WITH("{\"model\":\"ge:\"}"), "is not of the form"},
	    {DROP_WITH("{\"model\":\"ge:p=1%,\"}"), "is not of the form"},
	    {DROP_WITH("{\"model\":\"ge:p=1%,,r=2%\"}"), "is not of the form"},
	    {DROP_WITH("{\"model\":\"ge:r=30%\"}"), "model: p missing"},
	    {DROP_WITH("{\"model\":\"ge:p=101%\"}"), "p=101% is outside 0..1"},
	    {DROP_WITH("{\"model\":\"ge:p=1.5\"}"), "p=1.5 is outside 0..1"},
	    {DROP_WITH("{\"model\":\"ge:p=1%,r=-1\"}"), "r=-1 is outside 0..1"},
	    {DROP_WITH("{\"model\":\"ge:p=1%,h=x\"}"), "h='x' is not a probability"},
	    {DROP_WITH("{\"model\":\"ge:p=1%,k=\"}"), "k='' is not a probability"},
	    {DROP_WITH("{\"model\":\"ge:p=1%,p=2%\"}"), "p given twice"},
	    {DROP_WITH("{\"model\":\"ge:p=1%,q=2%\"}"), "'q=2%' is not p=, r=, h= or k="},
	    {DROP_WITH("{\"model\":\"ge:p:1%\"}"), "'p:1%' is not p=, r=, h= or k="},
	    {DROP_WITH("{\"model\":\"ge:p=1e-12\"}"), "below the resolution"},
	    {DROP_WITH("{\"model\":\"ge:p=1%,r=30%,h=0,k=100%,"
		       "p=1%,r=30%,h=0,k=100%,p=1%,r=30%,h=0,k=100%,p=1%,r=30%,h=0,k=100%,"
		       "p=1%,r=30%,h=0,k=100%,p=1%,r=30%,h=0,k=1\"}"),
	     "longer than 95 characters"},
	    /* the kinds that have no loss model */
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"errno\",\"target\":{\"comm\":\"x\"},"
	     "\"params\":{\"syscall\":\"openat\",\"errno\":\"EIO\",\"model\":\"ge:p=1%\"}}}",
	     "unknown field 'model'"},
	    {"{\"cmd\":\"inject\",\"fault\":{\"kind\":\"latency\",\"target\":{\"dev\":\"lo\"},"
	     "\"params\":{\"delay\":\"5ms\",\"model\":\"ge:p=1%\"}}}",
	     "unknown field 'model'"},
	};
	struct fl_request req;
	struct fl_fault_spec back;
	struct fl_loss_chain c;
	double loss, run;
	char err[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parse(bad[i].line, &req, err, sizeof(err)) != -EINVAL ||
		    !strstr(err, bad[i].says)) {
			print_error("%s\n  -> '%s', wanted '%s'\n", bad[i].line, err, bad[i].says);
			fail();
		}
		assert_one_line(bad[i].line, err);
	}

	/* No model: independent, as before. Correlation 0 is that too. */
	assert_int_equal(
	    parse(DROP_WITH("{\"prob\":0.1,\"correlation\":0}"), &req, err, sizeof(err)), 0);
	assert_int_equal(req.fault.loss.kind, FL_LOSS_NONE);
	assert_false(loss_chain(&req.fault.loss, req.fault.prob, &c));

	/* Correlation: a chain whose state is the last fate; the average stays
	 * prob, a run of drops lasts 1 / ((1 - c)(1 - prob)) packets. */
	assert_int_equal(
	    parse(DROP_WITH("{\"prob\":\"10%\",\"correlation\":\"90%\"}"), &req, err, sizeof(err)),
	    0);
	assert_int_equal(req.fault.loss.kind, FL_LOSS_CORRELATED);
	assert_float_equal(req.fault.loss.correlation, 0.9, 1e-12);
	assert_true(loss_chain(&req.fault.loss, req.fault.prob, &c));
	assert_int_equal(c.loss_good, 0);
	assert_int_equal(c.loss_bad, 0xffffffffu);
	loss_expect(&c, &loss, &run);
	assert_float_equal(loss, 0.1, 1e-6);
	assert_float_equal(run, 1 / (0.1 * 0.9), 1e-3);
	round_trip(&req.fault, &back);
	assert_spec_equal(&req.fault, &back);
	assert_int_equal(back.loss.kind, FL_LOSS_CORRELATED);
	assert_true(back.loss.correlation == req.fault.loss.correlation);

	/* Gilbert-Elliott, netem's meaning: p good->bad, r bad->good, h and k
	 * the chances to deliver in bad and good. */
	assert_int_equal(
	    parse(DROP_WITH("{\"model\":\"ge:p=2%,r=0.18,h=10%,k=99%\"}"), &req, err, sizeof(err)),
	    0);
	assert_int_equal(req.fault.loss.kind, FL_LOSS_GE);
	assert_float_equal(req.fault.loss.p, 0.02, 1e-12);
	assert_float_equal(req.fault.loss.r, 0.18, 1e-12);
	assert_float_equal(req.fault.loss.h, 0.1, 1e-12);
	assert_float_equal(req.fault.loss.k, 0.99, 1e-12);
	assert_true(loss_chain(&req.fault.loss, req.fault.prob, &c));
	assert_int_equal(c.to_bad, (uint32_t)(0.02 * 4294967296.0));
	assert_int_equal(c.to_good, (uint32_t)(0.18 * 4294967296.0));
	assert_int_equal(c.loss_good, (uint32_t)((1 - 0.99) * 4294967296.0));
	assert_int_equal(c.loss_bad, (uint32_t)((1 - 0.1) * 4294967296.0));
	loss_expect(&c, &loss, &run);
	assert_float_equal(loss, 0.9 * 0.01 + 0.1 * 0.9, 1e-6); /* bad 10% of the time */
	round_trip(&req.fault, &back);
	assert_int_equal(back.loss.kind, FL_LOSS_GE);
	assert_string_equal(back.loss.model, "ge:p=2%,r=0.18,h=10%,k=99%"); /* as given */
	assert_float_equal(back.loss.k, 0.99, 0);
	{
		json_t *j = fault_spec_to_json(&req.fault), *p = json_object_get(j, "params");

		assert_null(json_object_get(p, "prob")); /* a model sets the loss */
		assert_string_equal(json_string_value(json_object_get(p, "model")),
				    "ge:p=2%,r=0.18,h=10%,k=99%");
		json_decref(j);
	}

	/* tc-netem's defaults: r = 1 - p, h = 0, k = 1: independent loss p. */
	assert_int_equal(parse(DROP_WITH("{\"model\":\"ge:p=10%\"}"), &req, err, sizeof(err)), 0);
	assert_float_equal(req.fault.loss.r, 0.9, 1e-12);
	assert_float_equal(req.fault.loss.h, 0, 0);
	assert_float_equal(req.fault.loss.k, 1, 0);
	loss_chain(&req.fault.loss, req.fault.prob, &c);
	assert_int_equal(c.loss_good, 0);
	assert_int_equal(c.loss_bad, 0xffffffffu);
	loss_expect(&c, &loss, &run);
	assert_float_equal(loss, 0.1, 1e-6);
	assert_float_equal(run, 1 / 0.9, 1e-6); /* geometric, as for independent loss */

	/* The burst model of t_drop_loss.sh: 10% on average, runs of 1/r. */
	assert_int_equal(
	    parse(DROP_WITH("{\"model\":\"ge:p=2%,r=18%,h=0,k=100%\"}"), &req, err, sizeof(err)),
	    0);
	loss_chain(&req.fault.loss, req.fault.prob, &c);
	loss_expect(&c, &loss, &run);
	assert_float_equal(loss, 0.1, 1e-6);
	assert_float_equal(run, 1 / 0.18, 1e-6);
	/* A chain that never moves stays in Good, where it starts. */
	assert_int_equal(
	    parse(DROP_WITH("{\"model\":\"ge:p=0,r=0,k=70%\"}"), &req, err, sizeof(err)), 0);
	loss_chain(&req.fault.loss, req.fault.prob, &c);
	loss_expect(&c, &loss, &run);
	assert_float_equal(loss, 0.3, 1e-6);
}

/* kill, pause, cpu: their params, refused and accepted, and their round trip. */
static void test_proc_params(void **state)
{
	static const struct {
		const char *line, *says; /* says NULL: accepted */
	} cases[] = {
	    {"{\"kind\":\"kill\",\"target\":{\"pid\":42}}", NULL},
	    {"{\"kind\":\"kill\",\"target\":{\"comm\":\"nginx\"},\"params\":{\"signal\":"
	     "\"sigterm\"}}",
	     NULL},
	    {"{\"kind\":\"kill\",\"target\":{\"pid\":42},\"params\":{\"signal\":\"FOO\"}}",
	     "fault.params.signal: 'FOO' is not a signal a kill sends (known: KILL, TERM, INT"},
	    {"{\"kind\":\"kill\",\"target\":{\"pid\":42},\"params\":{\"signal\":\"STOP\"}}",
	     "'STOP' is not a signal"},
	    {"{\"kind\":\"kill\",\"target\":{\"pid\":42},\"params\":{\"signal\":9}}",
	     "fault.params.signal: must be a signal name"},
	    {"{\"kind\":\"kill\",\"target\":{\"pid\":42},\"params\":{\"prob\":0.5}}",
	     "fault.params: unknown field 'prob'"},
	    {"{\"kind\":\"kill\",\"target\":{\"pid\":0}}", "fault.target.pid"},
	    {"{\"kind\":\"pause\",\"target\":{\"cgroup\":\"/svc\"}}", NULL},
	    {"{\"kind\":\"pause\",\"target\":{\"pid\":7},\"params\":{\"signal\":\"KILL\"}}",
	     "fault.params: unknown field 'signal'"},
	    {"{\"kind\":\"cpu\",\"target\":{\"cgroup\":\"svc\"},\"params\":{\"quota\":\"10%\"}}",
	     NULL},
	    {"{\"kind\":\"cpu\",\"target\":{\"cgroup\":\"svc\"},\"params\":{\"quota\":1}}", NULL},
	    {"{\"kind\":\"cpu\",\"target\":{\"cgroup\":\"svc\"}}", "fault.params.quota: missing"},
	    {"{\"kind\":\"cpu\",\"target\":{\"cgroup\":\"svc\"},\"params\":{\"quota\":0}}",
	     "over 0% and at most 100%"},
	    {"{\"kind\":\"cpu\",\"target\":{\"cgroup\":\"svc\"},\"params\":{\"quota\":\"0%\"}}",
	     "over 0% and at most 100%"},
	    {"{\"kind\":\"cpu\",\"target\":{\"cgroup\":\"svc\"},\"params\":{\"quota\":"
	     "\"101%\"}}",
	     "over 0% and at most 100%"},
	    {"{\"kind\":\"cpu\",\"target\":{\"cgroup\":\"svc\"},\"params\":{\"quota\":-0.5}}",
	     "over 0% and at most 100%"},
	    {"{\"kind\":\"cpu\",\"target\":{\"cgroup\":\"svc\"},\"params\":{\"quota\":"
	     "\"half\"}}",
	     "must be a share of one CPU"},
	    {"{\"kind\":\"cpu\",\"target\":{\"cgroup\":\"svc\"},\"params\":{\"quota\":[]}}",
	     "must be a share of one CPU"},
	};
	struct fl_fault_spec s, back;
	char err[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *j = json_loads(cases[i].line, 0, NULL);
		int ret;

		assert_non_null(j);
		err[0] = '\0';
		ret = fault_spec_from_json(j, &s, err, sizeof(err));
		json_decref(j);
		if (cases[i].says && (ret != -EINVAL || !strstr(err, cases[i].says))) {
			print_error("%s\n  -> %d '%s', expected '%s'\n", cases[i].line, ret, err,
				    cases[i].says);
			fail();
		}
		if (cases[i].says) {
			assert_one_line(cases[i].line, err);
			continue;
		}
		if (ret) {
			print_error("%s\n  -> %s\n", cases[i].line, err);
			fail();
		}
		round_trip(&s, &back);
		assert_spec_equal(&s, &back);
		assert_int_equal(s.proc.signal, back.proc.signal);
		assert_true(s.proc.quota == back.proc.quota);
		assert_int_equal(s.target.pid, back.target.pid);
		assert_string_equal(s.target.comm, back.target.comm);
		assert_string_equal(s.target.cgroup, back.target.cgroup);
	}
	/* The defaults and the values, read back. */
	{
		json_t *j = json_loads(cases[1].line, 0, NULL), *out;

		assert_int_equal(fault_spec_from_json(j, &s, err, sizeof(err)), 0);
		assert_int_equal(s.proc.signal, 15);
		out = fault_spec_to_json(&s);
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(out, "params"), "signal")),
		    "TERM");
		/* no packet fields on a process fault */
		assert_null(json_object_get(json_object_get(out, "target"), "dev"));
		assert_null(json_object_get(json_object_get(out, "target"), "direction"));
		json_decref(out);
		json_decref(j);
		j = json_loads(cases[0].line, 0, NULL);
		assert_int_equal(fault_spec_from_json(j, &s, err, sizeof(err)), 0);
		assert_int_equal(s.proc.signal, 9);
		json_decref(j);
		j = json_loads(cases[9].line, 0, NULL);
		assert_int_equal(fault_spec_from_json(j, &s, err, sizeof(err)), 0);
		assert_true(s.proc.quota > 0.0999 && s.proc.quota < 0.1001);
		json_decref(j);
	}
	assert_int_equal(proto_signal_from_name("SIGKILL"), 9);
	assert_int_equal(proto_signal_from_name("usr1"), 10);
	assert_int_equal(proto_signal_from_name("SIG"), 0);
	assert_int_equal(proto_signal_from_name(NULL), 0);
	assert_null(proto_signal_name(19)); /* SIGSTOP: pause's, never a kill's */
}

/* proto_request_to_json writes what proto_parse_request reads. */
static void test_request_round_trip(void **state)
{
	static const char *const lines[] = {
	    "{\"cmd\":\"status\"}",
	    "{\"cmd\":\"doctor\"}",
	    "{\"cmd\":\"list\"}",
	    "{\"cmd\":\"clear\",\"id\":12}",
	    "{\"cmd\":\"clear\",\"all\":true}",
	    "{\"cmd\":\"inject\",\"dry_run\":true,\"fault\":{\"kind\":\"drop\",\"name\":\"n\","
	    "\"duration\":\"5m\",\"target\":{\"dev\":\"eth0\",\"proto\":\"tcp\",\"dport\":\"8000-"
	    "8100\"},"
	    "\"params\":{\"prob\":\"25%\"}}}",
	};
	struct fl_request a, b;
	char err[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		json_t *j;
		char *text;

		assert_int_equal(parse(lines[i], &a, err, sizeof(err)), 0);
		j = proto_request_to_json(&a);
		assert_non_null(j);
		text = json_dumps(j, JSON_COMPACT);
		assert_non_null(text);
		if (parse(text, &b, err, sizeof(err))) {
			print_error("%s\n  -> %s\n  -> %s\n", lines[i], text, err);
			fail();
		}
		assert_int_equal(a.cmd, b.cmd);
		assert_int_equal(a.dry_run, b.dry_run);
		assert_int_equal(a.all, b.all);
		assert_int_equal(a.id, b.id);
		if (a.cmd == FL_CMD_INJECT)
			assert_spec_equal(&a.fault, &b.fault);
		free(text);
		json_decref(j);
	}
}

static void test_replies(void **state)
{
	char *line;
	json_t *j;

	(void)state;
	line = proto_reply_line(proto_ok());
	assert_string_equal(line, "{\"ok\":true}\n");
	free(line);
	line = proto_reply_line(proto_error("no fault with id %u", 9u));
	assert_string_equal(line, "{\"ok\":false,\"error\":\"no fault with id 9\"}\n");
	free(line);
	/* A reason with a newline in it stays on one line of the wire. */
	line = proto_reply_line(proto_error("a\nb"));
	assert_int_equal(strchr(line, '\n') - line, strlen(line) - 1);
	j = json_loads(line, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "a\nb");
	json_decref(j);
	free(line);
	assert_string_equal(fl_cmd_name(FL_CMD_CLEAR), "clear");
	assert_string_equal(fl_cmd_name(FL_CMD_MAX), "?");
	assert_string_equal(fl_kind_name(FL_KIND_DROP), "drop");
	assert_string_equal(fl_kind_name(FL_KIND_MAX), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),	cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_errlen),	cmocka_unit_test(test_reason_utf8),
	    cmocka_unit_test(test_too_long),	cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_proc_params), cmocka_unit_test(test_request_round_trip),
	    cmocka_unit_test(test_replies),	cmocka_unit_test(test_loss_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
