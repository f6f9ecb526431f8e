/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Inside the reconciliation stage: the temporary records, the context the
 * passes share, and the passes themselves, one unit each:
 *   evindex.c      1. event logs: fault windows (start/end) in memory; inject
 *                     events to NP port partition files (one entry per side of
 *                     the 5-tuple), and those without ports to a time index.
 *   ledger_read.c  2. ledgers: per-phase, per-fault-window and per-time-bin
 *                     statistics; each record to one of NB bucket files by
 *                     hash of its id.
 *   join.c         3. receipts: each to the bucket file of its id (idempotency
 *                     keys to their own NK buckets), beside the ledgers;
 *                  4. join, bucket by bucket: the cell of each request;
 *                     failures go to port partition files.
 *   attribute.c    5. explanation, partition by partition: each failure
 *                     against the inject events of its port, then its socket.
 *   series.c       6. time bins, latency summaries, recovery per fault;
 *   objectives.c      then the objectives.
 *   reconcile.c    the driver; spill.c and idlist.c the helpers.
 * Memory: one bucket or partition at a time plus fixed-size histograms.
 */
#ifndef FL_RC_INT_H
#define FL_RC_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "reconcile.h"

#define NB_MIN		16 /* id buckets: about BUCKET_RECS ledger records each */
#define NB_MAX		4096
#define BUCKET_RECS	(128 * 1024)
#define NK		16	    /* idempotency key buckets */
#define NP		64	    /* port partitions; NP itself: failures with no port */
#define WBUF		(16 * 1024) /* a bucket's buffer, one chunk of a spill file */
#define MAX_FAULT_HISTS 64
#define MAX_ADDRS	65534 /* distinct addresses in the events, upstreams in the receipts */
#define MAX_CHAINS	64    /* dependency chains listed in the report */
#define EV_LINE_MAX	(256 * 1024)

/* On-disk temporary records (native endian: they never leave this host). */
/* A ledger record in its bucket. src indexes the (run id, instance) pairs of
 * the ledgers' headers: one load instance each, so a handful. */
struct lrec {
	uint64_t seq;
	uint16_t src;
	uint16_t port;
	uint8_t client;	  /* enum rc_client */
	uint8_t inflight; /* still in flight when the run ended: not a failure */
	uint16_t mix;	  /* its entry in the mix file */
};

/* A receipt of an id of one of those instances. */
struct qrec {
	uint64_t seq;
	uint16_t src;
	uint16_t status;    /* the status the service answered, 0 unknown */
	uint16_t up;	    /* the upstream it called (c->ups), RC_UP_NONE */
	uint16_t up_status; /* the upstream's status, 0 unknown */
};

/* The window of a failed request, in the same bucket of its own spill and
 * in the same order as the failed requests' lrecs. */
struct wrec {
	uint64_t lo, hi;     /* wall clock */
	uint64_t cookie;     /* the connection's socket cookie, 0 if unknown */
	uint64_t latency_ns; /* as the ledger has it (a timeout: about the timeout) */
	int32_t err;	     /* errno the client saw */
	uint16_t pport;	     /* the service's port; 0: any (unknown) */
	uint16_t laddr;	     /* the client's address (event index), RC_ADDR_ANY unknown */
	uint16_t paddr;	     /* the service's address */
	uint16_t status;     /* the HTTP status the client saw */
	uint8_t outcome;     /* FL_OUT_* */
	uint8_t pad[3];
};

/* A full id: receipts of instances no ledger has (ghosts all), and the
 * ghost sets. */
struct rrec {
	uint64_t run_id, seq;
	uint32_t instance;
	uint32_t pad;
};

#define MAX_SRC 4096 /* ledgers (load instances) */

struct krec {
	uint64_t h;
	char key[56];
};

/* A failure on its way through attribution: what the client saw (the
 * wrec's fields) and what the service said (its receipt). */
