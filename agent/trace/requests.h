/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Per-request stage records (agentctl trace requests, docs/tracing.md):
 * load bpf/reqtrace.bpf.c on the best hook this kernel has (tp_btf, then
 * raw_tp, then the classic tracepoint), and write each exchange of the traced
 * processes' TCP client sockets as one line of zlib NDJSON, for the
 * reconciliation's join with loadgen's ledger (agent/reconcile/traces.c).
 * The process that opens it holds every program by its link: nothing stays
 * loaded after it ends or is killed.
 *
 *   struct fl_rq *t;
 *   if (fl_rq_open(&opts, &t, err, sizeof(err))) ...
 *   while (!done) fl_rq_poll(t, 100);
 *   fl_rq_finish(t, &sum);  // flushes the open exchanges, writes the end line
 *   fl_rq_close(t);
 */
#ifndef FL_REQUESTS_H
#define FL_REQUESTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum fl_rq_hook { FL_RQ_HOOK_TP_BTF, FL_RQ_HOOK_RAW_TP, FL_RQ_HOOK_TRACEPOINT, FL_RQ_HOOK_MAX };
#define FL_RQ_HOOK_AUTO (-1)

struct fl_rq_opts {
	pid_t pid;	  /* 0: any process */
	const char *comm; /* NULL: any */
	uint16_t port;	  /* the server's port; 0: any */
	int hook;	  /* FL_RQ_HOOK_AUTO or one hook */
	const char *out;  /* the file to write (zlib NDJSON) */
};

struct fl_rq_summary {
	uint64_t records; /* lines written, the open exchanges included */
	uint64_t open;	  /* of which exchanges still open at the end */
	uint64_t lost;	  /* records the ring buffer had no room for */
	uint64_t noslot;  /* sockets not followed: the socket table was full */
	uint64_t unread;  /* tp_btf: descriptors whose open exchange could not be read */
};

struct fl_rq;

const char *fl_rq_hook_name(int hook);
int fl_rq_hook_parse(const char *name); /* -EINVAL for another name */
/* Load, attach, open the output and write its header. 0 or a negative errno
 * with a one-line reason in err. */
int fl_rq_open(const struct fl_rq_opts *o, struct fl_rq **out, char *err, size_t len);
int fl_rq_hook(const struct fl_rq *t);
/* Write the records the kernel has ready, waiting up to timeout_ms for the
 * first. The number written, or a negative errno. */
int fl_rq_poll(struct fl_rq *t, int timeout_ms);
/* Detach, write what is left (open exchanges) and the end line, close the
 * file. 0 or a negative errno (the file could not be written). */
int fl_rq_finish(struct fl_rq *t, struct fl_rq_summary *s);
void fl_rq_close(struct fl_rq *t);

/* The name of an enum skb_drop_reason value from the kernel's BTF without
 * its SKB_DROP_REASON_ prefix ("TC_INGRESS"), or NULL. */
const char *fl_rq_reason_name(struct fl_rq *t, uint32_t reason);

#endif
