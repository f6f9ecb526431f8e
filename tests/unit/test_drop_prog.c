// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The drop program itself, run by the kernel on packets of our making
 * (BPF_PROG_TEST_RUN), both entry points (tc and xdp): the parser
 * (bpf/pkt_parse.h), the heartbeat check, and the loss chain's order and
 * bursts (pinned to one CPU: each CPU runs its own chain). Needs root (CAP_BPF); skips
 * without it. The same cases on real devices: tests/agent/t_drop_parse.sh.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "drop.h"
#include "drop.skel.h"
#include "log.h"

#define TC_ACT_SHOT 2

static struct drop_bpf *skel;

static int setup(void **state)
{
	skel = drop_bpf__open();
	if (!skel || drop_bpf__load(skel)) {
		drop_bpf__destroy(skel);
		skel = NULL;
	}
	return 0;
}

static int teardown(void **state)
{
	drop_bpf__destroy(skel);
	return 0;
}

/* One rule in slot 0: UDP, destination port dport (0: any port). */
static void rule_udp(uint16_t dport)
{
	struct fl_drop_rule *r = &skel->bss->rules[0];
	static __u32 gen;

	memset(r, 0, sizeof(*r));
	r->gen = ++gen; /* as the agent does: a refilled slot has a new generation */
	r->fault_id = 7;
	r->prob = 0xffffffff;
	r->match.proto = IPPROTO_UDP;
	r->match.dport_lo = r->match.dport_hi = dport;
	skel->bss->nr_slots = 1;
	skel->bss->heartbeat_ns = now_mono_ns();
	r->active = 1;
}

/* A frame: Ethernet, the given VLAN tags (outer first), then l3 of n bytes. */
static size_t frame(uint8_t *buf, const uint16_t *tpids, int ntags, uint16_t ethertype,
		    const uint8_t *l3, size_t n)
{
	size_t off = 12;
	uint16_t v;

	memset(buf, 0, 12);
	buf[0] = 0x02; /* a local unicast destination */
	buf[6] = 0x02;
	buf[11] = 1;
	for (int i = 0; i < ntags; i++) {
		v = htons(tpids[i]);
		memcpy(buf + off, &v, 2);
		v = htons(5);
		memcpy(buf + off + 2, &v, 2);
		off += 4;
	}
	v = htons(ethertype);
	memcpy(buf + off, &v, 2);
	memcpy(buf + off + 2, l3, n);
	return off + 2 + n;
}

static size_t ipv4_udp(uint8_t *p, uint8_t ihl, uint16_t dport)
{
	size_t hl = ihl >= 5 ? ihl * 4u : 20;

	memset(p, 0, hl + 8);
	p[0] = 0x40 | ihl;
	p[3] = hl + 8;
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	memcpy(p + 12, "\x0a\xfb\x14\x01\x0a\xfb\x14\x02", 8);
	for (size_t i = 20; i < hl; i++)
		p[i] = 1; /* NOP options */
	p[hl] = 0x9c;	  /* source port 40000 */
	p[hl + 1] = 0x40;
	p[hl + 2] = dport >> 8;
	p[hl + 3] = dport & 0xff;
	return hl + 8;
}

/* IPv6 with n extension headers of the kinds in ext (nexthdr values), each 8
 * bytes with a PadN option (fragment: offset frag_off), then UDP. */
static size_t ipv6_udp(uint8_t *p, const uint8_t *ext, int n, uint16_t frag_off, uint16_t dport)
{
	size_t off = 40;

	memset(p, 0, 40 + 8 * n + 8);
	p[0] = 0x60;
	p[6] = n ? ext[0] : IPPROTO_UDP;
	p[7] = 64;
	p[8] = 0xfd;
	p[24] = 0xfd;
	p[39] = 2;
	for (int i = 0; i < n; i++, off += 8) {
		p[off] = i + 1 < n ? ext[i + 1] : IPPROTO_UDP;
		if (ext[i] == 44) {
			p[off + 2] = (frag_off << 3) >> 8;
			p[off + 3] = ((frag_off << 3) & 0xf8) | 1;
		} else {
			p[off + 2] = 1; /* PadN, 4 bytes */
			p[off + 3] = 4;
		}
	}
	p[4] = (off - 40 + 8) >> 8;
	p[5] = (off - 40 + 8) & 0xff;
	p[off] = 0x9c;
	p[off + 2] = dport >> 8;
	p[off + 3] = dport & 0xff;
	return off + 8;
}