struct frec {
	uint64_t run_id, seq;
	uint64_t lo, hi;
	uint64_t cookie;
	uint64_t latency_ns;
	uint32_t instance;
	int32_t err;
	uint16_t port, pport, laddr, paddr;
	uint16_t status, svc_status, up, up_status;
	uint8_t outcome, client, recv, pad[5];
};

/* An inject event that names a socket (its cookie). */
struct crec {
	uint64_t cookie, wall;
	uint32_t fault; /* index into the faults */
	uint32_t value; /* latency: delay in us; errno: the errno */
	uint8_t kind;	/* enum fl_kind */
	uint8_t pad[7];
};

/* An inject event with ports, filed under one of them (one entry per side
 * of its 5-tuple): port/addr that side, oport/oaddr the other. */
struct erec {
	uint64_t wall;
	uint32_t fault; /* index into the faults */
	uint32_t value; /* latency: delay in us; errno: the errno */
	uint16_t port, oport;
	uint16_t addr, oaddr; /* address indexes (c->addrs) */
	uint8_t kind;	      /* enum fl_kind */
	uint8_t proto;	      /* IPPROTO_* */
	uint8_t side;	      /* 0: port is the source port, 1: the destination */
	uint8_t pad;
};

/* Addresses interned: the events' addresses, indexed, so a request's
 * 5-tuple compares as numbers; RC_ADDR_NONE: an address no event has,
 * RC_ADDR_ANY: unknown (a version 1 ledger), matches any. */
#define RC_ADDR_NONE 0xffff
#define RC_ADDR_ANY  0xfffe
struct rc_addr {
	uint8_t family;
	uint8_t a[16];
	uint16_t port; /* the upstreams' table only */
	uint16_t ev;   /* the upstreams' table: the address's index in the events' */
};
struct addr_tab {
	struct rc_addr *v;
	uint32_t *slot; /* open addressing, index + 1 */
	size_t n, cap;
};
#define RC_UP_NONE 0xffff

/* An address a process fault's target listened on (listen.c): the fault
 * touched that upstream for its whole window. */
#define MAX_LISTEN 4096
struct rc_listen {
	uint32_t fault; /* index into the faults */
	uint16_t addr;	/* index in the events' addresses (c->addrs) */
	uint16_t port;
	uint8_t kind, proto;
};

/* Effects a scenario declared for a fault (rc_inputs.declared), resolved
 * to the fault's index. */
struct decl {
	size_t fault;
	const struct rc_declared *d;
};

struct chunk {
	uint64_t off;
	uint32_t len;
};

struct sbucket {
	char *buf;
	size_t len;
	struct chunk *ch;
	size_t n, cap;
};

struct spill {
	int fd;
	uint64_t end;
	unsigned nb;
	struct sbucket *b;
};

struct lat_obj {
	int phase;	/* -1: every phase */
	char fault[64]; /* "": not by fault; a fault's name, or "*": inside any fault */
	double pct, max_ms;
};

struct objectives {
	struct lat_obj *lat;
	size_t n_lat;
	double error_rate_max, recovery_max_s;
	int64_t missing_max, duplicates_max, ghosts_max, unexplained_max, dup_effects_max;
	bool has_error_rate, has_recovery;
};

