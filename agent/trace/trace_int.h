/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The inside of a trace, shared by trace.c (loading) and trace_read.c (maps). */
#ifndef FL_TRACE_INT_H
#define FL_TRACE_INT_H

#include <time.h>
#include "trace.h"
#include "tracer.h"

struct trace_bpf;

struct trace_prev_net {
	struct fl_trace_net_key k;
	uint64_t v;
};

/* A (port, process) histogram's total at the last read. */
struct trace_prev_tcp {
	struct fl_trace_tcp_key k;
	struct fl_trace_hist h;
};

struct trace_prev_tcps {
	struct trace_prev_tcp *v;
	size_t n;
};

struct trace_reason {
	uint32_t val;
	char *name; /* without SKB_DROP_REASON_ */
};

struct fl_trace {
	struct trace_bpf *skel;
	enum fl_trace_hook hook;
	int cgfd, ncpu;
	struct timespec opened;
	struct fl_trace_opts opts; /* comm and cgroup point into the caller's strings */
	/* Totals at the last read: each interval prints the difference. */
	struct fl_trace_hist *prev_sys; /* FL_TRACE_SYSCALLS, on the first read */
	struct fl_trace_hist prev_rq;
	struct trace_prev_net *prev_net;
	size_t nnet;
	struct trace_prev_tcps prev_conn, prev_rtt;
	/* enum skb_drop_reason from the kernel's BTF, on the first drop. */
	struct trace_reason *reasons;
	size_t nreasons;
	int reasons_loaded;
};

/* The drop reason's name ("TC_INGRESS"), or its number when the kernel's
 * BTF does not name it; in buf. */
const char *trace_reason_name(struct fl_trace *t, uint32_t reason, char *buf, size_t len);
void trace_reasons_free(struct fl_trace *t);
/* Sum key's per-CPU histograms of map fd into *out. */
int trace_sum_hist(struct fl_trace *t, int fd, const void *key, struct fl_trace_hist *out);
/* *cur becomes cur - *prev, and *prev the total it was. */
void trace_hist_delta(struct fl_trace_hist *cur, struct fl_trace_hist *prev);
/* The interval's connect latency and RTT histograms per port and process
 * (trace_tcp.c): arrays of {"port","pid","comm", histogram}. NULL on error. */
json_t *trace_read_tcp(struct fl_trace *t, int fd, struct trace_prev_tcps *prev);

#endif
