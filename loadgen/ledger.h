/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The ledger: one record per scheduled request, the ground truth of a run.
 * This header is the one definition of the format, shared by loadgen (the
 * writer) and the reconciliation stage (a reader). docs/ledger.md documents
 * it.
 *
 * On disk: a gzip stream (possibly several concatenated gzip members, as
 * each load thread compresses its own batches) whose uncompressed bytes are
 * one struct fl_ledger_hdr followed by struct fl_ledger_rec records, all
 * little-endian (addresses in network byte order), no padding. Records are in completion order per
 * thread, not sorted by sequence. A request id is (run_id, instance, seq) and is sent as "<run_id
 * as 16 hex digits>-<instance>-<seq>" in the id header.
 */
#ifndef FL_LEDGER_H
#define FL_LEDGER_H

#include <stdint.h>
#include <stddef.h>
#include <linux/types.h>

#define FL_LEDGER_MAGIC	  "FLLEDGER"
#define FL_LEDGER_VERSION 2
#define FL_LEDGER_V1_REC  96 /* version 1: the record up to sock_cookie */
#define FL_REQ_ID_LEN	  56 /* buffer for a formatted request id (at most 48 + NUL) */

enum fl_outcome {
	FL_OUT_OK = 1,	      /* response with an expected status */
	FL_OUT_STATUS = 2,    /* response with an unexpected status */
	FL_OUT_CONNECT = 3,   /* connection refused or unreachable (err) */
	FL_OUT_RESET = 4,     /* connection reset, broken pipe, other socket error (err) */
	FL_OUT_TIMEOUT = 5,   /* no complete response within --timeout */
	FL_OUT_PARSE = 6,     /* malformed response */
	FL_OUT_EOF = 7,	      /* peer closed before the response was complete */
	FL_OUT_OTHER = 8,     /* any other failure (err, or an engine-specific code) */
	FL_OUT_UNSENT = 9,    /* scheduled but never sent: behind schedule at the end */
	FL_OUT_INFLIGHT = 10, /* sent, no answer yet when the run ended */
	FL_OUT_MAX = 11,
};

struct fl_ledger_hdr {
	char magic[8];	/* "FLLEDGER" */
	__u32 version;	/* FL_LEDGER_VERSION */
	__u32 hdr_size; /* sizeof(struct fl_ledger_hdr) */
	__u32 rec_size; /* sizeof(struct fl_ledger_rec) */
	__u32 instance;
	__u64 run_id;
	__u64 start_mono_ns; /* run start, CLOCK_MONOTONIC */
	__u64 start_wall_ns; /* the same instant, CLOCK_REALTIME */
	char url[192];	     /* target, NUL-terminated, truncated */
	char host[64];	     /* hostname of the load instance */
};

struct fl_ledger_rec {
	__u64 run_id;
	__u64 seq;	     /* 0, 1, 2, ... within (run_id, instance) */
	__u64 sched_ns;	     /* scheduled send time, CLOCK_MONOTONIC */
	__u64 sent_ns;	     /* actual send time, CLOCK_MONOTONIC; 0 if never sent */
	__u64 done_ns;	     /* response or failure time, CLOCK_MONOTONIC; 0 if none */
	__u64 sched_wall_ns; /* scheduled send time, CLOCK_REALTIME */
	__u64 latency_ns;    /* done - sched (open model) or done - sent (closed) */
	__u32 instance;
	__u32 bytes_out;   /* request bytes written */
	__u32 bytes_in;	   /* response bytes read (headers + body) */
	__u32 conn;	   /* connection number within the instance, or FL_CONN_NONE */
	__s32 err;	   /* errno (positive) for failures, else 0 */
	__u16 status;	   /* HTTP status, 0 if none */
	__u16 local_port;  /* local TCP port, 0 if unknown */
	__u16 mix;	   /* index of the request in the mix file (0 without) */
	__u8 outcome;	   /* enum fl_outcome */
	__u8 phase;	   /* profile phase (e.g. step number, spike = 1) */
	__u32 flags;	   /* FL_REC_* */
	__u64 sock_cookie; /* SO_COOKIE of the connection, 0 if unknown: joins kernel traces */
	/* Version 2: the connection's addresses, from the connect attempt itself
	 * (getsockname right after connect(), even while it is EINPROGRESS), so a
	 * request whose SYN was dropped still has its 5-tuple. Network byte
	 * order; IPv4 in the first 4 bytes, the rest 0. All 0 when unknown (the
	 * request never got a socket, or a version-1 file). */
	__u8 local_addr[16];
	__u8 peer_addr[16];
	__u16 peer_port; /* host byte order, like local_port */
	__u8 family;	 /* AF_INET, AF_INET6, 0 unknown */
	__u8 pad[5];
};

#define FL_CONN_NONE 0xffffffffu /* conn of a request that never had a connection */

#define FL_REC_DUP 1 /* second request of an idempotency pair (same key) */

_Static_assert(sizeof(struct fl_ledger_hdr) == 304, "ledger header layout");
_Static_assert(sizeof(struct fl_ledger_rec) == 136, "ledger record layout");
_Static_assert(offsetof(struct fl_ledger_rec, local_addr) == FL_LEDGER_V1_REC,
	       "version 2 extends version 1 at its end");

/* "%016llx-%u-%llu" */
int fl_req_id_format(char *buf, size_t len, __u64 run_id, __u32 instance, __u64 seq);
const char *fl_outcome_name(unsigned outcome);

/* Streaming reader: open, next record, close. Memory: one gzip stream. */
struct fl_ledger_reader;
/* Returns 0 or negative errno (-EPROTO: not a ledger or an unknown version).
 * Reads version 1 (records of 96 or 88 bytes) and version 2; hdr->version
 * and hdr->rec_size tell which the file is. Records of version 1 come back
 * as version 2 records with the fields they lack set to 0. */
int fl_ledger_open(const char *path, struct fl_ledger_reader **r, struct fl_ledger_hdr *hdr);
/* Returns 1 with a record, 0 at the end, -EIO on a truncated or corrupt file. */
int fl_ledger_next(struct fl_ledger_reader *r, struct fl_ledger_rec *rec);
/* Up to n records into v: returns how many (n except at the end), 0 at the
 * end, -EIO on a truncated or corrupt file. Faster than fl_ledger_next for
 * bulk readers. */
long fl_ledger_read(struct fl_ledger_reader *r, struct fl_ledger_rec *v, size_t n);
void fl_ledger_close(struct fl_ledger_reader *r);

/* Writer: shared by the load threads, each with its own batch buffer. */
struct fl_ledger_writer;
int fl_ledger_create(const char *path, const struct fl_ledger_hdr *hdr,
		     struct fl_ledger_writer **w);
/* Compress n records (the caller's batch) into one gzip member and append
 * it; thread-safe, the compression runs outside the lock. */
int fl_ledger_write(struct fl_ledger_writer *w, const struct fl_ledger_rec *recs, size_t n);
/* Returns 0, or the first write error seen. */
int fl_ledger_finish(struct fl_ledger_writer *w, uint64_t *bytes_on_disk);

#endif
