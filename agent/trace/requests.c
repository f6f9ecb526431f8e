// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agentctl trace requests: load reqtrace.bpf.c, write its records as zlib
 * NDJSON (docs/tracing.md, "Per-request stages"). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libdeflate.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "reqtrace.h"
#include "reqtrace.skel.h"
#include "requests.h"
#include "requests_open.h"

#define RQ_LINE	 1024
#define RQ_BATCH (1u << 20) /* lines compressed into one gzip member */

struct fl_rq {
	struct reqtrace_bpf *skel;
	struct ring_buffer *rb;
	FILE *fp;
	struct libdeflate_compressor *dc;
	char *buf, *zbuf; /* the batch of lines, its compressed form */
	size_t len, zcap;
	uint64_t flushed_ns; /* when the last batch was written */
	int hook;
	int werr; /* first write error */
	struct fl_rq_summary sum;
	char **reasons; /* enum skb_drop_reason names by value */
	uint32_t n_reasons;
};

static const char *const hook_prefix[FL_RQ_HOOK_MAX] = {"tp_btf/", "raw_tp/", "tracepoint/"};
static const char *const hook_names[FL_RQ_HOOK_MAX] = {"tp_btf", "raw_tp", "tracepoint"};

const char *fl_rq_hook_name(int hook)
{
	return hook >= 0 && hook < FL_RQ_HOOK_MAX ? hook_names[hook] : "?";
}

int fl_rq_hook_parse(const char *name)
{
	for (int h = 0; h < FL_RQ_HOOK_MAX; h++)
		if (!strcmp(name, hook_names[h]))
			return h;
	return -EINVAL;
}

int fl_rq_hook(const struct fl_rq *t)
{
	return t->hook;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The names of enum skb_drop_reason, from the running kernel's BTF; the
 * values of QUEUE_PURGE and SKB_CONSUMED into the config (not drops). */
static int load_reasons(struct fl_rq *t, struct fl_rq_cfg *c)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *e = NULL;
	const struct btf_enum *v;
	int id, n, ret = 0;

	c->purge_reason = c->consumed_reason = UINT32_MAX;
	if (!btf)
		return 0; /* the names are a help: numbers do without */
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id > 0)
		e = btf__type_by_id(btf, id);
	if (!e)
		goto out;
	n = btf_vlen(e);
	v = btf_enum(e);
	for (int i = 0; i < n; i++)
		if ((uint32_t)v[i].val < 4096 && (uint32_t)v[i].val >= t->n_reasons)
			t->n_reasons = (uint32_t)v[i].val + 1;
	t->reasons = calloc(t->n_reasons ? t->n_reasons : 1, sizeof(*t->reasons));
	if (!t->reasons) {
		ret = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const char *name = btf__name_by_offset(btf, v[i].name_off);
		uint32_t val = (uint32_t)v[i].val;

		if (!name || val >= t->n_reasons)
			continue;
		if (!strcmp(name, "SKB_DROP_REASON_QUEUE_PURGE"))
			c->purge_reason = val;
		if (!strcmp(name, "SKB_CONSUMED"))
			c->consumed_reason = val;
		if (!strncmp(name, "SKB_DROP_REASON_", 16))
			name += 16;
		free(t->reasons[val]);
		t->reasons[val] = strdup(name);
	}
out:
	btf__free(btf);
	return ret;
}

