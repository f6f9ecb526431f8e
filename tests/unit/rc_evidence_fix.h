/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The fixture of the attribution tests (test_reconcile_evidence.c,
 * test_reconcile_listen.c): synthetic ledgers, NDJSON receipts and event
 * logs written to a temporary folder, and reconcile run over them.
 */
#ifndef FL_RC_EVIDENCE_FIX_H
#define FL_RC_EVIDENCE_FIX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zlib.h>
#include <cmocka.h>
#include "ledger.h"
#include "reconcile.h"

#define RUN 0x00c0ffee00c0ffeeULL
#define T0  1790000000000000000ULL
#define MS  1000000ULL
#define SEC 1000000000ULL

/* One request: seq i is scheduled at T0 + i s. Addresses are
 * 10.0.0.X by their last byte (0: unknown, a version 1 ledger's view). */
struct req {
	unsigned outcome;
	uint16_t status; /* what the client saw */
	int err;
	uint16_t lport;
	uint8_t laddr, paddr;
	uint16_t pport;
	uint64_t cookie;
	/* the receipt: 0 none, else the status the service logged */
	uint16_t rstatus;
	const char *upstream; /* NDJSON "upstream" or NULL */
};

struct fix {
	char dir[64], ledger[128], receipts[160], events[128], out[128];
	gzFile ev;
};

static inline uint64_t at(unsigned seq)
{
	return T0 + (uint64_t)seq * SEC;
}

static inline void fix_open(struct fix *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/fl-test-ev.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->ledger, sizeof(f->ledger), "%s/ledger.fll", f->dir);
	snprintf(f->receipts, sizeof(f->receipts), "ndjson:%s/receipts.ndjson", f->dir);
	snprintf(f->events, sizeof(f->events), "%s/events.ndjson.gz", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/out", f->dir);
	f->ev = gzopen(f->events, "wb");
	assert_non_null(f->ev);
}

static inline void fix_close(struct fix *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", f->dir);
}

static inline void write_reqs(struct fix *f, const struct req *q, unsigned n, const char *url)
{
	struct fl_ledger_hdr h = {0};
	struct fl_ledger_writer *w;
	struct fl_ledger_rec *recs = calloc(n, sizeof(*recs));
	FILE *fp;

	assert_non_null(recs);
	memcpy(h.magic, FL_LEDGER_MAGIC, 8);
	h.version = FL_LEDGER_VERSION;
	h.hdr_size = sizeof(h);
	h.rec_size = sizeof(struct fl_ledger_rec);
	h.run_id = RUN;
	h.start_mono_ns = 1000 * SEC;
	h.start_wall_ns = T0;
	snprintf(h.url, sizeof(h.url), "%s", url ? url : "http://10.0.0.2:80/");
	assert_int_equal(fl_ledger_create(f->ledger, &h, &w), 0);
	fp = fopen(f->receipts + 7, "w");
	assert_non_null(fp);
	for (unsigned i = 0; i < n; i++) {
		struct fl_ledger_rec *r = &recs[i];
		char id[FL_REQ_ID_LEN];

		r->run_id = RUN;
		r->seq = i;
		r->sched_ns = h.start_mono_ns + (at(i) - T0);
		r->sched_wall_ns = at(i);
		r->outcome = (uint8_t)q[i].outcome;
		r->status = q[i].status;
		r->err = q[i].err;
		r->local_port = q[i].lport;
		r->sock_cookie = q[i].cookie;
		r->sent_ns = r->sched_ns + 1000;
		r->latency_ns = q[i].outcome == FL_OUT_TIMEOUT ? 1000 * MS : 5 * MS;
		r->done_ns = r->sched_ns + r->latency_ns;
		if (q[i].laddr) {
			r->family = AF_INET;
			memcpy(r->local_addr, (const uint8_t[]){10, 0, 0, q[i].laddr}, 4);
			memcpy(r->peer_addr, (const uint8_t[]){10, 0, 0, q[i].paddr}, 4);
			r->peer_port = q[i].pport;
		}
		fl_req_id_format(id, sizeof(id), RUN, 0, i);
		if (q[i].rstatus) {
			fprintf(fp, "{\"id\":\"%s\",\"status\":%u", id, q[i].rstatus);
			if (q[i].upstream)
				fprintf(fp, ",\"upstream\":%s", q[i].upstream);
			fprintf(fp, "}\n");
		}
	}
	assert_int_equal(fl_ledger_write(w, recs, n), 0);
	assert_int_equal(fl_ledger_finish(w, NULL), 0);
	fclose(fp);
	free(recs);
}