struct ctx {
	const struct rc_inputs *in;
	struct rc_result *r;
	char *err;
	size_t errlen;
	char tmp[PATH_MAX]; /* folder of the spill files */
	struct objectives o;
	/* ledger, failure windows, receipts, keys, failures, events by port,
	 * events by socket, failures left for the socket pass */
	/* us: failures left for the socket pass, ds: for the dependency pass */
	struct spill ls, ws, rs, xs, ks, fs, es, cs, us, ds; /* xs: receipts of no ledger */
	struct {
		uint64_t run_id;
		uint32_t instance;
	} src[MAX_SRC];
	unsigned n_src;
	uint64_t t0;		       /* the earliest ledger start */
	unsigned nb, nb_shift;	       /* id buckets: bucket = hash >> nb_shift */
	uint32_t win[MAX_FAULT_HISTS]; /* faults with per-window statistics */
	size_t n_win;
	pthread_mutex_t jlock;
	bool any_keys;
	uint64_t ev_min, ev_max;
	bool have_cookies;
	struct addr_tab addrs; /* the events' addresses (evindex.c) */
	char ev_last[2][48];   /* the last source and destination seen, and their index */
	uint16_t ev_last_idx[2];
	bool ev_last_ok[2];
	struct addr_tab ups;	  /* the upstreams the receipts name (join.c) */
	struct rc_listen *listen; /* sorted by port, address once read */
	size_t n_listen;
	bool listen_cut; /* more than MAX_LISTEN: the rest never match */
	/* per load instance, from its ledger's URL: the service as text, and
	 * its address and port for records without a 5-tuple (version 1) */
	char (*url_svc)[64];
	uint16_t *url_addr, *url_port;
	uint64_t p50_ns; /* answered requests' median: the latency rule */
	struct decl *decl;
	size_t n_decl;
	double *mix_value; /* the mix file's "value" by entry; NULL: none */
	size_t n_mix;
	struct hist *all_h;	 /* answered, and timeouts as censored values */
	struct hist *answered_h; /* answered only: the service's typical time */
	struct hist *phase_h[256];
	uint64_t phase_req[256], phase_failed[256];
	FILE *list_fp[4]; /* full lists: missing, ghost, duplicate, unexplained */
};

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline uint64_t id_hash(uint64_t run_id, uint32_t instance, uint64_t seq)
{
	return mix64(run_id ^ mix64(seq ^ ((uint64_t)instance << 44) ^ 0x9e3779b97f4a7c15ULL));
}

static inline uint64_t src_hash(unsigned src, uint64_t seq)
{
	return mix64(seq ^ ((uint64_t)src << 48) ^ 0x9e3779b97f4a7c15ULL);
}

/* The index of (run_id, instance) among the ledgers' instances, or -1. */
static inline int src_find(const struct ctx *c, uint64_t run_id, uint32_t instance, int hint)
{
	if (hint >= 0 && c->src[hint].run_id == run_id && c->src[hint].instance == instance)
		return hint;
	for (unsigned i = 0; i < c->n_src; i++)
		if (c->src[i].run_id == run_id && c->src[i].instance == instance)
			return (int)i;
	return -1;
}

static inline uint64_t str_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return mix64(h);
}

/* spill.c */
int spill_open(struct ctx *c, struct spill *s, unsigned nb);
int spill_chunk(struct spill *s, struct sbucket *b);
int spill_flush(struct ctx *c, struct spill *s);
/* Reads bucket i back: *n records of size sz, in a malloc'd array (as
 * often as needed: the partitions of events serve two passes). */
int spill_read(struct spill *s, unsigned i, size_t sz, void **out, size_t *n);
void spill_close(struct spill *s);

static inline int spill_put(struct spill *s, unsigned bucket, const void *rec, size_t n)
{
	struct sbucket *b = &s->b[bucket];

	if (!b->buf) {
		b->buf = malloc(WBUF);
		if (!b->buf)
			return -ENOMEM;
	}
	if (b->len + n > WBUF) {
		int err = spill_chunk(s, b);

		if (err)
			return err;
	}
	memcpy(b->buf + b->len, rec, n);
	b->len += n;
	return 0;
}

/* idlist.c */
void idlist_add(struct rc_idlist *l, const char *id, FILE *fp);
int idlist_init(struct rc_idlist *l, unsigned cap);
int cmp_ids(const void *a, const void *b);
void rc_fmt_id(char *buf, uint64_t run_id, uint32_t instance, uint64_t seq);

/* objectives.c */
int rc_objectives_parse(json_t *j, const char *const *names, size_t n_names, struct objectives *o,
			char *err, size_t errlen);
const char *rc_phase_label(struct ctx *c, int p, char *buf, size_t len);
int rc_checks(struct ctx *c);