const char *fl_rq_reason_name(struct fl_rq *t, uint32_t reason)
{
	return reason < t->n_reasons ? t->reasons[reason] : NULL;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (getenv("FL_TRACE_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* Write the batch as one gzip member (libdeflate, level 1: about three
 * times zlib's speed). Members one after another are one gzip stream, as
 * in loadgen's ledger; a crash loses at most the batch not yet written. */
static void flush_batch(struct fl_rq *t)
{
	size_t z;

	t->flushed_ns = clock_ns(CLOCK_MONOTONIC);
	if (!t->len)
		return;
	z = libdeflate_gzip_compress(t->dc, t->buf, t->len, t->zbuf, t->zcap);
	if (!z || fwrite(t->zbuf, 1, z, t->fp) != z || fflush(t->fp))
		t->werr = t->werr ?: -EIO;
	t->len = 0;
}

static void out_line(struct fl_rq *t, const char *line, int n)
{
	if (n <= 0 || n >= RQ_LINE) {
		t->werr = t->werr ?: -EOVERFLOW;
		return;
	}
	if (t->len + (size_t)n > RQ_BATCH)
		flush_batch(t);
	memcpy(t->buf + t->len, line, (size_t)n);
	t->len += (size_t)n;
}

/* v in decimal at p; returns the end. */
static char *dec(char *p, unsigned long long v)
{
	char tmp[20];
	int k = 0;

	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < 20);
	while (k)
		*p++ = tmp[--k];
	return p;
}

/* Append ,"key":v (no comma first when n is 0). The record's fields are
 * printed by hand: snprintf was a third of the tracer's time. */
static int put_any(char *line, int n, const char *key, size_t k, unsigned long long v)
{
	char *p;

	/* a key of at most 15 bytes and 20 digits fit in what is left */
	if (n < 0 || n > RQ_LINE - 64)
		return n;
	p = line + n;
	*p++ = n ? ',' : '{';
	*p++ = '"';
	memcpy(p, key, k);
	p += k;
	*p++ = '"';
	*p++ = ':';
	p = dec(p, v);
	return (int)(p - line);
}

#define put_all(line, n, key, v) put_any(line, n, key, sizeof(key) - 1, v)

/* Append ,"key":v when v is not 0: most fields of most records are 0
 * (no connect, no retransmit, no drop), and shorter lines cost less to
 * print and to compress. Readers take a missing field as 0. */
#define put(line, n, key, v) ((v) ? put_all(line, n, key, v) : (n))

static void write_rec(struct fl_rq *t, const struct fl_rq_rec *r, uint32_t extra_flags)
{
	char line[RQ_LINE];
	const char *rn;
	int n;

	n = put_all(line, 0, "cookie", r->cookie);
	n = put_all(line, n, "tgid", r->tgid);
	n = put_all(line, n, "tid", r->tid);
	n = put(line, n, "sport", r->sport);
	n = put(line, n, "dport", r->dport);
	n = put(line, n, "syn_ns", r->syn_ns);
	n = put(line, n, "est_ns", r->est_ns);
	n = put(line, n, "send_start_ns", r->send_start_ns);
	n = put(line, n, "send_end_ns", r->send_end_ns);
	n = put(line, n, "rx_first_ns", r->rx_first_ns);
	n = put(line, n, "recv_end_ns", r->recv_end_ns);
	n = put(line, n, "runq_ns", r->runq_ns);
	n = put(line, n, "close_ns", r->close_ns);
	n = put(line, n, "bytes_out", r->bytes_out);
	n = put(line, n, "bytes_in", r->bytes_in);
	n = put(line, n, "retrans", r->retrans);
	n = put(line, n, "retrans_ns", r->retrans_ns);
	if (r->drops) {
		n = put(line, n, "drops", r->drops);
		n = put(line, n, "drop_ns", r->drop_ns);
		n = put(line, n, "drop_code", r->drop_reason);
		rn = fl_rq_reason_name(t, r->drop_reason);
		if (n > 0 && n < RQ_LINE) {
			if (rn)
				n += snprintf(line + n, (size_t)(RQ_LINE - n),
					      ",\"drop_reason\":\"%s\"", rn);
			else
				n += snprintf(line + n, (size_t)(RQ_LINE - n),
					      ",\"drop_reason\":\"%u\"", r->drop_reason);
		}
	}
	n = put(line, n, "flags", (r->flags | extra_flags));
	if (n > 0 && n < RQ_LINE - 2) {
		line[n++] = '}';
		line[n++] = '\n';
	}
	out_line(t, line, n);
	t->sum.records++;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct fl_rq *t = ctx;

	if (size < sizeof(struct fl_rq_rec))
		return 0;
	write_rec(t, data, 0);
	return 0;
}

static void set_cfg(struct reqtrace_bpf *s, const struct fl_rq_opts *o, struct fl_rq_cfg *c)
{
	c->tgid = (uint32_t)o->pid;
	c->port = o->port;
	if (o->comm) {
		c->has_comm = 1;
		strncpy(c->comm, o->comm, sizeof(c->comm) - 1);
	}
	memcpy((void *)&s->rodata->cfg, c, sizeof(*c));
}

/* The tracepoints every hook set needs that the kernel lacks (none of them
 * on Debian's 6.1), as "a, b", in buf; 0 when none is missing or the
 * kernel's BTF cannot say. */
static size_t missing_tracepoints(char *buf, size_t len)
{
	static const char *const need[] = {"tcp:tcp_sendmsg_locked", "sock:sock_send_length",
					   "sock:sock_recv_length", "sock:sk_data_ready"};
	struct btf *vmlinux = btf__load_vmlinux_btf();
	size_t n = 0;

	buf[0] = '\0';
	if (!vmlinux)
		return 0;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		char type[64];

		snprintf(type, sizeof(type), "btf_trace_%s", strchr(need[i], ':') + 1);
		if (btf__find_by_name_kind(vmlinux, type, BTF_KIND_TYPEDEF) >= 0)
			continue;
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? ", " : "", need[i]);
	}
	btf__free(vmlinux);
	return n;
}

