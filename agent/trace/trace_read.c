// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* One interval of a trace: the per-CPU maps summed, minus the last read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "trace.h"
#include "trace.skel.h"
#include "errno_names.h"
#include "trace_int.h"
#include "tracer.h"

#define REASON_PREFIX "SKB_DROP_REASON_"
/* Buffers freed when a socket closes with data still queued (the kernel
 * reports them through kfree_skb too): counted apart, not as drops. */
#define PURGE_REASON "QUEUE_PURGE"

void fl_trace_slot_range(unsigned i, uint64_t *lo, uint64_t *hi)
{
	*lo = i ? 1ULL << i : 0;
	*hi = (1ULL << (i + 1)) - 1;
}

static uint64_t quantile(const struct fl_trace_hist *h, double q)
{
	uint64_t want = (uint64_t)(q * (double)h->count + 0.999999), seen = 0, lo, hi;

	for (unsigned i = 0; i < FL_TRACE_SLOTS; i++) {
		seen += h->slots[i];
		if (seen >= want && seen) {
			fl_trace_slot_range(i, &lo, &hi);
			return hi;
		}
	}
	return 0;
}

json_t *fl_trace_hist_json(const struct fl_trace_hist *h)
{
	json_t *b = json_array();
	uint64_t lo, hi;

	for (unsigned i = 0; i < FL_TRACE_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		fl_trace_slot_range(i, &lo, &hi);
		json_array_append_new(b,
				      json_pack("{s:I,s:I,s:I}", "lo", (json_int_t)lo, "hi",
						(json_int_t)hi, "count", (json_int_t)h->slots[i]));
	}
	return json_pack("{s:I,s:I,s:f,s:I,s:I,s:o}", "count", (json_int_t)h->count, "sum_ns",
			 (json_int_t)h->sum_ns, "mean_us",
			 h->count ? (double)h->sum_ns / 1000.0 / (double)h->count : 0.0, "p50_us",
			 (json_int_t)quantile(h, 0.5), "p99_us", (json_int_t)quantile(h, 0.99),
			 "hist", b);
}

int trace_sum_hist(struct fl_trace *t, int fd, const void *key, struct fl_trace_hist *out)
{
	struct fl_trace_hist *v = calloc(t->ncpu, sizeof(*v));
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, v)) {
		ret = -errno;
		goto out;
	}
	for (int c = 0; c < t->ncpu; c++) {
		for (int i = 0; i < FL_TRACE_SLOTS; i++)
			out->slots[i] += v[c].slots[i];
		out->count += v[c].count;
		out->sum_ns += v[c].sum_ns;
	}
out:
	free(v);
	return ret;
}

void trace_hist_delta(struct fl_trace_hist *cur, struct fl_trace_hist *prev)
{
	struct fl_trace_hist total = *cur;

	for (int i = 0; i < FL_TRACE_SLOTS; i++)
		cur->slots[i] -= prev->slots[i];
	cur->count -= prev->count;
	cur->sum_ns -= prev->sum_ns;
	*prev = total;
}

struct sys_row {
	uint32_t nr;
	struct fl_trace_hist h;
};

static int by_count(const void *a, const void *b)
{
	const struct sys_row *x = a, *y = b;

	if (x->h.count != y->h.count)
		return x->h.count < y->h.count ? 1 : -1;
	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

static json_t *read_syscalls(struct fl_trace *t)
{
	int fd = bpf_map__fd(t->skel->maps.sys_hist);
	struct sys_row *rows = calloc(FL_TRACE_SYSCALLS, sizeof(*rows));
	json_t *out = NULL;
	size_t n = 0;
	__u32 key, next, *prev = NULL;

	if (!rows)
		return NULL;
	if (!t->prev_sys && !(t->prev_sys = calloc(FL_TRACE_SYSCALLS, sizeof(*t->prev_sys))))
		goto out;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key >= FL_TRACE_SYSCALLS || trace_sum_hist(t, fd, &key, &rows[n].h))
			continue;
		trace_hist_delta(&rows[n].h, &t->prev_sys[key]);
		rows[n].nr = key;
		if (rows[n].h.count)
			n++;
	}
	qsort(rows, n, sizeof(*rows), by_count);
	out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = fl_trace_hist_json(&rows[i].h);

		json_object_set_new(o, "syscall", json_string(fl_syscall_name(rows[i].nr)));
		json_object_set_new(o, "nr", json_integer(rows[i].nr));
		json_array_append_new(out, o);
	}
out:
	free(rows);
	return out;
}

static json_t *read_runq(struct fl_trace *t)
{
	struct fl_trace_hist h;
	__u32 zero = 0;

	if (trace_sum_hist(t, bpf_map__fd(t->skel->maps.rq_hist), &zero, &h))
		return NULL;
	trace_hist_delta(&h, &t->prev_rq);
	return fl_trace_hist_json(&h);
}

