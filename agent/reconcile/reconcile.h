/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The reconciliation stage: joins the load generator's ledgers, the
 * service's receipts and the agent's event logs, and gives a verdict
 * (docs/reconcile.md). It streams: the ledgers and receipts are
 * hash-partitioned by request id into bucket files under the out folder and
 * joined one bucket at a time, latencies go to fixed-size histograms, and
 * failures are matched to injected faults one port partition at a time.
 *
 *   struct rc_inputs in = {.ledgers = l, .n_ledgers = 1, .receipts = r,
 *                          .n_receipts = 1, .out_dir = "out"};
 *   struct rc_result res;
 *   int rc = reconcile(&in, &res, err, sizeof(err)); // 0 pass, 1 fail, <0 error
 *   ...
 *   rc_result_free(&res);
 */
#ifndef FL_RECONCILE_H
#define FL_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#define RC_DEFAULT_SLACK_NS (200ULL * 1000 * 1000) /* 200 ms around a request */
#define RC_DEFAULT_MAX_IDS  10000		   /* ids per list kept in report.json */
#define RC_ID_LEN	    64			   /* a request id or idempotency key as text */

/* The form of a client-visible failure, as the attribution rules see it. */
enum rc_form {
	RC_FORM_STATUS,	 /* the service answered a status that is not the expected one */
	RC_FORM_TIMEOUT, /* no answer before the deadline (sent or not) */
	RC_FORM_RESET,	 /* connection reset or another socket error */
	RC_FORM_CONNECT, /* connection refused or unreachable */
	RC_FORM_EOF,	 /* the service closed before the answer was complete */
	RC_FORM_PARSE,	 /* a malformed answer */
	RC_FORM_OTHER,
	RC_FORM_MAX,
};
#define RC_FORM_BIT(f) (1u << (f))
/* "status", "timeout", ...; and back (-1 unknown). */
const char *rc_form_name(unsigned form);
int rc_form_of_name(const char *name);

/* Effects a scenario declares a fault is expected to cause: failures of
 * this form inside the fault's window plus grace are explained as
 * "declared" (weaker evidence than direct or dependency). */
#define RC_MAX_DECL_STATUSES 16
struct rc_declared {
	uint32_t fault_id; /* the agent's fault id */
	char host[64];	   /* the agent's host; "": any */
	uint16_t statuses[RC_MAX_DECL_STATUSES];
	unsigned n_statuses;
	unsigned forms; /* RC_FORM_BIT of the transport failures declared */
	uint64_t grace_ns;
};

/* An "effects" object ({"statuses": [...], "errors": [...], "grace": "2s"})
 * into d; where names it in messages. 0 or -EINVAL with the field named. */
int rc_declared_parse(json_t *e, const char *where, struct rc_declared *d, char *err,
		      size_t errlen);
/* A file {"FAULT_ID": effects, ...} (agentctl reconcile --effects): *out is
 * malloc'd. */
int rc_declared_load(const char *path, struct rc_declared **out, size_t *n, char *err,
		     size_t errlen);

/* The classes of evidence, strongest first (docs/reconcile.md). */
enum rc_class { RC_EX_DIRECT, RC_EX_DEPENDENCY, RC_EX_DECLARED, RC_EX_MAX };
extern const char *const rc_class_names[RC_EX_MAX];

struct rc_inputs {
	const char *const *ledgers; /* loadgen ledgers; several instances merge */
	size_t n_ledgers;
	const char *const *receipts; /* "nginx:PATH", "ndjson:PATH" or an http(s) URL */
	size_t n_receipts;
	const char *const *events; /* agentd event logs (zlib NDJSON); may be none */
	size_t n_events;
	json_t *objectives;	   /* docs/scenarios.md "objectives"; NULL: the defaults */
	const char *const *phases; /* phase names by ledger phase number; may be none */
	size_t n_phases;
	const char *out_dir; /* report.json, report.md, report.html; NULL: write none */
	const char *tmp_dir; /* bucket files; NULL: a folder under out_dir (or /tmp) */
	uint64_t slack_ns;   /* 0: RC_DEFAULT_SLACK_NS */
	unsigned max_ids;    /* 0: RC_DEFAULT_MAX_IDS */
	const char *title;   /* report title; NULL: "Faultline reconciliation" */
	const struct rc_declared *declared; /* may be none */
	size_t n_declared;
	/* What went wrong with the run itself (a fault that could not be
	 * injected or cleared): each fails the verdict and is reported. */
	const char *const *run_errors;
	size_t n_run_errors;
	const char *mix; /* loadgen's mix file: entries may carry a "value"; may be NULL */
	/* agentctl trace requests files: joined to the ledgers (traces.h) */
	const char *const *traces;
	size_t n_traces;
	unsigned trace_top; /* the slowest N in full; with trace_top_set, else 20 */
	bool trace_top_set;
};