static int try_hook(struct fl_rq *t, const struct fl_rq_opts *o, struct fl_rq_cfg *c, int h)
{
	struct bpf_program *p;
	int err;

	t->skel = reqtrace_bpf__open();
	if (!t->skel)
		return -errno;
	set_cfg(t->skel, o, c);
	bpf_object__for_each_program(p, t->skel->obj)
	{
		const char *sec = bpf_program__section_name(p);

		bpf_program__set_autoload(p, !strncmp(sec, hook_prefix[h], strlen(hook_prefix[h])));
	}
	err = reqtrace_bpf__load(t->skel);
	if (!err)
		err = reqtrace_bpf__attach(t->skel);
	if (err) {
		reqtrace_bpf__destroy(t->skel);
		t->skel = NULL;
		return err < 0 ? err : -EINVAL;
	}
	t->hook = h;
	return 0;
}

static void write_header(struct fl_rq *t, const struct fl_rq_opts *o)
{
	char line[RQ_LINE];
	int n;

	n = snprintf(
	    line, sizeof(line),
	    "{\"type\":\"header\",\"format\":\"faultline-reqtrace\",\"version\":1,"
	    "\"hook\":\"%s\",\"clock\":\"monotonic\",\"start_mono_ns\":%llu,"
	    "\"start_wall_ns\":%llu,\"filter\":{\"pid\":%d,\"comm\":\"%s\",\"port\":%u}}\n",
	    fl_rq_hook_name(t->hook), (unsigned long long)clock_ns(CLOCK_MONOTONIC),
	    (unsigned long long)clock_ns(CLOCK_REALTIME), (int)o->pid, o->comm ? o->comm : "",
	    o->port);
	out_line(t, line, n);
}

int fl_rq_open(const struct fl_rq_opts *o, struct fl_rq **out, char *err, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	struct fl_rq_cfg c = {0};
	struct fl_rq *t;
	int ret = -ENOMEM;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, len, "out of memory");
		goto out;
	}
	ret = load_reasons(t, &c);
	if (ret) {
		snprintf(err, len, "out of memory");
		goto fail;
	}
	for (int h = 0; h < FL_RQ_HOOK_MAX; h++) {
		if (o->hook != FL_RQ_HOOK_AUTO && h != o->hook)
			continue;
		ret = try_hook(t, o, &c, h);
		if (!ret)
			break;
	}
	if (ret) {
		char missing[160];

		if (missing_tracepoints(missing, sizeof(missing)))
			snprintf(err, len,
				 "this kernel has no %s tracepoint%s, which request tracing "
				 "needs (agentctl trace works without them)",
				 missing, strchr(missing, ',') ? "s" : "");
		else
			snprintf(err, len,
				 "cannot load the request trace programs on %s: %s (run as root; "
				 "FL_TRACE_DEBUG=1 shows libbpf's log)",
				 o->hook == FL_RQ_HOOK_AUTO ? "tp_btf, raw_tp or a tracepoint"
							    : fl_rq_hook_name(o->hook),
				 strerror(-ret));
		goto fail;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.records), on_record, t, NULL);
	if (!t->rb) {
		ret = -errno;
		snprintf(err, len, "cannot open the ring buffer: %s", strerror(-ret));
		goto fail;
	}
	t->dc = libdeflate_alloc_compressor(1);
	t->buf = malloc(RQ_BATCH);
	t->zcap = t->dc ? libdeflate_gzip_compress_bound(t->dc, RQ_BATCH) : 0;
	t->zbuf = t->zcap ? malloc(t->zcap) : NULL;
	if (!t->dc || !t->buf || !t->zbuf) {
		ret = -ENOMEM;
		snprintf(err, len, "out of memory");
		goto fail;
	}
	t->fp = fopen(o->out, "we");
	if (!t->fp) {
		ret = -errno;
		snprintf(err, len, "cannot write %s: %s", o->out, strerror(-ret));
		goto fail;
	}
	write_header(t, o);
	flush_batch(t); /* the header on disk at once: the file says what it is */
	*out = t;
	ret = 0;
	goto out;
