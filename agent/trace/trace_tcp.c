// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* One interval of the TCP connect latency and RTT histograms, per port and
 * process (bpf/trace_net.bpf.h): the per-CPU hashes summed, minus the last
 * read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "trace.h"
#include "trace_int.h"
#include "tracer.h"

struct tcp_row {
	struct fl_trace_tcp_key k;
	struct fl_trace_hist h;
};

static int by_port(const void *a, const void *b)
{
	const struct tcp_row *x = a, *y = b;

	if (x->k.port != y->k.port)
		return x->k.port < y->k.port ? -1 : 1;
	if (x->k.tgid != y->k.tgid)
		return x->k.tgid < y->k.tgid ? -1 : 1;
	return strncmp(x->k.comm, y->k.comm, sizeof(x->k.comm));
}

/* The total at the last read of key k (a new zero one the first time). */
static struct fl_trace_hist *prev_of(struct trace_prev_tcps *p, const struct fl_trace_tcp_key *k)
{
	struct trace_prev_tcp *v;

	for (size_t i = 0; i < p->n; i++)
		if (!memcmp(&p->v[i].k, k, sizeof(*k)))
			return &p->v[i].h;
	v = realloc(p->v, (p->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	p->v = v;
	memset(&v[p->n], 0, sizeof(v[p->n]));
	v[p->n].k = *k;
	return &v[p->n++].h;
}

json_t *trace_read_tcp(struct fl_trace *t, int fd, struct trace_prev_tcps *prev)
{
	struct tcp_row *rows = calloc(FL_TRACE_TCPKEYS, sizeof(*rows));
	struct fl_trace_tcp_key key, next, *pk = NULL;
	struct fl_trace_hist *ph;
	json_t *out = NULL;
	size_t n = 0;

	if (!rows)
		return NULL;
	while (n < FL_TRACE_TCPKEYS && !bpf_map_get_next_key(fd, pk, &next)) {
		key = next;
		pk = &key;
		if (trace_sum_hist(t, fd, &key, &rows[n].h))
			continue; /* deleted meanwhile */
		ph = prev_of(prev, &key);
		if (!ph)
			goto out;
		trace_hist_delta(&rows[n].h, ph);
		rows[n].k = key;
		if (rows[n].h.count)
			n++;
	}
	qsort(rows, n, sizeof(*rows), by_port);
	out = json_array();
	for (size_t i = 0; out && i < n; i++) {
		json_t *o = fl_trace_hist_json(&rows[i].h);
		char comm[FL_TRACE_COMM + 1] = {0};

		memcpy(comm, rows[i].k.comm, FL_TRACE_COMM);
		json_object_set_new(o, "port", json_integer(rows[i].k.port));
		json_object_set_new(o, "pid", json_integer(rows[i].k.tgid));
		json_object_set_new(o, "comm", json_string(comm));
		json_array_append_new(out, o);
	}
out:
	free(rows);
	return out;
}
