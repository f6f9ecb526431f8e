/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A run: the configuration, the load threads, and what an engine needs to
 * report a request's end. The dispatch logic (open and closed models, the
 * request budget, the ledger, the interval log) lives in run.c; the
 * engines (engine_fast.c, engine_curl.c) only move bytes.
 */
#ifndef LG_RUN_H
#define LG_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include "hist.h"
#include "ledger.h"
#include "lg_req.h"
#include "lg_sched.h"
#include "lg_slo.h"

enum lg_engine_kind { ENGINE_FAST, ENGINE_CURL };
enum lg_progress { PROGRESS_NONE, PROGRESS_LINES, PROGRESS_TTY };

struct lg_config {
	const char *url_text;
	struct lg_url url;
	struct lg_reqs reqs;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned conns, threads;
	unsigned max_conns; /* open model: the pool's ceiling (--max-connections) */
	bool open;	    /* open model: --rate or --profile */
	bool fixed_pool;    /* --model wrk2: fixed pool, queueing, timeout from the send */
	struct lg_profile prof;
	enum lg_arrival arrival;
	unsigned users; /* closed model with users (0: as fast as possible) */
	uint64_t think_ns;
	uint64_t duration_ns; /* 0: until --requests are done */
	uint64_t requests;    /* 0: no limit */
	uint64_t timeout_ns;
	const char *ledger_path, *json_path, *interval_path;
	bool have_slo;
	struct lg_slo slo;
	uint64_t run_id;
	uint32_t instance;
	enum lg_engine_kind engine;
	enum lg_progress progress;
	bool insecure; /* curl engine: do not verify TLS peers */
};

struct lg_counts {
	uint64_t out[FL_OUT_MAX];
	uint64_t bytes_in, bytes_out;
	uint64_t late;	     /* open model: sent 1 ms or more after their scheduled time */
	uint64_t max_lag;    /* open model: the latest send, ns after its scheduled time */
	uint64_t never_sent; /* timeouts whose deadline passed before they could be sent */
};

/* A connection's 5-tuple as the ledger records it (network byte order
 * addresses, host byte order ports); all 0 when unknown. */
struct lg_addrs {
	uint8_t laddr[16], paddr[16];
	uint16_t pport;
	uint8_t family;
};

/* One connection (closed model: one user) and the request it carries. */
struct lg_slot {
	uint64_t seq, sched_ns, sent_ns, ready_ns, sched_wall_ns;
	uint64_t deadline_ns; /* the request times out then; 0: never */
	uint64_t cookie;      /* socket cookie, 0 if unknown */
	uint32_t bytes_in, bytes_out;
	uint16_t mix;
	uint16_t lport;
	struct lg_addrs addrs;
	uint8_t phase;
	uint8_t flags;
	bool busy;
	char id[FL_REQ_ID_LEN];
};

#define LEDGER_BATCH 2048

struct lg_run;
struct lg_thread {
	struct lg_run *run;
	unsigned idx;
	pthread_t tid;
	unsigned nslots, slot_base; /* connections in use (the pool grows to cap) */
	unsigned cap;		    /* slots allocated: the pool's ceiling */
	struct lg_slot *slots;
	unsigned *queue; /* FIFO of idle slots, in ready_ns order (a ring of cap) */
	unsigned qhead, qlen;
	unsigned busy;
	struct lg_sched sched;
	uint64_t rng;
	struct hist *lat, *svc, *ival;
	struct lg_counts cnt, ival_cnt;
	uint64_t ival_end;
	uint32_t ival_sec;
	struct fl_ledger_rec *lbuf;
	unsigned nl;
	bool exhausted; /* --requests budget used up */
	bool twin;	/* an idempotency twin is due */
	uint16_t twin_mix;
	uint64_t twin_sched;
	uint8_t twin_phase;
	char twin_key[FL_REQ_ID_LEN];
	void *eng;
	int err;
};

struct lg_engine {
	const char *name;
	int (*init)(struct lg_thread *t);
	/* Start the request already described in t->slots[i]. */
	void (*send)(struct lg_thread *t, unsigned i, uint64_t now);
	/* Wait for events until `until` (monotonic ns) at the latest, and
	 * report every request that ended with lg_complete(). */
	int (*wait)(struct lg_thread *t, uint64_t until);
	/* Fail requests past their deadline (slot deadline_ns). */
	void (*timeouts)(struct lg_thread *t, uint64_t now);
	void (*fini)(struct lg_thread *t);
};

extern const struct lg_engine lg_engine_fast, lg_engine_curl;

#define IVAL_RING 8
struct lg_ival {
	bool used;
	uint32_t sec;
	unsigned contrib;
	struct hist *h;
	struct lg_counts c;
};

struct lg_run {
	const struct lg_config *cfg;
	const struct lg_engine *eng;
	uint64_t start_mono, start_wall, deadline, end_mono;
	_Atomic uint64_t seq;
	atomic_int stop;
	struct fl_ledger_writer *ledger;
	struct lg_thread *threads;
	char id_prefix[32]; /* "<run id>-<instance>-" */
	unsigned id_prefix_len;
	pthread_mutex_t ival_lock;
	struct lg_ival ring[IVAL_RING];
	unsigned active;
	FILE *ival_log;
	bool broke; /* stress: the SLO broke */
	double break_rate;
	double held_rate; /* stress: the rate of the last second the SLO held */
	uint32_t break_sec;
	/* totals after the run */
	struct hist *lat, *svc;
	struct lg_counts cnt;
	unsigned conns_peak; /* connections the pool grew to, all threads */
	uint64_t ledger_bytes, ledger_records;
	int ledger_check; /* 0 ok, <0 error, >0 number of problems */
	char ledger_msg[256];
};

/* Engine -> run: the request in slot i ended (outcome: enum fl_outcome). */
void lg_complete(struct lg_thread *t, unsigned i, unsigned outcome, unsigned status, int err,
		 uint64_t now);
/* Sets up the request's bytes in var (REQ_VAR_MAX) and returns its length. */
size_t lg_req_var(struct lg_thread *t, unsigned i, char *var);

/* Records the socket's local address and port, cookie and peer in the slot
 * (peer: the address connected to, or NULL to ask the socket). Works as
 * soon as connect() has returned, even with EINPROGRESS. */
void lg_slot_sockinfo(struct lg_slot *s, int fd, const struct sockaddr *peer);
void lg_slot_forget_conn(struct lg_slot *s);

/* ival.c: a thread hands its second to the interval log (and starts the
 * next), and leaves it at its end. */
void ival_publish(struct lg_thread *t, uint64_t now);
void ival_leave(struct lg_thread *t);

int run_init(struct lg_run *run, const struct lg_config *cfg);
/* Runs to the end; returns 0 or negative errno (setup failures). */
int run_exec(struct lg_run *run);
void run_stop(struct lg_run *run);
void run_free(struct lg_run *run);

/* Rereads the ledger and checks every id in 0..n-1 appears exactly once;
 * fills counts per outcome. Returns problems found (0), or negative errno. */
int ledger_verify(const char *path, uint64_t n, uint64_t counts[FL_OUT_MAX], char *msg,
		  size_t msglen);

#endif