static inline void ev_window(struct fix *f, unsigned id, const char *name, uint64_t start,
			     uint64_t end)
{
	gzprintf(f->ev,
		 "{\"type\":\"start\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":%u,"
		 "\"backend\":\"tcx\",\"fault\":{\"kind\":\"drop\",\"name\":\"%s\"}}\n"
		 "{\"type\":\"end\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":%u,"
		 "\"reason\":\"cleared\"}\n",
		 (unsigned long long)start, id, name, (unsigned long long)end, id);
}

/* An inject event: "extra" is the rest of the record (5-tuple, cookie...). */
static inline void ev(struct fix *f, unsigned id, const char *kind, uint64_t wall,
		      const char *extra)
{
	gzprintf(f->ev,
		 "{\"type\":\"inject\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":%u,"
		 "\"kind\":\"%s\"%s%s}\n",
		 (unsigned long long)wall, id, kind, extra ? "," : "", extra ? extra : "");
}

/* A TCP packet event a.b.c.X:sp -> 10.0.0.Y:dp */
static inline void ev_tcp(struct fix *f, unsigned id, const char *kind, uint64_t wall, unsigned sx,
			  unsigned sp, unsigned dx, unsigned dp, const char *more)
{
	char x[256];

	snprintf(x, sizeof(x),
		 "\"dir\":\"egress\",\"proto\":\"tcp\",\"src\":\"10.0.0.%u\",\"dst\":\"10.0.0.%u\","
		 "\"sport\":%u,\"dport\":%u%s%s",
		 sx, dx, sp, dp, more ? "," : "", more ? more : "");
	ev(f, id, kind, wall, x);
}

static inline int run(struct fix *f, const struct rc_declared *d, size_t nd, struct rc_result *res)
{
	const char *l[] = {f->ledger}, *r[] = {f->receipts}, *e[] = {f->events};
	struct rc_inputs in = {.ledgers = l,
			       .n_ledgers = 1,
			       .receipts = r,
			       .n_receipts = 1,
			       .events = e,
			       .n_events = 1,
			       .out_dir = f->out,
			       .declared = d,
			       .n_declared = nd};
	char err[256];
	int ret;

	gzclose(f->ev);
	f->ev = NULL;
	ret = reconcile(&in, res, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "reconcile: %s\n", err);
	return ret;
}

/* Is seq in the unexplained list? */
static inline bool unexplained(const struct rc_result *r, unsigned seq)
{
	char id[FL_REQ_ID_LEN];

	fl_req_id_format(id, sizeof(id), RUN, 0, seq);
	for (size_t i = 0; i < r->unexplained_ids.n; i++)
		if (!strcmp(r->unexplained_ids.ids[i], id))
			return true;
	return false;
}

#define TIMEOUT(lp)                                                                                \
	{                                                                                          \
		.outcome = FL_OUT_TIMEOUT, .lport = lp, .laddr = 1, .paddr = 2, .pport = 80        \
	}
#define OK(lp)                                                                                     \
	{                                                                                          \
		.outcome = FL_OUT_OK, .status = 200, .lport = lp, .laddr = 1, .paddr = 2,          \
		.pport = 80, .rstatus = 200                                                        \
	}

#define GW(lp, up)                                                                                 \
	{                                                                                          \
		.outcome = FL_OUT_STATUS, .status = 504, .lport = lp, .laddr = 1, .paddr = 2,      \
		.pport = 80, .rstatus = 504, .upstream = up                                        \
	}

#endif
