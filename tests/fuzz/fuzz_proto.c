// fuzz-srcs: agent/common/proto.c agent/common/proto_params.c agent/common/loss.c agent/common/jsonfield.c agent/common/parse.c agent/kinds/registry.c agent/kinds/errno_names.c
// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The control protocol parser on arbitrary bytes, as the agent gets them
 * from its socket. A refused line must come with a one-line reason; a taken
 * one must hold only what the parser promises (probability in 0..1, ports
 * in order, one address family), and must survive the trip back to JSON:
 * fault_spec_to_json + fault_spec_from_json and proto_request_to_json +
 * proto_parse_request give the same struct.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <jansson.h>
#include "event.h"
#include "proto.h"
#include "latency.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_proto: %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_reason(const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen);
	json_t *reply;

	CHECK(n > 0 && n < errlen);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
	/* The agent sends it back in a JSON string: jansson takes only UTF-8. */
	reply = proto_error("%s", err);
	CHECK(reply);
	json_decref(reply);
}

static void check_ports(uint16_t lo, uint16_t hi)
{
	CHECK((lo == 0 && hi == 0) || (lo >= 1 && lo <= hi));
}

/* What the parser promises about a fault it took. */
static void check_spec(const struct fl_fault_spec *s)
{
	const struct fl_match *m = &s->target.match;

	CHECK(s->kind == FL_KIND_DROP || s->kind == FL_KIND_LATENCY || s->kind == FL_KIND_ERRNO ||
	      s->kind == FL_KIND_SYSCALL_LATENCY || s->kind == FL_KIND_KILL ||
	      s->kind == FL_KIND_PAUSE || s->kind == FL_KIND_CPU);
	if (s->kind == FL_KIND_ERRNO)
		CHECK(s->sys.nr >= 0 && s->sys.err > 0 && !s->sys.delay_ns);
	if (s->kind == FL_KIND_SYSCALL_LATENCY)
		CHECK(s->sys.nr >= 0 && !s->sys.err && s->sys.delay_ns &&
		      s->sys.jitter_ns <= s->sys.delay_ns);
	CHECK(!*s->target.path || s->target.path[0] == '/');
	CHECK(s->prob >= 0 && s->prob <= 1);
	if (s->kind == FL_KIND_LATENCY) {
		const struct fl_latency_params *l = &s->latency;

		CHECK(l->delay_ns + l->jitter_ns <= FL_LAT_MAX_DELAY_NS);
		CHECK(l->jitter_ns <= l->delay_ns);
		CHECK(l->dist <= FL_DIST_PARETO && l->per <= FL_LAT_PER_REQUEST);
		CHECK(l->per != FL_LAT_PER_REQUEST || m->proto == IPPROTO_TCP);
		CHECK(l->per != FL_LAT_PER_CONNECTION || m->proto == IPPROTO_TCP ||
		      m->proto == IPPROTO_UDP);
		CHECK(l->queue_len >= 1 && l->queue_len <= FL_LAT_MAX_QUEUE);
		CHECK(l->correlation >= 0 && l->correlation <= 1);
		CHECK(*s->target.dev);
	}
	if (s->loss.kind != FL_LOSS_NONE) { /* drop's loss model (loss.h) */
		const struct fl_loss_params *l = &s->loss;

		CHECK(s->kind == FL_KIND_DROP);
		CHECK(l->kind == FL_LOSS_GE ||
		      (l->correlation > 0 && l->correlation < 1 && s->prob < 1));
		CHECK(l->kind != FL_LOSS_GE ||
		      (l->p >= 0 && l->p <= 1 && l->r >= 0 && l->r <= 1 && l->h >= 0 && l->h <= 1 &&
		       l->k >= 0 && l->k <= 1 && !strncmp(l->model, "ge:", 3)));
	}
	CHECK(s->target.dir == FL_DIR_INGRESS || s->target.dir == FL_DIR_EGRESS);
	CHECK(m->family == 0 || m->family == AF_INET || m->family == AF_INET6);
	CHECK(m->proto == 0 || m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP ||
	      m->proto == IPPROTO_ICMP || m->proto == IPPROTO_ICMPV6);
	CHECK(m->proto != IPPROTO_ICMP || m->family == AF_INET);
	CHECK(m->proto != IPPROTO_ICMPV6 || m->family == AF_INET6);
	check_ports(m->sport_lo, m->sport_hi);
	check_ports(m->dport_lo, m->dport_hi);
	CHECK(!m->sport_lo || !m->proto || m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP);
	CHECK(!m->dport_lo || !m->proto || m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP);
	CHECK((*s->target.src || *s->target.dst) ? m->family != 0 : 1);
	for (int i = 0; i < 4; i++) {
		CHECK((m->src[i] & m->src_mask[i]) == m->src[i]);
		CHECK((m->dst[i] & m->dst_mask[i]) == m->dst[i]);
	}
	for (const char *c = s->name; *c; c++)
		CHECK((unsigned char)*c > 0x20 && *c != '"' && *c != '\\');
}

/* Durations go through a double when read: exact while a double holds
 * the nanoseconds to well under one (2^50 ns, 13 days), close beyond. */