fail:
	fl_rq_close(t);
out:
	libbpf_set_print(old);
	return ret;
}

int fl_rq_poll(struct fl_rq *t, int timeout_ms)
{
	uint64_t before = t->sum.records;
	int n = ring_buffer__poll(t->rb, timeout_ms);

	if (n < 0 && n != -EINTR)
		return n;
	if (clock_ns(CLOCK_MONOTONIC) - t->flushed_ns >= 1000000000ULL)
		flush_batch(t); /* at least once a second */
	return t->werr ? t->werr : (int)(t->sum.records - before);
}

static void read_stats(struct fl_rq *t)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(t->skel->maps.stats);
	uint64_t *v, tot[FL_RQ_ST_MAX] = {0};

	if (ncpu <= 0)
		return;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return;
	for (uint32_t i = 0; i < FL_RQ_ST_MAX; i++) {
		if (bpf_map_lookup_elem(fd, &i, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			tot[i] += v[c];
	}
	free(v);
	t->sum.lost = tot[FL_RQ_ST_LOST];
	t->sum.noslot = tot[FL_RQ_ST_NOSLOT];
}

static void write_open(void *ctx, struct fl_rq_rec *r)
{
	struct fl_rq *t = ctx;

	if (!r->send_start_ns && !r->syn_ns && !r->retrans && !r->drops)
		return;
	if (r->syn_ns)
		r->flags |= FL_RQ_CONNECT;
	write_rec(t, r, FL_RQ_OPEN);
	t->sum.open++;
}

/* tp_btf: the sockets' storage, through the traced processes' descriptors. */
static void flush_open_storage(struct fl_rq *t)
{
	struct fl_rq_open_maps m = {
	    .socks = bpf_map__fd(t->skel->maps.sk_socks),
	    .procs = bpf_map__fd(t->skel->maps.procs),
	    .parked = bpf_map__fd(t->skel->maps.parked),
	};
	struct fl_rq_open_stats st;

	fl_rq_open_walk(&m, write_open, t, &st);
	t->sum.unread = st.denied;
}

/* The sockets' entries: the exchange each has in progress. The value is
 * struct fl_rq_sock, which begins with the record. */
static void flush_open(struct fl_rq *t)
{
	int fd = bpf_map__fd(t->skel->maps.socks);
	struct fl_rq_sock val;
	__u64 key, next;
	void *prev = NULL;
	int guard = FL_RQ_SOCKS + 1;

	if (t->hook == FL_RQ_HOOK_TP_BTF) {
		flush_open_storage(t);
		return;
	}
	while (guard-- > 0 && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &val))
			write_open(t, &val.r);
	}
}

int fl_rq_finish(struct fl_rq *t, struct fl_rq_summary *s)
{
	char line[RQ_LINE];
	int n, ret;

	reqtrace_bpf__detach(t->skel);
	while (ring_buffer__consume(t->rb) > 0)
		;
	flush_open(t);
	read_stats(t);
	n = snprintf(line, sizeof(line),
		     "{\"type\":\"end\",\"end_mono_ns\":%llu,\"records\":%llu,\"open\":%llu,"
		     "\"lost\":%llu,\"noslot\":%llu,\"unread\":%llu}\n",
		     (unsigned long long)clock_ns(CLOCK_MONOTONIC),
		     (unsigned long long)t->sum.records, (unsigned long long)t->sum.open,
		     (unsigned long long)t->sum.lost, (unsigned long long)t->sum.noslot,
		     (unsigned long long)t->sum.unread);
	out_line(t, line, n);
	flush_batch(t);
	ret = fclose(t->fp) ? -EIO : 0;
	t->fp = NULL;
	if (s)
		*s = t->sum;
	return t->werr ? t->werr : ret;
}

void fl_rq_close(struct fl_rq *t)
{
	if (!t)
		return;
	if (t->fp)
		fclose(t->fp);
	libdeflate_free_compressor(t->dc);
	free(t->buf);
	free(t->zbuf);
	ring_buffer__free(t->rb);
	reqtrace_bpf__destroy(t->skel);
	for (uint32_t i = 0; i < t->n_reasons; i++)
		free(t->reasons[i]);
	free(t->reasons);
	free(t);
}
