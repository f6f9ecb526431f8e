// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Latency faults: the protocol's params (what is taken, what is refused
 * and why, the round trip) and the delay engine (each distribution's
 * bounds and spread, correlation, the histogram's quantiles). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <jansson.h>
#include "latency_kind.h"
#include "pkt_limits.h"
#include "proto.h"

#define MS 1000000ULL

static int spec(const char *target, const char *params, struct fl_fault_spec *s, char *err,
		size_t errlen)
{
	char buf[1024];
	json_t *j;
	int ret;

	snprintf(buf, sizeof(buf), "{\"kind\":\"latency\",\"target\":{\"dev\":\"eth0\"%s}%s%s%s}",
		 target, params ? ",\"params\":" : "", params ? params : "", "");
	j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	err[0] = '\0';
	ret = fault_spec_from_json(j, s, err, errlen);
	json_decref(j);
	return ret;
}

static void test_params_valid(void **state)
{
	struct fl_fault_spec s;
	char err[512];

	(void)state;
	/* TCP: per request by default; the defaults fill the rest. */
	assert_int_equal(spec(",\"proto\":\"tcp\"", "{\"delay\":\"50ms\"}", &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.latency.delay_ns, 50 * MS);
	assert_int_equal(s.latency.jitter_ns, 0);
	assert_int_equal(s.latency.per, FL_LAT_PER_REQUEST);
	assert_int_equal(s.latency.dist, FL_DIST_UNIFORM);
	assert_int_equal(s.latency.queue_len, FL_LAT_DEFAULT_QUEUE);
	assert_true(s.prob == 1.0);
	/* Anything else: per packet by default. */
	assert_int_equal(spec(",\"proto\":\"udp\"", "{\"delay\":0.2}", &s, err, sizeof(err)), 0);
	assert_int_equal(s.latency.per, FL_LAT_PER_PACKET);
	assert_int_equal(s.latency.delay_ns, 200 * MS);
	assert_int_equal(spec("", "{\"delay\":\"0ms\"}", &s, err, sizeof(err)), 0);
	assert_int_equal(s.latency.delay_ns, 0);
	/* Everything given. */
	assert_int_equal(spec(",\"proto\":\"udp\"",
			      "{\"delay\":\"100ms\",\"jitter\":\"100ms\",\"distribution\":"
			      "\"pareto\",\"correlation\":\"25%\",\"per\":\"connection\","
			      "\"queue_len\":100,\"prob\":0.5}",
			      &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.latency.jitter_ns, 100 * MS);
	assert_int_equal(s.latency.dist, FL_DIST_PARETO);
	assert_true(fabs(s.latency.correlation - 0.25) < 1e-9);
	assert_int_equal(s.latency.per, FL_LAT_PER_CONNECTION);
	assert_int_equal(s.latency.queue_len, 100);
	assert_true(s.prob == 0.5);
	/* The maximum itself is taken. */
	assert_int_equal(spec("", "{\"delay\":\"6s\",\"jitter\":\"4s\"}", &s, err, sizeof(err)), 0);
}

static void test_params_invalid(void **state)
{
	static const struct {
		const char *target, *params, *reason;
	} cases[] = {
	    {",\"proto\":\"tcp\"", NULL, "fault.params.delay: missing"},
	    {",\"proto\":\"tcp\"", "{}", "fault.params.delay: missing"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"-5ms\"}", "not a duration"},
	    {",\"proto\":\"tcp\"", "{\"delay\":-1}", "not a number of seconds"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"11s\"}", "over the maximum of 10s"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"6s\",\"jitter\":\"5s\"}", "over the maximum"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"10ms\",\"jitter\":\"11ms\"}",
	     "larger than the delay"},
	    {",\"proto\":\"tcp\"",
	     "{\"delay\":\"10ms\",\"jitter\":\"1ms\",\"distribution\":\"zipf\"}",
	     "'zipf' is not uniform, normal or pareto"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"10ms\",\"distribution\":\"normal\"}",
	     "needs a jitter"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"10ms\",\"jitter\":\"1ms\",\"correlation\":2}",
	     "outside 0..1"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"10ms\",\"correlation\":0.5}", "needs a jitter"},
	    {",\"proto\":\"udp\"", "{\"delay\":\"10ms\",\"per\":\"request\"}", "needs proto tcp"},
	    {"", "{\"delay\":\"10ms\",\"per\":\"request\"}", "needs proto tcp"},
	    {",\"proto\":\"icmp\"", "{\"delay\":\"10ms\",\"per\":\"connection\"}",
	     "needs proto tcp or udp"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"10ms\",\"per\":\"flow\"}",
	     "not packet, connection or request"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"10ms\",\"queue_len\":0}", "queue_len"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"10ms\",\"queue_len\":\"9\"}", "queue_len"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"10ms\",\"queue_len\":1000000}", "queue_len"},
	    {",\"proto\":\"tcp\"", "{\"delay\":\"10ms\",\"loss\":1}", "loss"},
	};
	struct fl_fault_spec s;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = spec(cases[i].target, cases[i].params, &s, err, sizeof(err));

		if (ret != -EINVAL || !strstr(err, cases[i].reason) || strchr(err, '\n')) {
			print_error("case %zu (%s): ret %d, reason '%s', want '%s'\n", i,
				    cases[i].params ? cases[i].params : "-", ret, err,
				    cases[i].reason);
			fail();
		}
	}
	/* A drop takes none of the latency params. */
	{
		json_t *j = json_loads("{\"kind\":\"drop\",\"target\":{\"dev\":\"eth0\"},"
				       "\"params\":{\"delay\":\"5ms\"}}",
				       0, NULL);

		assert_int_equal(fault_spec_from_json(j, &s, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "delay"));
		json_decref(j);
	}
	/* A latency fault needs a device. */
	{
		json_t *j = json_loads(
		    "{\"kind\":\"latency\",\"target\":{},\"params\":{\"delay\":1}}", 0, NULL);

		assert_int_equal(fault_spec_from_json(j, &s, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "dev"));
		json_decref(j);
	}
}

static void test_params_round_trip(void **state)
{
	struct fl_fault_spec s, t;
	char err[512];
	json_t *j;

	(void)state;
	assert_int_equal(spec(",\"proto\":\"tcp\",\"dport\":80",
			      "{\"delay\":\"50ms\",\"jitter\":\"1.5ms\",\"distribution\":"
			      "\"normal\",\"correlation\":0.3,\"per\":\"packet\",\"queue_len\":"
			      "77,\"prob\":0.25}",
			      &s, err, sizeof(err)),
			 0);
	j = fault_spec_to_json(&s);
	assert_int_equal(fault_spec_from_json(j, &t, err, sizeof(err)), 0);
	json_decref(j);
	assert_memory_equal(&s.latency, &t.latency, sizeof(s.latency));
	assert_true(t.prob == 0.25);
	assert_string_equal(fl_lat_per_name(FL_LAT_PER_REQUEST), "request");
	assert_string_equal(fl_lat_dist_name(9), "?");
}

/* n draws of p; their min, max and quartiles in ms. */
static void draw(struct fl_latency_params *p, int n, double *mn, double *mx, double q[3])
{
	double *v = malloc(n * sizeof(*v));
	struct lat_rng r;

	lat_rng_seed(&r, 42);
	for (int i = 0; i < n; i++)
		v[i] = lat_sample_ns(&r, p) / 1e6;
	for (int i = 1; i < n; i++) /* insertion sort: n is small */
		for (int k = i; k > 0 && v[k - 1] > v[k]; k--) {
			double t = v[k];

			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	*mn = v[0];
	*mx = v[n - 1];
	q[0] = v[n / 4];
	q[1] = v[n / 2];
	q[2] = v[3 * n / 4];
	free(v);
}

static void test_distributions(void **state)
{
	struct fl_latency_params p = {.delay_ns = 50 * MS, .jitter_ns = 20 * MS};
	double mn, mx, q[3];

	(void)state;
	/* Uniform: inside [30, 70], quartiles at 40, 50, 60. */
	p.dist = FL_DIST_UNIFORM;
	draw(&p, 4000, &mn, &mx, q);
	assert_true(mn >= 30 && mx <= 70);
	assert_true(mn < 31 && mx > 69);
	assert_true(fabs(q[0] - 40) < 1.5 && fabs(q[1] - 50) < 1.5 && fabs(q[2] - 60) < 1.5);
	assert_int_equal(lat_max_delay_ns(&p), 70 * MS);
	/* Normal, sd 20: quartiles at 50 -+ 13.5; cut at 50 -+ 80, and at 0. */
	p.dist = FL_DIST_NORMAL;
	draw(&p, 4000, &mn, &mx, q);
	assert_true(mn >= 0 && mx <= 130);
	assert_true(fabs(q[0] - 36.5) < 2 && fabs(q[1] - 50) < 2 && fabs(q[2] - 63.5) < 2);
	/* Pareto, mean 50, sd 20: nothing under 50 - 0.58 * 20, a long tail. */
	p.dist = FL_DIST_PARETO;
	draw(&p, 4000, &mn, &mx, q);
	assert_true(mn >= 38.4 && mx <= 50 + 8 * 20);
	assert_true(q[1] < 50 && mx > 100);
	/* No jitter: the delay, always. */
	p.jitter_ns = 0;
	draw(&p, 100, &mn, &mx, q);
	assert_true(mn == 50 && mx == 50);
}

static void test_correlation(void **state)
{
	struct fl_latency_params p = {
	    .delay_ns = 50 * MS, .jitter_ns = 20 * MS, .dist = FL_DIST_NORMAL};
	double sum0 = 0, sum9 = 0;
	struct lat_rng r;
	uint64_t prev;

	(void)state;
	/* Mean step between successive draws shrinks with correlation 0.9. */
	for (int pass = 0; pass < 2; pass++) {
		double *sum = pass ? &sum9 : &sum0;

		p.correlation = pass ? 0.9 : 0;
		lat_rng_seed(&r, 7);
		prev = lat_sample_ns(&r, &p);
		for (int i = 0; i < 2000; i++) {
			uint64_t v = lat_sample_ns(&r, &p);

			*sum += fabs((double)v - (double)prev);
			prev = v;
		}
	}
	assert_true(sum9 < sum0 / 2);
}

/* The EDT program's table: 256 quantiles in 1/1024 of the jitter. */
static void test_dist_table(void **state)
{
	struct fl_latency_params p = {.delay_ns = 50 * MS, .jitter_ns = 20 * MS};
	int32_t t[FL_LAT_DIST_N];
	double mean = 0;

	(void)state;
	p.dist = FL_DIST_UNIFORM;
	lat_dist_table(&p, t, FL_LAT_DIST_N);
	assert_true(t[0] >= -1024 && t[0] < -1010 && t[255] <= 1024 && t[255] > 1010);
	assert_true(abs(t[128]) <= 8 && abs(t[64] + 512) <= 8);
	p.dist = FL_DIST_NORMAL;
	lat_dist_table(&p, t, FL_LAT_DIST_N);
	/* The 84th percentile of N(0, 1) is about +1 sd; the table is sorted. */
	assert_true(abs(t[215] - 1024) < 40);
	for (int i = 1; i < FL_LAT_DIST_N; i++)
		assert_true(t[i] >= t[i - 1]);
	assert_true(t[0] >= -4 * 1024 && t[255] <= 4 * 1024);
	p.dist = FL_DIST_PARETO;
	lat_dist_table(&p, t, FL_LAT_DIST_N);
	for (int i = 0; i < FL_LAT_DIST_N; i++)
		mean += t[i] / 1024.0 / FL_LAT_DIST_N;
	/* Mean near 0 (the cut at 8 sd takes a little), nothing below -0.58. */
	assert_true(fabs(mean) < 0.1 && t[0] >= -0.58 * 1024 && t[255] <= 8 * 1024);
}

/* The queue's side: headers parsed, flows told apart, the heap in order. */
static void test_hold(void **state)
{
	/* IPv4 + TCP, 20 + 20 bytes of header and 10 of data, ACK 7. */
	uint8_t pkt[50] = {0x45, 0,   0, 50, 0,	 0,   0x40, 0, 64,   6,	   0,	 0,
			   10,	 254, 0, 1,  10, 254, 0,    2, 0x1f, 0x90, 0x00, 0x50,
			   0,	 0,   0, 1,  0,	 0,   0,    7, 0x50, 0x10};
	static struct uflow flows[LAT_USER_FLOWS];
	struct held heap[64], h = {0};
	struct lat_parsed p, p2;
	uint32_t n = 0, a, b;
	bool created;

	(void)state;
	assert_int_equal(lat_parse_pkt(pkt, sizeof(pkt), &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.k.proto, IPPROTO_TCP);
	assert_int_equal(p.k.sport, 8080);
	assert_int_equal(p.k.dport, 80);
	assert_int_equal(p.ack, 7);
	assert_int_equal(p.payload, 10);
	assert_false(p.syn);
	pkt[33] = 0x02; /* SYN */
	pkt[3] = 40;	/* no data */
	assert_int_equal(lat_parse_pkt(pkt, sizeof(pkt), &p2), 0);
	assert_true(p2.syn);
	assert_int_equal(p2.payload, 0);
	pkt[0] = 0x44; /* IHL 4: refused */
	assert_int_equal(lat_parse_pkt(pkt, sizeof(pkt), &p2), -1);
	assert_int_equal(lat_parse_pkt(pkt, 10, &p2), -1);

	a = lat_flow_get(flows, &p.k, 1, &created);
	assert_true(created);
	assert_int_equal(lat_flow_get(flows, &p.k, 2, &created), a);
	assert_false(created);
	p.k.sport++;
	b = lat_flow_get(flows, &p.k, 3, &created);
	assert_true(created && b != a);

	for (int i = 0; i < 64; i++) {
		h.due = (uint64_t)((i * 37) % 64) / 2; /* ties: by seq */
		h.seq = i;
		lat_heap_push(heap, &n, &h);
	}
	for (uint64_t last_due = 0, last_seq = 0, i = 0; i < 64; i++) {
		struct held x = lat_heap_pop(heap, &n);

		assert_true(x.due > last_due || (x.due == last_due && (!i || x.seq > last_seq)));
		last_due = x.due;
		last_seq = x.seq;
	}
	assert_int_equal(n, 0);
}

/* IPv6 with extension headers, read by the selector's rules (pkt_parse.h):
 * the upper-layer protocol and its ports past a chain; no ports past a
 * later fragment, a chain over FL_IPV6_EXT_MAX or one cut short. */
static size_t ip6_pkt(uint8_t *b, const uint8_t *exts, int n, uint16_t frag_off)
{
	size_t off = 40;
	uint8_t first = n ? exts[0] : IPPROTO_UDP;

	memset(b, 0, 256);
	b[0] = 0x60;
	b[6] = first;
	b[23] = 1; /* ::1 */
	b[39] = 2; /* ::2 */
	for (int i = 0; i < n; i++) {
		uint8_t next = i + 1 < n ? exts[i + 1] : IPPROTO_UDP;

		b[off] = next;
		if (exts[i] == 44) { /* fragment: 8 bytes */
			b[off + 2] = frag_off >> 8;
			b[off + 3] = frag_off & 0xff;
			off += 8;
		} else if (exts[i] == 51) { /* AH, hdrlen 4: (4 + 2) * 4 = 24 bytes */
			b[off + 1] = 4;
			off += 24;
		} else { /* hop-by-hop, routing, destination options: hdrlen 1, 16 bytes */
			b[off + 1] = 1;
			off += 16;
		}
	}
	b[off] = 0x9c, b[off + 1] = 0x40;     /* 40000 */
	b[off + 2] = 0x1f, b[off + 3] = 0x90; /* 8080 */
	off += 8;
	b[4] = (off - 40) >> 8;
	b[5] = (off - 40) & 0xff;
	return off;
}

static void test_ip6_ext(void **state)
{
	static const uint8_t chain[] = {0, 60, 43, 44, 51, 60};
	static const uint8_t long_chain[9] = {60, 60, 60, 60, 60, 60, 60, 60, 60};
	uint8_t b[256];
	struct lat_parsed p;
	size_t len;

	(void)state;
	/* No extension header, then a chain of each kind. */
	len = ip6_pkt(b, chain, 0, 0);
	assert_int_equal(lat_parse_pkt(b, len, &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.k.proto, IPPROTO_UDP);
	assert_int_equal(p.k.dport, 8080);
	len = ip6_pkt(b, chain, sizeof(chain), 0x0001); /* a first fragment (M set) */
	assert_int_equal(lat_parse_pkt(b, len, &p), 0);
	assert_int_equal(p.k.proto, IPPROTO_UDP);
	assert_int_equal(p.k.sport, 40000);
	assert_int_equal(p.k.dport, 8080);
	/* A later fragment: its protocol, no ports. */
	len = ip6_pkt(b, chain, sizeof(chain), 8 << 3);
	assert_int_equal(lat_parse_pkt(b, len, &p), 0);
	assert_int_equal(p.k.proto, 51); /* the header after the fragment's */
	assert_int_equal(p.k.dport, 0);
	/* FL_IPV6_EXT_MAX headers are walked; one more is not. */
	len = ip6_pkt(b, long_chain, FL_IPV6_EXT_MAX, 0);
	assert_int_equal(lat_parse_pkt(b, len, &p), 0);
	assert_int_equal(p.k.proto, IPPROTO_UDP);
	assert_int_equal(p.k.dport, 8080);
	len = ip6_pkt(b, long_chain, FL_IPV6_EXT_MAX + 1, 0);
	assert_int_equal(lat_parse_pkt(b, len, &p), 0);
	assert_int_equal(p.k.proto, 60);
	assert_int_equal(p.k.dport, 0);
	/* Cut short inside the chain: no protocol a rule names, no ports. */
	len = ip6_pkt(b, chain, sizeof(chain), 0);
	assert_int_equal(lat_parse_pkt(b, 40 + 16 + 4, &p), 0);
	assert_int_equal(p.k.proto, 60);
	assert_int_equal(p.k.dport, 0);
}

static void test_hist(void **state)
{
	static struct lat_hist h;

	(void)state;
	assert_int_equal(lat_hist_quantile(&h, 0.5), 0);
	for (int i = 1; i <= 1000; i++)
		lat_hist_add(&h, (uint64_t)i * MS / 10); /* 0.1 .. 100 ms */
	assert_int_equal(h.n, 1000);
	assert_int_equal(h.max, 100 * MS);
	/* Within the buckets' 0.8%. */
	assert_true(fabs(lat_hist_quantile(&h, 0.5) / 1e6 - 50) < 0.4);
	assert_true(fabs(lat_hist_quantile(&h, 0.99) / 1e6 - 99) < 0.8);
	assert_true(lat_hist_quantile(&h, 1.0) <= 100 * MS);
	lat_hist_add(&h, 5);
	assert_int_equal(lat_hist_quantile(&h, 0), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params_valid),
	    cmocka_unit_test(test_params_invalid),
	    cmocka_unit_test(test_params_round_trip),
	    cmocka_unit_test(test_distributions),
	    cmocka_unit_test(test_correlation),
	    cmocka_unit_test(test_dist_table),
	    cmocka_unit_test(test_hold),
	    cmocka_unit_test(test_ip6_ext),
	    cmocka_unit_test(test_hist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