/* evindex.c */
int rc_read_events(struct ctx *c);
/* The index of an address among the events' (interned by the events
 * pass), or RC_ADDR_NONE. */
uint16_t rc_addr_find(const struct addr_tab *t, uint8_t family, const uint8_t *a, uint16_t port);
int rc_addr_intern(struct addr_tab *t, uint8_t family, const uint8_t *a, uint16_t port,
		   uint16_t *idx);
/* "10.0.0.1", "::1" -> family and 16 bytes; 0 or -EINVAL */
int rc_addr_parse(const char *s, size_t n, uint8_t *family, uint8_t *a);
void rc_addr_free(struct addr_tab *t);

/* listen.c: the "listen" of an inject record of fault index fault; sorted
 * once the logs are read; the fault (index) whose target listened on the
 * address (index) and port during f's window, by a kind for which
 * upstream_kind holds, or -1. */
int rc_listen_record(struct ctx *c, json_t *j, uint32_t fault, unsigned kind);
void rc_listen_sort(struct ctx *c);
int64_t rc_listen_fault(const struct ctx *c, const struct frec *f, uint16_t addr, uint16_t port,
			bool (*upstream_kind)(unsigned kind));

/* ledger_read.c */
int rc_read_headers(struct ctx *c);
int rc_read_ledgers(struct ctx *c);

/* join.c */
/* The receipts pass runs in its own thread beside the ledger pass: it
 * touches only what is its own (these counters, the receipts and keys
 * spills, the ghost list) until the join. */
struct rctx {
	struct ctx *c;
	int hint; /* the instance of the last receipt */
	uint64_t receipts, noid, ghosts;
	int ret;
	char err[512];
};
void *rc_read_receipts(void *arg);
int rc_join_all(struct ctx *c);
int rc_join_keys(struct ctx *c, unsigned b);

/* attribute.c */
int rc_explain_partition(struct ctx *c, unsigned p);
int rc_explain_cookies(struct ctx *c, unsigned p);
int rc_explain_dependencies(struct ctx *c, unsigned p);
/* A kind's name in the event log -> enum fl_kind (FL_KIND_NONE unknown). */
unsigned rc_kind_of(const char *name);

/* series.c */
static inline void lh_record(uint32_t *lh, uint64_t v)
{
	unsigned b, i;

	if (v < RC_LH_SUB) {
		lh[v]++;
		return;
	}
	b = 63 - (unsigned)__builtin_clzll(v); /* >= 3 */
	i = (b - 2) * RC_LH_SUB + (unsigned)((v >> (b - 3)) & (RC_LH_SUB - 1));
	if (i >= RC_LH_LEN)
		i = RC_LH_LEN - 1;
	lh[i]++;
}
struct rc_recov {
	uint64_t from, to;   /* wall: the effective end, the horizon */
	uint32_t n;	     /* slots */
	uint32_t (*slot)[2]; /* sent, failed */
};
/* The recovery arrays of the faults with statistics (after the events). */
int rc_recovery_setup(struct ctx *c);
static inline void rc_recovery_add(struct rc_fault *f, uint64_t wall, bool failed)
{
	struct rc_recov *v = f->rv;
	uint64_t i;

	if (!v || wall < v->from || wall >= v->to)
		return;
	i = (wall - v->from) / RECOV_SLOT_NS;
	if (i < v->n) {
		v->slot[i][0]++;
		v->slot[i][1] += failed;
	}
}
void rc_recovery_free(struct rc_fault *f);
int rc_series_bin(struct rc_series *s, uint64_t wall, struct rc_bin **out);
void rc_latency_of(const struct hist *h, struct rc_latency *l);
void rc_recovery(struct ctx *c);
int rc_make_phases(struct ctx *c);

/* reconcile.c: FL_RECONCILE_TIMING=1: the time of each pass on stderr. */
void rc_timing(const char *what);

#endif
