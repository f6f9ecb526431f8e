/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The exchanges still open at the end of a tp_btf request trace: read from
 * the sockets' local storage (reqtrace_core.bpf.h, sk_socks) through
 * duplicates of the traced processes' descriptors. */
#ifndef FL_REQUESTS_OPEN_H
#define FL_REQUESTS_OPEN_H

#include "reqtrace.h"

struct fl_rq_open_maps {
	int socks;  /* sk_socks: struct fl_rq_sock by socket descriptor */
	int procs;  /* procs: the processes that own followed sockets */
	int parked; /* parked: struct fl_rq_drop_box by socket address */
};

struct fl_rq_open_stats {
	unsigned long denied; /* sockets that could not be read */
};

/* fn gets each followed socket's record with its parked drops added (at
 * most once a socket: a socket in several descriptors or processes is read
 * once). */
void fl_rq_open_walk(const struct fl_rq_open_maps *m, void (*fn)(void *ctx, struct fl_rq_rec *r),
		     void *ctx, struct fl_rq_open_stats *st);

#endif