static int same_duration(uint64_t a, uint64_t b)
{
	if (a < (1ULL << 50))
		return a == b;
	return fabs((double)a - (double)b) <= (double)a * 1e-14;
}

static void check_same_spec(const struct fl_fault_spec *a, const struct fl_fault_spec *b)
{
	CHECK(a->kind == b->kind);
	CHECK(!strcmp(a->name, b->name));
	CHECK(!strcmp(a->backend, b->backend));
	CHECK(a->prob == b->prob);
	CHECK(same_duration(a->duration_ns, b->duration_ns));
	CHECK(a->force == b->force);
	CHECK(!strcmp(a->target.dev, b->target.dev));
	CHECK(!strcmp(a->target.netns, b->target.netns));
	CHECK(a->target.dir == b->target.dir);
	CHECK(!strcmp(a->target.src, b->target.src));
	CHECK(!strcmp(a->target.dst, b->target.dst));
	CHECK(!memcmp(&a->target.match, &b->target.match, sizeof(a->target.match)));
	CHECK(!strcmp(a->target.cgroup, b->target.cgroup));
	CHECK(a->target.pid == b->target.pid);
	CHECK(!strcmp(a->target.comm, b->target.comm));
	CHECK(!strcmp(a->target.path, b->target.path));
	CHECK(!strcmp(a->sys.syscall, b->sys.syscall) && a->sys.nr == b->sys.nr);
	CHECK(a->sys.err == b->sys.err);
	CHECK(same_duration(a->sys.delay_ns, b->sys.delay_ns));
	CHECK(same_duration(a->sys.jitter_ns, b->sys.jitter_ns));
	CHECK(same_duration(a->latency.delay_ns, b->latency.delay_ns));
	CHECK(same_duration(a->latency.jitter_ns, b->latency.jitter_ns));
	CHECK(a->latency.dist == b->latency.dist && a->latency.per == b->latency.per);
	CHECK(a->latency.correlation == b->latency.correlation);
	CHECK(a->latency.queue_len == b->latency.queue_len);
	CHECK(a->loss.kind == b->loss.kind && a->loss.correlation == b->loss.correlation);
	CHECK(a->loss.p == b->loss.p && a->loss.r == b->loss.r && a->loss.h == b->loss.h &&
	      a->loss.k == b->loss.k && !strcmp(a->loss.model, b->loss.model));
}

/* JSON -> text -> JSON, as it goes over the wire. */
static char *dump(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	CHECK(text);
	return text;
}

static void fault_round_trip(const struct fl_fault_spec *s)
{
	struct fl_fault_spec back;
	json_t *j = fault_spec_to_json(s), *again;
	char err[512], *text;

	CHECK(j);
	text = dump(j);
	again = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	CHECK(again);
	if (fault_spec_from_json(again, &back, err, sizeof(err))) {
		fprintf(stderr, "fuzz_proto: %s\n  refused on the way back: %s\n", text, err);
		abort();
	}
	check_same_spec(s, &back);
	json_decref(again);
	json_decref(j);
	free(text);
}

static void request_round_trip(const struct fl_request *req)
{
	struct fl_request back;
	json_t *j = proto_request_to_json(req);
	char err[512], *text;

	CHECK(j);
	text = dump(j);
	if (proto_parse_request(text, strlen(text), &back, err, sizeof(err))) {
		fprintf(stderr, "fuzz_proto: %s\n  refused on the way back: %s\n", text, err);
		abort();
	}
	CHECK(back.cmd == req->cmd);
	if (req->cmd == FL_CMD_INJECT) {
		CHECK(back.dry_run == req->dry_run);
		check_same_spec(&req->fault, &back.fault);
	}
	if (req->cmd == FL_CMD_CLEAR) {
		CHECK(back.all == req->all);
		CHECK(req->all || back.id == req->id);
	}
	if (req->cmd == FL_CMD_SUPERVISE)
		CHECK(back.pid == req->pid && !memcmp(back.trap, req->trap, sizeof(req->trap)));
	json_decref(j);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_request req;
	char err[512];
	int ret;

	memset(err, 0, sizeof(err));
	ret = proto_parse_request((const char *)data, size, &req, err, sizeof(err));
	if (ret) {
		char small[128];
		size_t n = 2 + size % (sizeof(small) - 2);
		struct fl_request req2;

		CHECK(ret == -EINVAL || (ret == -E2BIG && size > FL_PROTO_MAX_LINE));
		check_reason(err, sizeof(err));
		/* A buffer too short for the reason: the same answer, cut, and still
		 * one line of UTF-8 (a cut inside a character is not). */
		memset(small, 'x', sizeof(small));
		CHECK(proto_parse_request((const char *)data, size, &req2, small, n) == ret);
		CHECK(small[n - 1] == '\0' || strlen(small) < n);
		if (*small)
			check_reason(small, n);
		return 0;
	}
	CHECK(size <= FL_PROTO_MAX_LINE);
	CHECK(req.cmd < FL_CMD_MAX);
	if (req.cmd == FL_CMD_CLEAR)
		CHECK(req.all || req.id >= 1);
	if (req.cmd == FL_CMD_INJECT) {
		check_spec(&req.fault);
		fault_round_trip(&req.fault);
	}
	request_round_trip(&req);
	return 0;
}
