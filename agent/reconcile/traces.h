/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The join of `agentctl trace requests` records with loadgen's ledger
 * (docs/reconcile.md, "Kernel traces"): by socket cookie, then by time
 * (CLOCK_MONOTONIC on both sides: the same host). For each request a
 * breakdown into kernel stages, with the retransmits and drops of its
 * exchange; histograms of each stage over all requests; the full breakdown
 * of the slowest N, of the failed and of the faulted ones.
 *
 *   struct rc_traces *t = rc_traces_new(20, 1000);
 *   rc_traces_load(t, "traces.ndjson.gz", err, len);   // once per file
 *   rc_traces_index(t);
 *   for each ledger record: rc_traces_request(t, &rec, in_fault_window);
 *   rc_traces_finish(t);
 *   json_t *j = rc_traces_json(t); ...
 *   rc_traces_free(t);
 */
#ifndef FL_TRACES_H
#define FL_TRACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "ledger.h"

/* The stages of a request, in the order time passes. */
enum rc_stage {
	RC_ST_CONNECT, /* SYN_SENT to ESTABLISHED (the request opened the connection) */
	RC_ST_SEND,    /* the request entering TCP to its last send returning */
	RC_ST_WIRE,    /* sent to the first response byte at the socket: device queues, the
			  wire and the service */
	RC_ST_RECV,    /* that byte to the last read returning, less the run-queue wait */
	RC_ST_RUNQ,    /* the reader runnable, waiting for a CPU, after the response came */
	RC_ST_CLIENT,  /* the rest of loadgen's sent..done: the load generator itself */
	RC_ST_MAX,
};
extern const char *const rc_stage_names[RC_ST_MAX];

#define RC_TR_SLOTS 27 /* log2 of microseconds, as agentctl trace */

/* One exchange from the trace file (times CLOCK_MONOTONIC ns, 0 = unseen). */
struct rc_trace_rec {
	uint64_t cookie;
	uint64_t syn_ns, est_ns, send_start_ns, send_end_ns, rx_first_ns, recv_end_ns;
	uint64_t runq_ns, close_ns, retrans_ns, drop_ns; /* the first retransmit, drop */
	uint32_t retrans, drops, drop_code, flags;	 /* flags: enum fl_rq_flags */
	int16_t reason;					 /* index in the reason names, -1 none */
	bool used;					 /* joined to a request already */
};

/* A request with its breakdown. */
struct rc_traced_req {
	char id[64];
	uint8_t outcome; /* enum fl_outcome */
	uint64_t latency_ns, sent_ns, done_ns, cookie;
	uint64_t sent_wall_ns; /* sent_ns on the wall clock (the fault windows' clock) */
	uint64_t stage_ns[RC_ST_MAX];
	uint32_t retrans, drops;
	int16_t reason;
	bool in_fault; /* scheduled inside a fault window */
};

struct rc_tr_hist {
	uint64_t slots[RC_TR_SLOTS];
	uint64_t count, sum_ns;
};

struct rc_traces {
	unsigned top, cap; /* slowest N; at most cap failed and faulted kept */
	struct rc_trace_rec *recs;
	size_t n, alloc;
	char hook[16];
	unsigned files;
	/* what the trace files said of themselves */
	uint64_t lost, noslot, open;
	unsigned truncated; /* files without their end line */
	/* the join */
	uint64_t requests, matched, unmatched, no_cookie, unsent;
	uint64_t with_retrans, with_drops;
	struct rc_tr_hist h[RC_ST_MAX];
	char (*reasons)[32];   /* drop reason names seen */
	uint64_t *reason_reqs; /* requests with a first drop of that reason */
	size_t n_reasons;
	struct rc_traced_req *slow, *failed, *faulted;
	size_t n_slow, n_failed, n_faulted;
	uint64_t total_failed, total_faulted;
};

struct rc_traces *rc_traces_new(unsigned top, unsigned cap);
void rc_traces_free(struct rc_traces *t);
/* Append the records of one file (zlib NDJSON, or plain). 0 or a negative
 * errno with a one-line reason naming the file and line. */
int rc_traces_load(struct rc_traces *t, const char *path, char *err, size_t errlen);
/* Append one record (tests, and the loader); reason: a drop reason name or NULL. */
int rc_traces_add(struct rc_traces *t, const struct rc_trace_rec *r, const char *reason);
/* Sort the records for the join; after the last load or add. */
void rc_traces_index(struct rc_traces *t);
/* Join one ledger record. The exchange is the first unused one on the
 * request's socket that started at or after its sent_ns and no later than
 * its done_ns. Returns 1 joined, 0 not (no cookie, unsent, no exchange). */
int rc_traces_request(struct rc_traces *t, const struct fl_ledger_rec *l, bool in_fault,
		      struct rc_traced_req *out);
/* The stages of a request from its exchange (exposed for the tests). */
void rc_trace_stages(const struct rc_trace_rec *x, const struct fl_ledger_rec *l,
		     uint64_t st[RC_ST_MAX]);
/* Sort the slowest, failed and faulted lists. */
void rc_traces_finish(struct rc_traces *t);

/* Load the trace files, join every record of the ledgers; requests
 * scheduled inside one of the fault windows count as faulted. */
struct rc_fault;
int rc_traces_run(const char *const *traces, size_t n_traces, const char *const *ledgers,
		  size_t n_ledgers, const struct rc_fault *faults, size_t n_faults, unsigned top,
		  unsigned cap, struct rc_traces **out, char *err, size_t errlen);

/* Reports (traces_report.c). */
json_t *rc_traces_json(const struct rc_traces *t);
void rc_traces_md(FILE *fp, const struct rc_traces *t);
void rc_traces_html(FILE *fp, const struct rc_traces *t);
void rc_traces_summary(FILE *fp, const struct rc_traces *t);

#endif