/* Both entry points on one frame: true when each dropped it (they must agree). */
static bool dropped(uint8_t *pkt, size_t len)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, tc, .data_in = pkt, .data_size_in = len,
			    .repeat = 1);
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, xdp, .data_in = pkt, .data_size_in = len,
			    .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.fl_drop), &tc), 0);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.fl_drop_xdp), &xdp), 0);
	assert_int_equal(tc.retval == TC_ACT_SHOT, xdp.retval == 1 /* XDP_DROP */);
	return xdp.retval == 1;
}

#define NEED_BPF()                                                                                 \
	do {                                                                                       \
		if (!skel) {                                                                       \
			fprintf(stderr, "cannot load the drop program (not root?): skipped\n");    \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void test_ipv4_ihl(void **state)
{
	uint8_t l3[128], pkt[256];

	NEED_BPF();
	rule_udp(7001);
	assert_true(dropped(pkt, frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 5, 7001))));
	assert_false(dropped(pkt, frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 5, 7002))));
	assert_true(dropped(pkt, frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 7, 7001))));
	/* IHL 4: the UDP header follows 20 bytes, but the header says 16 */
	assert_false(dropped(pkt, frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 4, 7001))));
	rule_udp(0x1402); /* what offset 16 (the destination address) gives */
	assert_false(dropped(pkt, frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 4, 7001))));
	rule_udp(0); /* a rule without ports still sees the addresses */
	assert_true(dropped(pkt, frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 4, 7001))));
}

static void test_vlan(void **state)
{
	static const uint16_t q[] = {0x8100}, qinq[] = {0x88a8, 0x8100},
			      three[] = {0x88a8, 0x8100, 0x8100};
	uint8_t l3[128], pkt[256];

	NEED_BPF();
	rule_udp(7001);
	assert_true(dropped(pkt, frame(pkt, q, 1, 0x0800, l3, ipv4_udp(l3, 5, 7001))));
	assert_false(dropped(pkt, frame(pkt, q, 1, 0x0800, l3, ipv4_udp(l3, 5, 7002))));
	assert_true(dropped(pkt, frame(pkt, qinq, 2, 0x0800, l3, ipv4_udp(l3, 5, 7001))));
	assert_false(dropped(pkt, frame(pkt, three, 3, 0x0800, l3, ipv4_udp(l3, 5, 7001))));
}

static void test_ipv6_ext(void **state)
{
	static const uint8_t hd[] = {0, 60}, frag[] = {44}, rt_ah[] = {43, 60},
			     chain8[] = {0, 60, 60, 60, 60, 60, 60, 60},
			     chain9[] = {0, 60, 60, 60, 60, 60, 60, 60, 60};
	uint8_t l3[256], pkt[320];

	NEED_BPF();
	rule_udp(7001);
	assert_true(dropped(pkt, frame(pkt, NULL, 0, 0x86dd, l3, ipv6_udp(l3, NULL, 0, 0, 7001))));
	assert_true(dropped(pkt, frame(pkt, NULL, 0, 0x86dd, l3, ipv6_udp(l3, hd, 2, 0, 7001))));
	assert_false(dropped(pkt, frame(pkt, NULL, 0, 0x86dd, l3, ipv6_udp(l3, hd, 2, 0, 7002))));
	assert_true(dropped(pkt, frame(pkt, NULL, 0, 0x86dd, l3, ipv6_udp(l3, rt_ah, 2, 0, 7001))));
	assert_true(
	    dropped(pkt, frame(pkt, NULL, 0, 0x86dd, l3, ipv6_udp(l3, chain8, 8, 0, 7001))));
	assert_false(
	    dropped(pkt, frame(pkt, NULL, 0, 0x86dd, l3, ipv6_udp(l3, chain9, 9, 0, 7001))));
	assert_true(dropped(pkt, frame(pkt, NULL, 0, 0x86dd, l3, ipv6_udp(l3, frag, 1, 0, 7001))));
	assert_false(dropped(pkt, frame(pkt, NULL, 0, 0x86dd, l3, ipv6_udp(l3, frag, 1, 8, 7001))));
	rule_udp(0); /* a later fragment: its protocol, no ports */
	assert_true(dropped(pkt, frame(pkt, NULL, 0, 0x86dd, l3, ipv6_udp(l3, frag, 1, 8, 7001))));
}

/* The age of the heartbeat is a signed difference: a beat written after the
 * program read the clock (here: one in the future) is fresh, not 584 years
 * old; a beat older than FL_HEARTBEAT_STALE_NS stops every drop. */
static void test_heartbeat(void **state)
{
	uint8_t l3[128], pkt[256];
	size_t len;

	NEED_BPF();
	rule_udp(7001);
	len = frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 5, 7001));
	assert_true(dropped(pkt, len));
	skel->bss->heartbeat_ns = now_mono_ns() + 1000000000ULL;
	assert_true(dropped(pkt, len));
	skel->bss->heartbeat_ns = now_mono_ns() - FL_HEARTBEAT_STALE_NS - 1000000000ULL;
	assert_false(dropped(pkt, len));
}