/* The difference of key k's count since the last read. */
static uint64_t net_delta(struct fl_trace *t, const struct fl_trace_net_key *k, uint64_t total)
{
	struct trace_prev_net *p;
	uint64_t d;

	for (size_t i = 0; i < t->nnet; i++) {
		if (!memcmp(&t->prev_net[i].k, k, sizeof(*k))) {
			d = total - t->prev_net[i].v;
			t->prev_net[i].v = total;
			return d;
		}
	}
	p = realloc(t->prev_net, (t->nnet + 1) * sizeof(*p));
	if (!p)
		return total;
	t->prev_net = p;
	p[t->nnet].k = *k;
	p[t->nnet++].v = total;
	return total;
}

static int read_net(struct fl_trace *t, json_t *doc)
{
	int fd = bpf_map__fd(t->skel->maps.net_counts);
	struct fl_trace_net_key key, next, *prev = NULL;
	uint64_t *v = calloc(t->ncpu, sizeof(*v)), retrans = 0, purged = 0, total, d;
	const char *name;
	json_t *drops = json_array();
	char buf[32];

	if (!v) {
		json_decref(drops);
		return -ENOMEM;
	}
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, v))
			continue;
		total = 0;
		for (int c = 0; c < t->ncpu; c++)
			total += v[c];
		d = net_delta(t, &key, total);
		if (!d)
			continue;
		if (key.kind == FL_TRACE_RETRANS) {
			retrans += d;
			continue;
		}
		name = trace_reason_name(t, key.reason, buf, sizeof(buf));
		if (!strcmp(name, PURGE_REASON)) {
			purged += d;
			continue;
		}
		json_array_append_new(drops,
				      json_pack("{s:s,s:I,s:I}", "reason", name, "code",
						(json_int_t)key.reason, "count", (json_int_t)d));
	}
	free(v);
	json_object_set_new(doc, "retransmits", json_integer(retrans));
	json_object_set_new(doc, "drops", drops);
	json_object_set_new(doc, "purged", json_integer(purged));
	return 0;
}

static json_t *filter_json(const struct fl_trace_opts *o)
{
	json_t *f = json_object();

	if (o->pid)
		json_object_set_new(f, "pid", json_integer(o->pid));
	if (o->comm)
		json_object_set_new(f, "comm", json_string(o->comm));
	if (o->cgroup)
		json_object_set_new(f, "cgroup", json_string(o->cgroup));
	if (o->port)
		json_object_set_new(f, "port", json_integer(o->port));
	if (o->no_syscalls)
		json_object_set_new(f, "no_syscalls", json_true());
	return f;
}

json_t *fl_trace_read(struct fl_trace *t, double interval_s)
{
	json_t *doc, *sys, *rq, *conn, *rtt;
	struct timespec now;
	char when[40];
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ",
		 now.tv_nsec / 1000000);
	sys = read_syscalls(t);
	rq = read_runq(t);
	if (!sys || !rq) {
		json_decref(sys);
		json_decref(rq);
		errno = EIO;
		return NULL;
	}
	conn = trace_read_tcp(t, bpf_map__fd(t->skel->maps.conn_hist), &t->prev_conn);
	rtt = trace_read_tcp(t, bpf_map__fd(t->skel->maps.rtt_hist), &t->prev_rtt);
	if (!conn || !rtt) {
		json_decref(sys);
		json_decref(rq);
		json_decref(conn);
		json_decref(rtt);
		errno = EIO;
		return NULL;
	}
	doc = json_pack("{s:s,s:f,s:s,s:o,s:o,s:o,s:o,s:o}", "time", when, "interval_s", interval_s,
			"hook", fl_trace_hook_name(t->hook), "filter", filter_json(&t->opts),
			"syscalls", sys, "runq", rq, "connect", conn, "rtt", rtt);
	if (!doc || read_net(t, doc)) {
		json_decref(doc);
		errno = ENOMEM;
		return NULL;
	}
	return doc;
}

static int load_reasons(struct fl_trace *t)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *ty;
	const struct btf_enum *e;
	int id, n;

	t->reasons_loaded = 1;
	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id <= 0)
		goto out;
	ty = btf__type_by_id(btf, id);
	e = btf_enum(ty);
	n = btf_vlen(ty);
	t->reasons = calloc(n, sizeof(*t->reasons));
	for (int i = 0; t->reasons && i < n; i++) {
		const char *name = btf__name_by_offset(btf, e[i].name_off);

		if (!name)
			continue;
		if (!strncmp(name, REASON_PREFIX, strlen(REASON_PREFIX)))
			name += strlen(REASON_PREFIX);
		t->reasons[t->nreasons].val = e[i].val;
		t->reasons[t->nreasons].name = strdup(name);
		if (t->reasons[t->nreasons].name)
			t->nreasons++;
	}
out:
	btf__free(btf);
	return 0;
}

const char *trace_reason_name(struct fl_trace *t, uint32_t reason, char *buf, size_t len)
{
	if (!t->reasons_loaded)
		load_reasons(t);
	for (size_t i = 0; i < t->nreasons; i++)
		if (t->reasons[i].val == reason)
			return t->reasons[i].name;
	snprintf(buf, len, "%u", reason);
	return buf;
}

void trace_reasons_free(struct fl_trace *t)
{
	for (size_t i = 0; i < t->nreasons; i++)
		free(t->reasons[i].name);
	free(t->reasons);
	t->reasons = NULL;
	t->nreasons = 0;
}
