/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Kernel latency tracing (docs/tracing.md): load bpf/trace.bpf.c on the best
 * hook this kernel allows (tp_btf, then raw_tp, then the classic
 * tracepoint), and read its histograms once per interval. The process that
 * opens a trace holds every program by its link: when it exits, or is
 * killed, nothing of the trace stays loaded.
 */
#ifndef FL_TRACER_H
#define FL_TRACER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <jansson.h>
#include "trace.h"

struct fl_trace_opts {
	pid_t pid;	    /* 0: any process */
	const char *comm;   /* NULL: any */
	const char *cgroup; /* a cgroup v2 directory; NULL: any */
	uint16_t port;	    /* retransmits and drops on this port only; 0: all */
	int hook;	    /* FL_HOOK_AUTO: the best that loads; else only that one */
	int no_syscalls;    /* leave raw_syscalls alone (its cost is every syscall's) */
};

struct fl_trace;

enum fl_trace_hook { FL_HOOK_TP_BTF, FL_HOOK_RAW_TP, FL_HOOK_TRACEPOINT, FL_HOOK_MAX };
#define FL_HOOK_AUTO (-1)

/* Check *o (a comm of at most 15 bytes, a cgroup directory that exists, a
 * pid that is alive). 0 or -EINVAL/-ESRCH/-ENOENT with the reason in err. */
int fl_trace_check(const struct fl_trace_opts *o, char *err, size_t len);
/* Load and attach. 0, or a negative errno with a one-line reason in err. */
int fl_trace_open(const struct fl_trace_opts *o, struct fl_trace **out, char *err, size_t len);
const char *fl_trace_hook_name(enum fl_trace_hook h); /* "tp_btf", ... */
/* "tp_btf", "raw_tp", "tracepoint" -> the hook; -EINVAL for another name. */
int fl_trace_hook_parse(const char *name);
enum fl_trace_hook fl_trace_hook(const struct fl_trace *t);
/* The interval since the last read (or the open) as one JSON document
 * (docs/tracing.md): {"time","interval_s","hook","filter","syscalls",
 * "runq","retransmits","drops"}. NULL on a map read error (errno set). */
json_t *fl_trace_read(struct fl_trace *t, double interval_s);
void fl_trace_close(struct fl_trace *t);

/* Helpers shared with the readers, exposed for the unit tests. */
/* The bucket of slot i in microseconds: [lo, hi] (libbpf-tools' layout). */
void fl_trace_slot_range(unsigned i, uint64_t *lo, uint64_t *hi);
/* {"count","mean_us","p50_us","p99_us","hist":[{"lo","hi","count"}]}: the
 * percentiles are the upper bound of the bucket that holds them. */
json_t *fl_trace_hist_json(const struct fl_trace_hist *h);
/* The text rendering of one interval document (agentctl trace without --json). */
void fl_trace_print(json_t *doc, FILE *out);

/* Prometheus metrics of a trace (trace_prom.c): the intervals added up. */
struct fl_trace_prom;
struct fl_trace_prom *fl_trace_prom_new(void);
/* Add one interval document of fl_trace_read. 0 or -ENOMEM. */
int fl_trace_prom_add(struct fl_trace_prom *p, json_t *doc);
/* The text exposition (version 0.0.4) of the totals so far. */
void fl_trace_prom_write(const struct fl_trace_prom *p, FILE *out);
void fl_trace_prom_free(struct fl_trace_prom *p);

#endif