/* What the client saw, and how many times the service received it. */
enum rc_client { RC_C_OK, RC_C_FAILED, RC_C_TIMEOUT, RC_C_UNSENT, RC_C_MAX };
enum rc_recv { RC_R_0, RC_R_1, RC_R_MORE, RC_R_MAX };

struct rc_counts {
	uint64_t requests;  /* ledger records */
	uint64_t sent;	    /* not unsent */
	uint64_t answered;  /* an HTTP response came back (any status) */
	uint64_t ok;	    /* the expected status */
	uint64_t failed;    /* client-visible failures: failed or timed out (sent) */
	uint64_t timed_out; /* of which timed out */
	uint64_t inflight;  /* sent, no answer yet when the run ended: not a failure */
	uint64_t unsent;
	uint64_t receipts;		  /* receipt lines read */
	uint64_t receipts_noid;		  /* receipts without a request id ("-"), ignored */
	uint64_t missing;		  /* sent, never received */
	uint64_t missing_explained;	  /* of which a client-visible failure a fault explains */
	uint64_t ghosts;		  /* received ids never sent (distinct ids) */
	uint64_t duplicates;		  /* requests received more than once */
	uint64_t recovered;		  /* timed out at the client, received by the service */
	uint64_t explained;		  /* failures matched to an injected fault (any class) */
	uint64_t explained_by[RC_EX_MAX]; /* of which direct, dependency, declared */
	uint64_t unexplained;		  /* failures no injected fault explains */
	uint64_t keys;			  /* distinct idempotency keys in the receipts */
	uint64_t duplicate_effects;	  /* keys with more than one effect */
	uint64_t events_inject;		  /* inject events read */
	uint64_t events_lost;		  /* events the agent reported lost */
	uint64_t cells[RC_C_MAX][RC_R_MAX];
	/* Value at risk (the mix entries' "value", e.g. a payment's amount):
	 * of the requests missing, received more than once, failed; and of
	 * those together, each request once. */
	double value_missing, value_duplicated, value_failed, value_at_risk;
	bool has_value; /* a mix with values was given */
};

/* A capped list of ids (as text); total is the true count. */
struct rc_idlist {
	char (*ids)[RC_ID_LEN];
	size_t n, cap;
	uint64_t total;
};

/* Percentiles of answered requests and, as censored values, of those that
 * timed out (their latency is the timeout or more): a percentile that falls
 * among the censored ones is only a lower bound, marked in lower. */
enum { RC_P50 = 1, RC_P90 = 2, RC_P99 = 4, RC_P999 = 8 };
struct rc_latency {
	uint64_t count;
	uint64_t censored; /* of count, requests that timed out */
	unsigned lower;	   /* RC_P*: that percentile is a lower bound */
	double p50_ms, p90_ms, p99_ms, p999_ms, max_ms, mean_ms;
};

struct hist;
struct rc_recov;
struct rc_traces;

/* Recovery is measured from each request's scheduled time, in slots of
 * RECOV_SLOT_NS over RECOV_SPAN_NS after a fault's end: the first moment
 * after which every window of RECOV_WINDOW_NS and at least RECOV_MIN_REQ
 * requests stays within the threshold error rate. */
#define RECOV_SLOT_NS	(10ULL * 1000 * 1000)
#define RECOV_SPAN_NS	(60ULL * 1000 * 1000 * 1000)
#define RECOV_WINDOW_NS (3ULL * 1000 * 1000 * 1000)
#define RECOV_MIN_REQ	20

struct rc_phase {
	int phase; /* ledger phase number */
	char name[32];
	uint64_t requests, failed;
	struct rc_latency lat;
};

/* A fault window from the event log ("start" .. "end"). */
struct rc_fault {
	uint32_t id;
	char host[64];
	char kind[16];
	char name[64];
	char backend[16];
	char end_reason[32];
	uint64_t start_ns, end_ns; /* wall clock; end_ns = UINT64_MAX: never ended */
	uint64_t first_inject_ns;  /* wall clock of its first inject event */
	uint64_t injections;	   /* inject events */
	uint64_t explained;	   /* failures this fault explains */
	uint64_t explained_by[RC_EX_MAX];
	bool declared;		   /* the scenario declared effects for it */
	uint64_t requests, failed; /* requests scheduled inside the window */
	struct rc_latency lat;
	double recovery_s; /* < 0: did not recover before the run ended */
	bool has_recovery;
	uint64_t recovery_from_ns; /* its end, or the end of the last fault overlapping it */
	char recovery_note[80];	   /* why there is no recovery time, if there is none */
	struct rc_recov *rv;	   /* request counts after the end (series.c) */
	json_t *spec;		   /* the "fault" object of the start record, or NULL */
	struct hist *h;
};

/* Log-linear histogram small enough for one time bin: 8 sub-buckets per
 * power of two (12.5 % resolution), 2^0 .. 2^44 ns. */