/* The tc entry point alone: the chain steps once per run (the xdp entry
 * point shares its state). */
static bool tc_dropped(uint8_t *pkt, size_t len)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, tc, .data_in = pkt, .data_size_in = len,
			    .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.fl_drop), &tc), 0);
	return tc.retval == TC_ACT_SHOT;
}

static void pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	assert_int_equal(sched_setaffinity(0, sizeof(set), &set), 0);
}

/* netem's order: a packet's fate by the state it finds, then the move. A
 * chain that goes Bad at once and stays: the first packet passes, every
 * later one is dropped. A new generation in the slot starts in Good again. */
static void test_chain_order_reset(void **state)
{
	struct fl_drop_rule *r;
	uint8_t l3[128], pkt[256];
	size_t len;

	NEED_BPF();
	pin_cpu();
	rule_udp(7001);
	r = &skel->bss->rules[0];
	r->model = FL_LOSS_CHAIN;
	r->chain = (struct fl_loss_chain){.to_bad = 0xffffffff, .loss_bad = 0xffffffff};
	len = frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 5, 7001));
	assert_false(tc_dropped(pkt, len));
	for (int i = 0; i < 5; i++)
		assert_true(tc_dropped(pkt, len));
	assert_false(tc_dropped(pkt, frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 5, 7002))));
	len = frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 5, 7001));
	assert_true(tc_dropped(pkt, len)); /* a packet the rule does not match: no step */
	r->gen++;
	assert_false(tc_dropped(pkt, len));
	assert_true(tc_dropped(pkt, len));
}

/* Runs of consecutive drops over n packets: the share dropped, the mean run. */
static void runs(uint8_t *pkt, size_t len, int n, double *loss, double *mean_run)
{
	int dropped = 0, nruns = 0;
	bool last = false;

	for (int i = 0; i < n; i++) {
		bool d = tc_dropped(pkt, len);

		dropped += d;
		nruns += d && !last;
		last = d;
	}
	*loss = (double)dropped / n;
	*mean_run = nruns ? (double)dropped / nruns : 0;
}

/* 20,000 packets through ge:p=2%,r=18% (bad 10% of the time, runs of 1/r =
 * 5.6) and through independent 10% (runs of 1/(1-p) = 1.11): the same loss,
 * bursts only for the chain. Bounds at about 5 standard deviations. */
static void test_chain_bursts(void **state)
{
	struct fl_drop_rule *r;
	uint8_t l3[128], pkt[256];
	double loss, run;
	size_t len;

	NEED_BPF();
	pin_cpu();
	len = frame(pkt, NULL, 0, 0x0800, l3, ipv4_udp(l3, 5, 7001));
	rule_udp(7001);
	r = &skel->bss->rules[0];
	r->prob = (uint32_t)(0.1 * 4294967296.0);
	runs(pkt, len, 20000, &loss, &run);
	fprintf(stderr, "independent 10%%: loss %.4f, mean run %.3f\n", loss, run);
	assert_true(loss > 0.09 && loss < 0.11);
	assert_true(run > 1.05 && run < 1.18);

	r->gen++;
	r->model = FL_LOSS_CHAIN;
	r->chain = (struct fl_loss_chain){.to_bad = (uint32_t)(0.02 * 4294967296.0),
					  .to_good = (uint32_t)(0.18 * 4294967296.0),
					  .loss_bad = 0xffffffff};
	runs(pkt, len, 20000, &loss, &run);
	fprintf(stderr, "ge:p=2%%,r=18%%: loss %.4f, mean run %.3f\n", loss, run);
	assert_true(loss > 0.07 && loss < 0.13);
	assert_true(run > 4.0 && run < 7.5);
	/* The program's own count of runs on this CPU agrees. */
	{
		int ncpu = libbpf_num_possible_cpus(), cpu = sched_getcpu();
		struct fl_loss_state st[ncpu];
		__u32 key = 0;

		assert_int_equal(bpf_map__lookup_elem(skel->maps.loss_state, &key, sizeof(key), st,
						      sizeof(st), 0),
				 0);
		assert_int_equal(st[cpu].gen, r->gen);
		assert_true(st[cpu].runs > 0);
		assert_float_equal((double)(loss * 20000) / st[cpu].runs, run, 1e-9);
		assert_true(st[cpu].longest >= (uint32_t)run);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4_ihl),	      cmocka_unit_test(test_vlan),
	    cmocka_unit_test(test_ipv6_ext),	      cmocka_unit_test(test_heartbeat),
	    cmocka_unit_test(test_chain_order_reset), cmocka_unit_test(test_chain_bursts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