#define RC_LH_SUB 8
#define RC_LH_LEN (45 * RC_LH_SUB)
struct rc_bin {
	uint32_t sent, answered, ok, failed;
	uint32_t lh[RC_LH_LEN];
};

/* Per time bin (by scheduled wall time): at most RC_MAX_BINS bins; when a run
 * outgrows them, the bin width doubles. */
#define RC_MAX_BINS 4096
struct rc_series {
	uint64_t t0_ns;	   /* wall time of bin 0 (a multiple of width_ns) */
	uint64_t width_ns; /* 1 s unless the run is long */
	size_t n;
	struct rc_bin *bins;
};

struct rc_check {
	char name[128]; /* "latency p99 phase steady", "missing", ... */
	char field[64]; /* the objectives field: "latency[0]", "missing_max" */
	double value, limit;
	bool pass;
	bool no_data;	  /* nothing to measure (e.g. no requests in the phase) */
	bool lower_bound; /* the value is a lower bound (timeouts): never a pass */
	char unit[8];	  /* "ms", "s", "" */
};

/* An unexplained failure: what the client and the service saw. */
struct rc_failure {
	char id[RC_ID_LEN];
	char client[48];  /* "timeout", "status 500", "reset (errno 104)" */
	char service[96]; /* "not received", "500", "504 via 10.0.0.3:5432 (upstream -)" */
};

/* request -> service -> upstream -> fault, with how many failures. */
struct rc_chain {
	char service[64], upstream[64];
	uint32_t fault_id;
	char fault_name[64];
	uint64_t n;
	char example[RC_ID_LEN];
};

struct rc_result {
	bool pass;
	struct rc_counts c;
	struct rc_idlist missing_ids, ghost_ids, duplicate_ids, unexplained_ids, explained_ids,
	    recovered_ids, duplicate_keys;
	struct rc_latency all;
	struct rc_phase *phases;
	size_t n_phases;
	struct rc_fault *faults;
	size_t n_faults;
	struct rc_series series;
	struct rc_check *checks;
	size_t n_checks;
	struct rc_failure *unexplained; /* the first max_ids, by id */
	size_t n_unexplained;
	struct rc_chain *chains;
	size_t n_chains;
	char (*run_errors)[256];
	size_t n_run_errors;
	uint64_t slack_ns;
	uint64_t first_wall_ns, last_wall_ns; /* the run's span (scheduled times) */
	double baseline_error_rate;	      /* outside every fault window */
	double recovery_threshold;	      /* error rate that counts as recovered */
	char title[128];
	struct rc_traces *traces; /* the kernel traces joined, or NULL (traces.h) */
};

/* Returns 0 (pass), 1 (fail) or negative errno with a one-line reason in
 * err. out may be read after any return and must be freed. */
int reconcile(const struct rc_inputs *in, struct rc_result *out, char *err, size_t errlen);
void rc_result_free(struct rc_result *r);

/* Checks an objectives object against the phase names; names the field. */
int rc_objectives_check(json_t *objectives, const char *const *phases, size_t n_phases, char *err,
			size_t errlen);

/* Reports (report.c). Each returns 0 or negative errno. */
json_t *rc_report_json(const struct rc_result *r);
int rc_write_reports(const struct rc_result *r, const char *dir, char *err, size_t errlen);
/* The verdict for a terminal: counts, every objective, the report's path. */
void rc_print_summary(const struct rc_result *r, const char *out_dir, FILE *fp);

/* Receipts (receipts.c): calls cb for every receipt of spec. */
struct rc_receipt {
	const char *id; /* not NUL-terminated */
	size_t id_len;
	const char *key; /* idempotency key or NULL */
	size_t key_len;
	int status;	      /* HTTP status, 0 if unknown */
	uint64_t ts_ns;	      /* wall clock, 0 if unknown */
	const char *upstream; /* "addr:port" of the upstream it called, not NUL-terminated */
	size_t upstream_len;
	int upstream_status; /* 0 if unknown */
	bool parsed;	     /* the reader parsed id already: */
	uint32_t instance;
	uint64_t run_id, seq;
};
typedef int (*rc_receipt_cb)(const struct rc_receipt *r, void *arg);
int rc_receipts_read(const char *spec, rc_receipt_cb cb, void *arg, char *err, size_t errlen);
/* The same on lines in memory; format "nginx" or "ndjson". */
int rc_receipts_parse(const char *format, const char *buf, size_t len, rc_receipt_cb cb, void *arg,
		      char *err, size_t errlen);

/* "%016llx-%u-%llu" -> its parts; 0 or -EINVAL. */
int rc_parse_req_id(const char *s, size_t len, uint64_t *run_id, uint32_t *instance, uint64_t *seq);

/* agentctl reconcile (reconcile_cli.c). */
int cmd_reconcile(int argc, char **argv);

#endif
