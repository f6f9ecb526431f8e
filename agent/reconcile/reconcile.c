// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Reconciliation: ledgers + receipts + event logs -> verdict. See
 * reconcile.h for the shape and docs/reconcile.md for the definitions.
 *
 * Passes, each streaming its input once:
 *   1. event logs: fault windows (start/end) in memory; inject events to
 *      NP port partition files (one entry per side of the 5-tuple), and
 *      those without ports to a time index.
 *   2. ledgers: per-phase, per-fault-window and per-time-bin statistics;
 *      each record to one of NB bucket files by hash of its id.
 *   3. receipts: each to the bucket file of its id (idempotency keys to
 *      their own NK buckets).
 *   4. join, bucket by bucket: the cell of each request; failures go to
 *      port partition files.
 *   5. explanation, partition by partition: each failure against the
 *      inject events of its local port, sorted by time.
 *   6. recovery per fault from the time bins, then the objectives.
 * Memory: one bucket or partition at a time plus fixed-size histograms.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "hist.h"
#include "ledger.h"
#include "reconcile.h"

#define NB_MIN		16 /* id buckets: about BUCKET_RECS ledger records each */
#define NB_MAX		4096
#define BUCKET_RECS	(128 * 1024)
#define NK		16	    /* idempotency key buckets */
#define NP		64	    /* port partitions; NP itself: failures with no port */
#define WBUF		(16 * 1024) /* a bucket's buffer, one chunk of a spill file */
#define MAX_FAULT_HISTS 64
#define TIDX_MAX	(1u << 20) /* time index bins */
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
	uint16_t pad;
};

/* A receipt of an id of one of those instances. */
struct qrec {
	uint64_t seq;
	uint16_t src;
	uint16_t pad[3];
};

/* The window of a failed request, in the same bucket of its own spill and
 * in the same order as the failed requests' lrecs. */
struct wrec {
	uint64_t lo, hi; /* wall clock */
	uint64_t cookie; /* the connection's socket cookie, 0 if unknown */
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

struct frec {
	uint64_t run_id, seq;
	uint32_t instance;
	uint16_t port;
	uint8_t client, recv;
	uint64_t lo, hi;
	uint64_t cookie;
};

/* An inject event that names a socket (its cookie). */
struct crec {
	uint64_t cookie, wall;
	uint32_t fault, pad;
};

struct erec {
	uint64_t wall;
	uint32_t fault; /* index into the faults */
	uint16_t port;
	uint16_t pad;
};

/* "Is there an event in [lo, hi]" in O(1): next[i] = first bin >= i holding
 * an event (or n), fault[i] = the fault of an event in bin i. */
struct tidx {
	uint64_t t0, w;
	uint32_t n;
	uint32_t *next;
	uint32_t *fault;
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
	struct spill ls, ws, rs, xs, ks, fs, es, cs, us; /* xs: receipts of no ledger */
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
	struct tidx portless, all;
	bool have_portless, have_cookies;
	struct hist *all_h;
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

static uint64_t str_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return mix64(h);
}

/* ---- spill files ----
 * One anonymous file per kind of record (O_TMPFILE: nothing to remove, even
 * after a crash). Each bucket fills its own buffer; a full buffer is
 * appended to the file as a chunk, and the bucket's list of chunks is all
 * it takes to read the bucket back. */

static int spill_open(struct ctx *c, struct spill *s, unsigned nb)
{
	s->fd = open(c->tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/.reconcile.XXXXXX", c->tmp);
		s->fd = mkostemp(p, O_CLOEXEC);
		if (s->fd >= 0)
			unlink(p);
	}
	if (s->fd < 0) {
		int ret = -errno;

		snprintf(c->err, c->errlen,
			 "cannot create a temporary file in %s: %s (--out or TMPDIR: a writable "
			 "folder with room for about 32 bytes per request)",
			 c->tmp, strerror(errno));
		return ret;
	}
	s->end = 0;
	s->nb = nb;
	s->b = calloc(nb, sizeof(*s->b));
	if (!s->b) {
		close(s->fd);
		s->fd = -1;
		return -ENOMEM;
	}
	return 0;
}

static int spill_chunk(struct spill *s, struct sbucket *b)
{
	size_t off = 0;

	if (!b->len)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		void *p = realloc(b->ch, cap * sizeof(*b->ch));

		if (!p)
			return -ENOMEM;
		b->ch = p;
		b->cap = cap;
	}
	while (off < b->len) {
		ssize_t k = pwrite(s->fd, b->buf + off, b->len - off, (off_t)(s->end + off));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)k;
	}
	b->ch[b->n++] = (struct chunk){.off = s->end, .len = (uint32_t)b->len};
	s->end += b->len;
	b->len = 0;
	return 0;
}

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

/* Writes what the buffers hold and frees them. */
static int spill_flush(struct ctx *c, struct spill *s)
{
	int err = 0;

	for (unsigned i = 0; i < s->nb; i++) {
		int e = spill_chunk(s, &s->b[i]);

		if (e && !err)
			err = e;
		free(s->b[i].buf);
		s->b[i].buf = NULL;
	}
	if (err)
		snprintf(c->err, c->errlen, "cannot write temporary files in %s: %s (disk full?)",
			 c->tmp, strerror(-err));
	return err;
}

/* Reads bucket i back: *n records of size sz, in a malloc'd array. */
static int spill_read(struct spill *s, unsigned i, size_t sz, void **out, size_t *n)
{
	struct sbucket *b = &s->b[i];
	size_t total = 0, at = 0;
	char *buf;

	*out = NULL;
	*n = 0;
	for (size_t k = 0; k < b->n; k++)
		total += b->ch[k].len;
	buf = malloc(total ? total : 1);
	if (!buf)
		return -ENOMEM;
	for (size_t k = 0; k < b->n; k++) {
		size_t got = 0;

		while (got < b->ch[k].len) {
			ssize_t r = pread(s->fd, buf + at + got, b->ch[k].len - got,
					  (off_t)(b->ch[k].off + got));

			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				free(buf);
				return r < 0 ? -errno : -EIO;
			}
			got += (size_t)r;
		}
		at += got;
	}
	free(b->ch);
	b->ch = NULL;
	b->n = b->cap = 0;
	*out = buf;
	*n = total / sz;
	return 0;
}

static void spill_close(struct spill *s)
{
	if (s->b) {
		for (unsigned i = 0; i < s->nb; i++) {
			free(s->b[i].buf);
			free(s->b[i].ch);
		}
		free(s->b);
		s->b = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] == '/' || p[i] == '\0') {
			char ch = p[i];

			p[i] = '\0';
			if (mkdir(p, 0755) && errno != EEXIST)
				return -errno;
			p[i] = ch;
		}
	}
	return 0;
}

/* ---- id lists ---- */

static void idlist_add(struct rc_idlist *l, const char *id, FILE *fp)
{
	l->total++;
	if (fp) {
		fputs(id, fp);
		fputc('\n', fp);
	}
	if (l->n >= l->cap)
		return;
	snprintf(l->ids[l->n++], RC_ID_LEN, "%s", id);
}

static int idlist_init(struct rc_idlist *l, unsigned cap)
{
	l->ids = calloc(cap ? cap : 1, RC_ID_LEN);
	l->cap = cap;
	return l->ids ? 0 : -ENOMEM;
}

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void fmt_id(char *buf, uint64_t run_id, uint32_t instance, uint64_t seq)
{
	fl_req_id_format(buf, RC_ID_LEN, run_id, instance, seq);
}

/* ---- objectives ---- */

static int phase_by_name(const char *s, const char *const *names, size_t n, int *phase)
{
	char *end;
	long v;

	if (!strcmp(s, "all") || !strcmp(s, "*")) {
		*phase = -1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s)) {
			*phase = (int)i;
			return 0;
		}
	if (n == 0) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (*s && !*end && !errno && v >= 0 && v < 256) {
			*phase = (int)v;
			return 0;
		}
	}
	return -EINVAL;
}

static int get_max(json_t *o, const char *key, int64_t *v, char *err, size_t errlen)
{
	json_t *j = json_object_get(o, key);

	*v = -1;
	if (!j)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		snprintf(err, errlen, "objectives.%s: must be an integer >= 0", key);
		return -EINVAL;
	}
	*v = json_integer_value(j);
	return 0;
}

static int parse_objectives(json_t *j, const char *const *names, size_t n_names,
			    struct objectives *o, char *err, size_t errlen)
{
	static const char *const keys[] = {
	    "latency",	  "error_rate_max",  "missing_max",    "duplicates_max",
	    "ghosts_max", "unexplained_max", "recovery_max_s", "duplicate_effects_max",
	    NULL};
	const char *k;
	json_t *v;
	int ret;

	memset(o, 0, sizeof(*o));
	o->missing_max = o->duplicates_max = o->ghosts_max = o->unexplained_max = -1;
	o->dup_effects_max = -1;
	if (!j) {
		/* The defaults: every request accounted for. */
		o->missing_max = o->duplicates_max = o->ghosts_max = o->unexplained_max = 0;
		return 0;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "objectives: must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(j, k, v)
	{
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], k); i++)
			;
		if (!keys[i]) {
			snprintf(err, errlen,
				 "objectives.%s: unknown field (known: latency, error_rate_max, "
				 "missing_max, duplicates_max, ghosts_max, unexplained_max, "
				 "recovery_max_s, duplicate_effects_max)",
				 k);
			return -EINVAL;
		}
	}
	if ((ret = get_max(j, "missing_max", &o->missing_max, err, errlen)) ||
	    (ret = get_max(j, "duplicates_max", &o->duplicates_max, err, errlen)) ||
	    (ret = get_max(j, "ghosts_max", &o->ghosts_max, err, errlen)) ||
	    (ret = get_max(j, "unexplained_max", &o->unexplained_max, err, errlen)) ||
	    (ret = get_max(j, "duplicate_effects_max", &o->dup_effects_max, err, errlen)))
		return ret;
	v = json_object_get(j, "error_rate_max");
	if (v) {
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
			snprintf(err, errlen,
				 "objectives.error_rate_max: must be a number in [0, 1]");
			return -EINVAL;
		}
		o->error_rate_max = json_number_value(v);
		o->has_error_rate = true;
	}
	v = json_object_get(j, "recovery_max_s");
	if (v) {
		if (!json_is_number(v) || json_number_value(v) < 0) {
			snprintf(err, errlen, "objectives.recovery_max_s: must be a number >= 0");
			return -EINVAL;
		}
		o->recovery_max_s = json_number_value(v);
		o->has_recovery = true;
	}
	v = json_object_get(j, "latency");
	if (v) {
		size_t i;
		json_t *e;

		if (!json_is_array(v)) {
			snprintf(err, errlen, "objectives.latency: must be an array of objects");
			return -EINVAL;
		}
		o->lat = calloc(json_array_size(v) + 1, sizeof(*o->lat));
		if (!o->lat)
			return -ENOMEM;
		json_array_foreach(v, i, e)
		{
			struct lat_obj *l = &o->lat[o->n_lat++];
			json_t *f;
			const char *lk;

			if (!json_is_object(e)) {
				snprintf(err, errlen, "objectives.latency[%zu]: must be an object",
					 i);
				return -EINVAL;
			}
			json_object_foreach(e, lk, f)
			{
				if (strcmp(lk, "phase") && strcmp(lk, "percentile") &&
				    strcmp(lk, "max_ms") && strcmp(lk, "fault")) {
					snprintf(
					    err, errlen,
					    "objectives.latency[%zu].%s: unknown field (known: "
					    "phase, fault, percentile, max_ms)",
					    i, lk);
					return -EINVAL;
				}
			}
			l->phase = -1;
			f = json_object_get(e, "fault");
			if (f) {
				if (!json_is_string(f) || !json_string_length(f) ||
				    json_string_length(f) >= sizeof(l->fault)) {
					snprintf(
					    err, errlen,
					    "objectives.latency[%zu].fault: must be a fault's name "
					    "or \"*\" (any fault)",
					    i);
					return -EINVAL;
				}
				if (json_object_get(e, "phase")) {
					snprintf(err, errlen,
						 "objectives.latency[%zu]: give phase or fault, "
						 "not both",
						 i);
					return -EINVAL;
				}
				snprintf(l->fault, sizeof(l->fault), "%s", json_string_value(f));
			}
			f = json_object_get(e, "phase");
			if (f) {
				if (!json_is_string(f)) {
					snprintf(err, errlen,
						 "objectives.latency[%zu].phase: must be a string",
						 i);
					return -EINVAL;
				}
				if (phase_by_name(json_string_value(f), names, n_names,
						  &l->phase)) {
					char known[256] = "";
					size_t off = 0;

					for (size_t p = 0; p < n_names && off < sizeof(known); p++)
						off += (size_t)snprintf(known + off,
									sizeof(known) - off, "%s%s",
									p ? ", " : "", names[p]);
					snprintf(
					    err, errlen,
					    "objectives.latency[%zu].phase: unknown phase '%s' "
					    "(%s%s)",
					    i, json_string_value(f),
					    n_names ? "phases: "
						    : "no phase names given: use a "
						      "phase number, \"all\" or "
						      "--phases",
					    n_names ? known : "");
					return -EINVAL;
				}
			}
			f = json_object_get(e, "percentile");
			if (!json_is_number(f) || json_number_value(f) <= 0 ||
			    json_number_value(f) > 100) {
				snprintf(err, errlen,
					 "objectives.latency[%zu].percentile: must be a number in "
					 "(0, 100]",
					 i);
				return -EINVAL;
			}
			l->pct = json_number_value(f);
			f = json_object_get(e, "max_ms");
			if (!json_is_number(f) || json_number_value(f) <= 0) {
				snprintf(err, errlen,
					 "objectives.latency[%zu].max_ms: must be a number > 0", i);
				return -EINVAL;
			}
			l->max_ms = json_number_value(f);
		}
	}
	return 0;
}

int rc_objectives_check(json_t *objectives, const char *const *phases, size_t n_phases, char *err,
			size_t errlen)
{
	struct objectives o;
	int ret = parse_objectives(objectives, phases, n_phases, &o, err, errlen);

	free(o.lat);
	return ret;
}

/* ---- event logs ---- */

static struct rc_fault *fault_get(struct ctx *c, const char *host, uint32_t id, int *ret)
{
	struct rc_result *r = c->r;
	struct rc_fault *f;

	*ret = 0;
	for (size_t i = 0; i < r->n_faults; i++)
		if (r->faults[i].id == id && !strcmp(r->faults[i].host, host))
			return &r->faults[i];
	if ((r->n_faults & (r->n_faults - 1)) == 0) {
		size_t cap = r->n_faults ? r->n_faults * 2 : 8;
		void *p = realloc(r->faults, cap * sizeof(*r->faults));

		if (!p) {
			*ret = -ENOMEM;
			return NULL;
		}
		r->faults = p;
	}
	f = &r->faults[r->n_faults++];
	memset(f, 0, sizeof(*f));
	f->id = id;
	snprintf(f->host, sizeof(f->host), "%s", host);
	f->start_ns = UINT64_MAX;
	f->end_ns = UINT64_MAX;
	f->first_inject_ns = UINT64_MAX;
	return f;
}

static int ev_write(struct ctx *c, uint64_t wall, uint32_t fault, int port)
{
	struct erec e = {.wall = wall, .fault = fault, .port = (uint16_t)port};

	return spill_put(&c->es, port % NP, &e, sizeof(e));
}

static int event_line(struct ctx *c, const char *path, uint64_t line, const char *s, size_t len,
		      FILE *all_fp)
{
	json_error_t jerr;
	json_t *j, *v;
	const char *type, *host;
	struct rc_fault *f;
	uint64_t wall;
	int ret = 0;

	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (!len)
		return 0;
	j = json_loadb(s, len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		snprintf(c->err, c->errlen, "event log %s line %llu: not a JSON object (%s)", path,
			 (unsigned long long)line, j ? "another value" : jerr.text);
		json_decref(j);
		return -EINVAL;
	}
	type = json_string_value(json_object_get(j, "type"));
	host = json_string_value(json_object_get(j, "host"));
	v = json_object_get(j, "wall_ns");
	if (!type || !json_is_integer(v)) {
		snprintf(c->err, c->errlen,
			 "event log %s line %llu: no \"type\" or \"wall_ns\" (is this an agentd "
			 "event log?)",
			 path, (unsigned long long)line);
		ret = -EINVAL;
		goto out;
	}
	wall = (uint64_t)json_integer_value(v);
	if (!host)
		host = "";
	if (!strcmp(type, "lost")) {
		c->r->c.events_lost += (uint64_t)json_integer_value(json_object_get(j, "count"));
		goto out;
	}
	if (strcmp(type, "start") && strcmp(type, "end") && strcmp(type, "inject"))
		goto out; /* a record type of a later version: not ours to judge */
	v = json_object_get(j, "fault_id");
	if (!json_is_integer(v)) {
		snprintf(c->err, c->errlen, "event log %s line %llu: no \"fault_id\"", path,
			 (unsigned long long)line);
		ret = -EINVAL;
		goto out;
	}
	f = fault_get(c, host, (uint32_t)json_integer_value(v), &ret);
	if (!f)
		goto out;
	if (!strcmp(type, "start")) {
		json_t *spec = json_object_get(j, "fault");
		const char *s2;

		f->start_ns = wall;
		s2 = json_string_value(json_object_get(j, "backend"));
		if (s2)
			snprintf(f->backend, sizeof(f->backend), "%s", s2);
		if (json_is_object(spec)) {
			json_decref(f->spec);
			f->spec = json_incref(spec);
			s2 = json_string_value(json_object_get(spec, "kind"));
			if (s2)
				snprintf(f->kind, sizeof(f->kind), "%s", s2);
			s2 = json_string_value(json_object_get(spec, "name"));
			if (s2)
				snprintf(f->name, sizeof(f->name), "%s", s2);
		}
	} else if (!strcmp(type, "end")) {
		const char *why = json_string_value(json_object_get(j, "reason"));

		f->end_ns = wall;
		snprintf(f->end_reason, sizeof(f->end_reason), "%s", why ? why : "");
	} else {
		uint32_t fi = (uint32_t)(f - c->r->faults);
		json_t *sp = json_object_get(j, "sport"), *dp = json_object_get(j, "dport");
		int sport = json_is_integer(sp) ? (int)json_integer_value(sp) : 0;
		int dport = json_is_integer(dp) ? (int)json_integer_value(dp) : 0;
		const char *kind = json_string_value(json_object_get(j, "kind"));
		json_t *ck = json_object_get(j, "cookie");
		/* written as a signed JSON integer: the same 64 bits */
		uint64_t cookie = json_is_integer(ck) ? (uint64_t)json_integer_value(ck) : 0;
		struct erec e = {.wall = wall, .fault = fi};

		if (!f->kind[0] && kind)
			snprintf(f->kind, sizeof(f->kind), "%s", kind);
		f->injections++;
		if (wall < f->first_inject_ns)
			f->first_inject_ns = wall;
		c->r->c.events_inject++;
		if (wall < c->ev_min)
			c->ev_min = wall;
		if (wall > c->ev_max)
			c->ev_max = wall;
		if (sport > 0 && sport < 65536)
			ret = ev_write(c, wall, fi, sport);
		if (!ret && dport > 0 && dport < 65536 && dport != sport)
			ret = ev_write(c, wall, fi, dport);
		if (!ret && cookie) {
			struct crec k = {.cookie = cookie, .wall = wall, .fault = fi};

			ret = spill_put(&c->cs, (unsigned)(mix64(cookie) % NP), &k, sizeof(k));
			c->have_cookies = true;
		}
		/* 0: neither ports nor socket: matched by time alone */
		e.port = (sport > 0 || dport > 0 || cookie) ? 1 : 0;
		if (!ret && fwrite(&e, sizeof(e), 1, all_fp) != 1)
			ret = -EIO;
		if (ret && !c->err[0])
			snprintf(c->err, c->errlen, "cannot write temporary files in %s: %s",
				 c->tmp, strerror(-ret));
	}
out:
	json_decref(j);
	return ret;
}

static int read_events(struct ctx *c, FILE *all_fp)
{
	char *buf = malloc(EV_LINE_MAX + 1);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < c->in->n_events && !ret; i++) {
		const char *path = c->in->events[i];
		uint64_t line = 0;
		gzFile gz = gzopen(path, "rb");

		if (!gz) {
			ret = errno ? -errno : -ENOMEM;
			snprintf(c->err, c->errlen, "cannot open event log %s: %s", path,
				 strerror(-ret));
			break;
		}
		gzbuffer(gz, 256 * 1024);
		while (!ret && gzgets(gz, buf, EV_LINE_MAX + 1)) {
			size_t len = strlen(buf);

			line++;
			if (len == EV_LINE_MAX && buf[len - 1] != '\n') {
				snprintf(c->err, c->errlen, "event log %s line %llu: too long",
					 path, (unsigned long long)line);
				ret = -E2BIG;
				break;
			}
			ret = event_line(c, path, line, buf, len, all_fp);
		}
		if (!ret) {
			int zerr;
			const char *m = gzerror(gz, &zerr);

			/* A log cut short (agent killed) ends in a torn member:
			 * keep what was read, as a crashed agent's log is
			 * still evidence. Only a read error is fatal. */
			if (zerr == Z_ERRNO) {
				snprintf(c->err, c->errlen, "cannot read event log %s: %s", path,
					 m);
				ret = -EIO;
			}
		}
		gzclose(gz);
	}
	free(buf);
	return ret;
}

static int tidx_build(struct tidx *t, FILE *fp, bool portless_only)
{
	struct erec e;
	uint64_t span;

	rewind(fp);
	t->n = 0;
	/* first pass: the span */
	uint64_t lo = UINT64_MAX, hi = 0;

	while (fread(&e, sizeof(e), 1, fp) == 1) {
		if (portless_only && e.port)
			continue;
		if (e.wall < lo)
			lo = e.wall;
		if (e.wall > hi)
			hi = e.wall;
	}
	if (lo > hi)
		return 0;
	span = hi - lo + 1;
	t->t0 = lo;
	t->w = span / TIDX_MAX + 1;
	if (t->w < 1000000)
		t->w = 1000000; /* 1 ms */
	t->n = (uint32_t)(span / t->w + 1);
	t->next = malloc((t->n + 1) * sizeof(uint32_t));
	t->fault = malloc(t->n * sizeof(uint32_t));
	if (!t->next || !t->fault)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n; i++)
		t->fault[i] = UINT32_MAX;
	rewind(fp);
	while (fread(&e, sizeof(e), 1, fp) == 1) {
		if (portless_only && e.port)
			continue;
		t->fault[(e.wall - t->t0) / t->w] = e.fault;
	}
	t->next[t->n] = t->n;
	for (uint32_t i = t->n; i-- > 0;)
		t->next[i] = t->fault[i] != UINT32_MAX ? i : t->next[i + 1];
	return 0;
}

/* The fault of an event in [lo, hi], or -1. */
static int64_t tidx_find(const struct tidx *t, uint64_t lo, uint64_t hi)
{
	uint64_t a, b;
	uint32_t j;

	if (!t->n || hi < t->t0)
		return -1;
	a = lo < t->t0 ? 0 : (lo - t->t0) / t->w;
	if (a >= t->n)
		return -1;
	b = (hi - t->t0) / t->w;
	j = t->next[a];
	if (j >= t->n || j > b)
		return -1;
	return t->fault[j];
}

/* ---- ledgers ---- */

static enum rc_client client_of(unsigned outcome)
{
	switch (outcome) {
	case FL_OUT_OK:
		return RC_C_OK;
	case FL_OUT_TIMEOUT:
	case FL_OUT_INFLIGHT:
		return RC_C_TIMEOUT;
	case FL_OUT_UNSENT:
		return RC_C_UNSENT;
	default:
		return RC_C_FAILED;
	}
}

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

static int series_bin(struct rc_series *s, uint64_t wall, struct rc_bin **out)
{
	uint64_t idx = wall < s->t0_ns ? 0 : (wall - s->t0_ns) / s->width_ns;

	if (!s->bins) {
		s->bins = calloc(RC_MAX_BINS, sizeof(*s->bins));
		if (!s->bins)
			return -ENOMEM;
	}
	while (idx >= RC_MAX_BINS) {
		/* widen: merge pairs */
		size_t n = (s->n + 1) / 2;

		for (size_t i = 0; i < n; i++) {
			struct rc_bin *d = &s->bins[i], *a = &s->bins[2 * i];
			struct rc_bin m = *a;

			if (2 * i + 1 < s->n) {
				struct rc_bin *b = &s->bins[2 * i + 1];

				m.sent += b->sent;
				m.answered += b->answered;
				m.ok += b->ok;
				m.failed += b->failed;
				for (unsigned k = 0; k < RC_LH_LEN; k++)
					m.lh[k] += b->lh[k];
			}
			*d = m;
		}
		memset(&s->bins[n], 0, (s->n - n) * sizeof(s->bins[0]));
		s->n = n;
		s->width_ns *= 2;
		idx = wall < s->t0_ns ? 0 : (wall - s->t0_ns) / s->width_ns;
	}
	if (idx >= s->n) {
		size_t n = idx + 1;

		memset(&s->bins[s->n], 0, (n - s->n) * sizeof(s->bins[0]));
		s->n = n;
	}
	*out = &s->bins[idx];
	return 0;
}

/* The ledger in batches: fl_ledger_open checks the header, then a thread
 * inflates the records into a ring of LB_BUFS buffers of LB_N records while
 * the caller takes them (inflating is half the work of the ledger pass). */
#define LB_N	16384
#define LB_BUFS 4
struct lbatch {
	gzFile gz;
	struct fl_ledger_rec *v[LB_BUFS];
	ssize_t n[LB_BUFS]; /* records in each filled buffer; 0 end, < 0 error */
	bool full[LB_BUFS];
	unsigned head, tail; /* consumer takes head, producer fills tail */
	size_t i;	     /* next record in v[head] */
	bool have;	     /* the consumer holds v[head] */
	bool threaded, stop;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static ssize_t lb_fill(struct lbatch *b, struct fl_ledger_rec *v)
{
	size_t got = 0, want = LB_N * sizeof(*v);

	while (got < want) {
		int k = gzread(b->gz, (char *)v + got, (unsigned)(want - got));

		if (k < 0)
			return -EIO;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	if (got % sizeof(*v))
		return -EIO;
	return (ssize_t)(got / sizeof(*v));
}

static void *lb_producer(void *arg)
{
	struct lbatch *b = arg;

	for (;;) {
		unsigned t;
		ssize_t n;

		pthread_mutex_lock(&b->lock);
		while (b->full[b->tail] && !b->stop)
			pthread_cond_wait(&b->cond, &b->lock);
		t = b->tail;
		pthread_mutex_unlock(&b->lock);
		if (b->stop)
			break;
		n = lb_fill(b, b->v[t]);
		pthread_mutex_lock(&b->lock);
		b->n[t] = n;
		b->full[t] = true;
		b->tail = (t + 1) % LB_BUFS;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		if (n <= 0)
			break;
	}
	return NULL;
}

static void lb_close(struct lbatch *b)
{
	if (b->threaded) {
		pthread_mutex_lock(&b->lock);
		b->stop = true;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->th, NULL);
	}
	if (b->threaded || b->gz) {
		pthread_mutex_destroy(&b->lock);
		pthread_cond_destroy(&b->cond);
	}
	if (b->gz)
		gzclose(b->gz);
	for (int i = 0; i < LB_BUFS; i++)
		free(b->v[i]);
	memset(b, 0, sizeof(*b));
}

static int lb_open(const char *path, struct lbatch *b)
{
	struct fl_ledger_reader *lr;
	struct fl_ledger_hdr hdr;
	int ret = fl_ledger_open(path, &lr, &hdr);

	if (ret)
		return ret;
	fl_ledger_close(lr);
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->gz = gzopen(path, "rb");
	if (!b->gz) {
		ret = errno ? -errno : -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < LB_BUFS; i++) {
		b->v[i] = malloc(LB_N * sizeof(*b->v[i]));
		if (!b->v[i]) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	gzbuffer(b->gz, 1 << 20);
	if (gzread(b->gz, &hdr, sizeof(hdr)) != (int)sizeof(hdr)) {
		ret = -EIO;
		goto fail;
	}
	b->i = 0;
	b->threaded = !pthread_create(&b->th, NULL, lb_producer, b);
	return 0;
fail:
	lb_close(b);
	return ret;
}

/* Takes the next buffer from the producer (or fills it without one). */
static int lb_next_slow(struct lbatch *b, const struct fl_ledger_rec **rec)
{
	unsigned h = b->head;

	if (b->have) {
		if (b->n[h] <= 0)
			return (int)b->n[h]; /* the end, or an error: for good */
		pthread_mutex_lock(&b->lock);
		b->full[h] = false;
		b->head = h = (h + 1) % LB_BUFS;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		b->have = false;
	}
	if (b->threaded) {
		pthread_mutex_lock(&b->lock);
		while (!b->full[h])
			pthread_cond_wait(&b->cond, &b->lock);
		pthread_mutex_unlock(&b->lock);
	} else {
		b->n[h] = lb_fill(b, b->v[h]);
	}
	b->have = true;
	b->i = 0;
	if (b->n[h] <= 0)
		return (int)b->n[h];
	*rec = &b->v[h][b->i++];
	return 1;
}

/* 1 with a record, 0 at the end, -EIO when truncated or corrupt. */
static inline int lb_next(struct lbatch *b, const struct fl_ledger_rec **rec)
{
	if (b->have && b->i < (size_t)b->n[b->head]) {
		*rec = &b->v[b->head][b->i++];
		return 1;
	}
	return lb_next_slow(b, rec);
}

/* The ledgers' headers, before any record: the run's start fixes the time
 * bins, and each names its load instance. */
static int read_headers(struct ctx *c)
{
	struct rc_result *r = c->r;
	struct fl_ledger_reader *lr = NULL;
	struct fl_ledger_hdr hdr;
	uint64_t t0 = UINT64_MAX;
	int ret = 0;

	for (size_t i = 0; i < c->in->n_ledgers; i++) {
		ret = fl_ledger_open(c->in->ledgers[i], &lr, &hdr);
		if (ret) {
			snprintf(c->err, c->errlen, "cannot read ledger %s: %s", c->in->ledgers[i],
				 ret == -EPROTO ? "not a loadgen ledger (or another version)"
						: strerror(-ret));
			return ret;
		}
		fl_ledger_close(lr);
		lr = NULL;
		if (hdr.start_wall_ns < t0)
			t0 = hdr.start_wall_ns;
		if (src_find(c, hdr.run_id, hdr.instance, -1) < 0) {
			if (c->n_src >= MAX_SRC) {
				snprintf(c->err, c->errlen, "more than %d load instances", MAX_SRC);
				return -E2BIG;
			}
			c->src[c->n_src].run_id = hdr.run_id;
			c->src[c->n_src++].instance = hdr.instance;
		}
	}
	c->t0 = t0;
	r->series.width_ns = 1000000000ULL;
	r->series.t0_ns = t0 == UINT64_MAX ? 0 : t0 - t0 % r->series.width_ns;
	r->first_wall_ns = UINT64_MAX;
	/* per-window statistics for the first MAX_FAULT_HISTS faults that had
	 * not ended before the run began (a scan per request: a bounded one) */
	for (size_t k = 0; k < r->n_faults && c->n_win < MAX_FAULT_HISTS; k++) {
		struct rc_fault *f = &r->faults[k];

		if (f->start_ns == UINT64_MAX || (f->end_ns != UINT64_MAX && f->end_ns < t0))
			continue;
		f->h = hist_new();
		if (!f->h)
			return -ENOMEM;
		c->win[c->n_win++] = (uint32_t)k;
	}
	return 0;
}

static int read_ledgers(struct ctx *c)
{
	struct lbatch lb = {0};
	struct rc_result *r = c->r;
	const struct fl_ledger_rec *rp = NULL;
	int ret = 0, hint = -1;

	for (size_t i = 0; i < c->in->n_ledgers; i++) {
		const char *path = c->in->ledgers[i];
		uint64_t n = 0;

		ret = lb_open(path, &lb);
		if (ret) {
			snprintf(c->err, c->errlen, "cannot read ledger %s: %s", path,
				 strerror(-ret));
			goto out;
		}
		while ((ret = lb_next(&lb, &rp)) == 1) {
			const struct fl_ledger_rec rec = *rp;

			enum rc_client cl = client_of(rec.outcome);
			uint64_t wall = rec.sched_wall_ns, hi;
			bool answered = rec.outcome == FL_OUT_OK || rec.outcome == FL_OUT_STATUS;
			uint8_t inflight = rec.outcome == FL_OUT_INFLIGHT;
			struct lrec l;
			struct rc_bin *bin;
			unsigned bucket;

			n++;
			if (rec.outcome == 0 || rec.outcome >= FL_OUT_MAX) {
				snprintf(c->err, c->errlen,
					 "ledger %s record %llu: invalid outcome %u (a corrupt "
					 "ledger?)",
					 path, (unsigned long long)n, rec.outcome);
				ret = -EINVAL;
				goto out;
			}
			r->c.requests++;
			if (rec.done_ns && rec.done_ns >= rec.sched_ns)
				hi = wall + (rec.done_ns - rec.sched_ns);
			else if (cl == RC_C_TIMEOUT)
				hi = UINT64_MAX / 2; /* still in flight: until the end */
			else
				hi = wall + rec.latency_ns;
			if (wall < r->first_wall_ns)
				r->first_wall_ns = wall;
			if (wall > r->last_wall_ns)
				r->last_wall_ns = wall;
			hint = src_find(c, rec.run_id, rec.instance, hint);
			if (hint < 0) {
				char id[RC_ID_LEN];

				fmt_id(id, rec.run_id, rec.instance, rec.seq);
				snprintf(c->err, c->errlen,
					 "ledger %s record %llu: id %s is not of the instance its "
					 "header names (a corrupt or concatenated ledger?)",
					 path, (unsigned long long)n, id);
				ret = -EINVAL;
				goto out;
			}
			l = (struct lrec){.seq = rec.seq,
					  .src = (uint16_t)hint,
					  .port = rec.local_port,
					  .client = (uint8_t)cl,
					  .inflight = inflight};
			bucket = (unsigned)(src_hash((unsigned)hint, rec.seq) >> c->nb_shift);
			ret = spill_put(&c->ls, bucket, &l, sizeof(l));
			if (!ret && (cl == RC_C_FAILED || (cl == RC_C_TIMEOUT && !inflight))) {
				struct wrec w = {
				    .lo = wall > c->in->slack_ns ? wall - c->in->slack_ns : 0,
				    .hi = hi + c->in->slack_ns,
				    .cookie = rec.sock_cookie};

				ret = spill_put(&c->ws, bucket, &w, sizeof(w));
			}
			if (ret) {
				snprintf(c->err, c->errlen,
					 "cannot write temporary files in %s: %s", c->tmp,
					 strerror(-ret));
				goto out;
			}
			if (cl == RC_C_UNSENT) {
				r->c.unsent++;
				continue;
			}
			r->c.sent++;
			c->phase_req[rec.phase]++;
			if (!c->phase_h[rec.phase]) {
				c->phase_h[rec.phase] = hist_new();
				if (!c->phase_h[rec.phase]) {
					ret = -ENOMEM;
					goto out;
				}
			}
			ret = series_bin(&r->series, wall, &bin);
			if (ret)
				goto out;
			bin->sent++;
			if (answered) {
				r->c.answered++;
				bin->answered++;
				hist_record(c->all_h, rec.latency_ns);
				hist_record(c->phase_h[rec.phase], rec.latency_ns);
				lh_record(bin->lh, rec.latency_ns);
			}
			if (cl == RC_C_OK) {
				r->c.ok++;
				bin->ok++;
			} else if (inflight) {
				r->c.inflight++; /* the run ended first: no failure */
			} else {
				r->c.failed++;
				bin->failed++;
				c->phase_failed[rec.phase]++;
				if (cl == RC_C_TIMEOUT)
					r->c.timed_out++;
			}
			for (size_t k = 0; k < c->n_win; k++) {
				struct rc_fault *f = &r->faults[c->win[k]];

				if (wall < f->start_ns || wall >= f->end_ns)
					continue;
				f->requests++;
				if (cl != RC_C_OK && !inflight)
					f->failed++;
				if (answered && f->h)
					hist_record(f->h, rec.latency_ns);
			}
		}
		if (ret < 0) {
			snprintf(c->err, c->errlen,
				 "ledger %s: truncated or corrupt after %llu records (was loadgen "
				 "killed?)",
				 path, (unsigned long long)n);
			goto out;
		}
		ret = 0;
		lb_close(&lb);
	}
out:
	lb_close(&lb);
	return ret;
}

/* ---- receipts ---- */

static void timing(const char *what);

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

static int on_receipt(const struct rc_receipt *rc, void *arg)
{
	struct rctx *x = arg;
	struct ctx *c = x->c;
	struct rrec rr = {0};
	int ret;

	x->receipts++;
	if (rc->key && rc->key_len) {
		struct krec k = {.h = str_hash(rc->key, rc->key_len)};

		memcpy(k.key, rc->key,
		       rc->key_len < sizeof(k.key) - 1 ? rc->key_len : sizeof(k.key) - 1);
		c->any_keys = true;
		ret = spill_put(&c->ks, (unsigned)(k.h % NK), &k, sizeof(k));
		if (ret)
			goto werr;
	}
	if (!rc->id_len) {
		x->noid++;
		return 0;
	}
	if (rc->parsed) {
		rr.run_id = rc->run_id;
		rr.instance = rc->instance;
		rr.seq = rc->seq;
	} else if (rc_parse_req_id(rc->id, rc->id_len, &rr.run_id, &rr.instance, &rr.seq)) {
		/* not an id loadgen sends: a ghost, once per receipt */
		char id[RC_ID_LEN];
		size_t n = rc->id_len < RC_ID_LEN - 1 ? rc->id_len : RC_ID_LEN - 1;

		memcpy(id, rc->id, n);
		id[n] = '\0';
		x->ghosts++;
		idlist_add(&c->r->ghost_ids, id, c->list_fp[1]);
		return 0;
	}
	x->hint = src_find(c, rr.run_id, rr.instance, x->hint);
	if (x->hint >= 0) {
		struct qrec q = {.seq = rr.seq, .src = (uint16_t)x->hint};

		ret = spill_put(&c->rs,
				(unsigned)(src_hash((unsigned)x->hint, rr.seq) >> c->nb_shift), &q,
				sizeof(q));
	} else {
		/* an instance no ledger has: a ghost, counted once in the join */
		ret = spill_put(&c->xs,
				(unsigned)(id_hash(rr.run_id, rr.instance, rr.seq) >> c->nb_shift),
				&rr, sizeof(rr));
		x->hint = -1;
	}
	if (ret)
		goto werr;
	return 0;
werr:
	snprintf(x->err, sizeof(x->err), "cannot write temporary files in %.300s: %s", c->tmp,
		 strerror(-ret));
	return ret;
}

static void *read_receipts(void *arg)
{
	struct rctx *x = arg;
	struct ctx *c = x->c;

	for (size_t i = 0; i < c->in->n_receipts && !x->ret; i++)
		x->ret =
		    rc_receipts_read(c->in->receipts[i], on_receipt, x, x->err, sizeof(x->err));
	if (!x->ret)
		x->ret = spill_flush(c, &c->rs) ?: spill_flush(c, &c->xs) ?: spill_flush(c, &c->ks);
	if (getenv("FL_RECONCILE_TIMING")) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(stderr, "reconcile: receipts done at %.3f s (monotonic)\n",
			(double)ts.tv_sec + ts.tv_nsec / 1e9);
	}
	return NULL;
}

/* ---- join ---- */

static inline bool same_id(const struct lrec *l, unsigned src, uint64_t seq)
{
	return l->seq == seq && l->src == src;
}

struct ghost_set {
	struct rrec *v;
	size_t cap, n;
};

/* Returns 1 when the id was new. */
static int ghost_add(struct ghost_set *g, const struct rrec *rr)
{
	size_t i;

	if (2 * (g->n + 1) > g->cap) {
		struct ghost_set ng = {.cap = g->cap ? g->cap * 2 : 64};

		ng.v = calloc(ng.cap, sizeof(*ng.v));
		if (!ng.v)
			return -ENOMEM;
		for (size_t k = 0; k < g->cap; k++)
			if (g->v[k].pad)
				ghost_add(&ng, &g->v[k]);
		free(g->v);
		*g = ng;
	}
	i = id_hash(rr->run_id, rr->instance, rr->seq) & (g->cap - 1);
	while (g->v[i].pad) {
		if (g->v[i].run_id == rr->run_id && g->v[i].instance == rr->instance &&
		    g->v[i].seq == rr->seq)
			return 0;
		i = (i + 1) & (g->cap - 1);
	}
	g->v[i] = *rr;
	g->v[i].pad = 1; /* used */
	g->n++;
	return 1;
}

static int join_bucket(struct ctx *c, unsigned b, struct rc_counts *cn)
{
	struct rc_result *r = c->r;
	struct lrec *ls = NULL;
	struct qrec *rs = NULL;
	struct rrec *xs = NULL;
	struct wrec *ws = NULL;
	uint32_t *slot = NULL, *cnt = NULL;
	struct ghost_set gs = {0};
	size_t nl, nr, nx, nw, wi = 0, cap = 16, i;
	char id[RC_ID_LEN];
	int ret;

	ret = spill_read(&c->ls, b, sizeof(*ls), (void **)&ls, &nl);
	if (!ret)
		ret = spill_read(&c->rs, b, sizeof(*rs), (void **)&rs, &nr);
	if (!ret)
		ret = spill_read(&c->xs, b, sizeof(*xs), (void **)&xs, &nx);
	if (!ret)
		ret = spill_read(&c->ws, b, sizeof(*ws), (void **)&ws, &nw);
	if (ret) {
		snprintf(c->err, c->errlen, "cannot read temporary files in %s: %s", c->tmp,
			 strerror(-ret));
		goto out;
	}
	while (cap < 2 * nl)
		cap *= 2;
	slot = calloc(cap, sizeof(*slot));
	cnt = calloc(nl + 1, sizeof(*cnt));
	if (!slot || !cnt) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nl; i++) {
		const struct lrec *l = &ls[i];
		size_t h = src_hash(l->src, l->seq) & (cap - 1);

		while (slot[h]) {
			if (same_id(&ls[slot[h] - 1], l->src, l->seq)) {
				fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance, l->seq);
				snprintf(c->err, c->errlen,
					 "request id %s appears twice in the ledgers (two load "
					 "instances with the same run id and --instance?)",
					 id);
				ret = -EINVAL;
				goto out;
			}
			h = (h + 1) & (cap - 1);
		}
		slot[h] = (uint32_t)i + 1;
	}
	for (i = 0; i < nr + nx; i++) {
		struct rrec full;
		const struct rrec *rr = &full;

		if (i < nr) {
			const struct qrec *q = &rs[i];
			size_t h = src_hash(q->src, q->seq) & (cap - 1);

			while (slot[h] && !same_id(&ls[slot[h] - 1], q->src, q->seq))
				h = (h + 1) & (cap - 1);
			if (slot[h]) {
				cnt[slot[h] - 1]++;
				continue;
			}
			full = (struct rrec){.run_id = c->src[q->src].run_id,
					     .seq = q->seq,
					     .instance = c->src[q->src].instance};
		} else {
			rr = &xs[i - nr]; /* an instance no ledger has */
		}
		ret = ghost_add(&gs, rr);
		if (ret < 0)
			goto out;
		if (ret == 1) {
			cn->ghosts++;
			fmt_id(id, rr->run_id, rr->instance, rr->seq);
			pthread_mutex_lock(&c->jlock);
			idlist_add(&r->ghost_ids, id, c->list_fp[1]);
			pthread_mutex_unlock(&c->jlock);
		}
		ret = 0;
	}
	for (i = 0; i < nl; i++) {
		const struct lrec *l = &ls[i];
		unsigned recv = cnt[i] == 0 ? RC_R_0 : cnt[i] == 1 ? RC_R_1 : RC_R_MORE;

		cn->cells[l->client][recv]++;
		if (l->client == RC_C_UNSENT) {
			if (cnt[i]) {
				cn->ghosts++;
				fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance, l->seq);
				pthread_mutex_lock(&c->jlock);
				idlist_add(&r->ghost_ids, id, c->list_fp[1]);
				pthread_mutex_unlock(&c->jlock);
			}
			continue;
		}
		if (recv == RC_R_0) {
			cn->missing++;
			fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance, l->seq);
			pthread_mutex_lock(&c->jlock);
			idlist_add(&r->missing_ids, id, c->list_fp[0]);
			pthread_mutex_unlock(&c->jlock);
		} else if (recv == RC_R_MORE) {
			cn->duplicates++;
			fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance, l->seq);
			pthread_mutex_lock(&c->jlock);
			idlist_add(&r->duplicate_ids, id, c->list_fp[2]);
			pthread_mutex_unlock(&c->jlock);
		}
		if (l->client == RC_C_TIMEOUT && recv != RC_R_0 && !l->inflight) {
			cn->recovered++;
			fmt_id(id, c->src[l->src].run_id, c->src[l->src].instance, l->seq);
			pthread_mutex_lock(&c->jlock);
			idlist_add(&r->recovered_ids, id, NULL);
			pthread_mutex_unlock(&c->jlock);
		}
		if (l->client == RC_C_FAILED || (l->client == RC_C_TIMEOUT && !l->inflight)) {
			struct frec f = {.run_id = c->src[l->src].run_id,
					 .seq = l->seq,
					 .instance = c->src[l->src].instance,
					 .port = l->port,
					 .client = l->client,
					 .recv = (uint8_t)recv};

			if (wi >= nw) {
				snprintf(c->err, c->errlen,
					 "internal error: failure windows out of step");
				ret = -EPROTO;
				goto out;
			}
			f.lo = ws[wi].lo;
			f.hi = ws[wi].hi;
			f.cookie = ws[wi].cookie;
			wi++;

			pthread_mutex_lock(&c->jlock);
			ret = spill_put(&c->fs, l->port ? l->port % NP : NP, &f, sizeof(f));
			pthread_mutex_unlock(&c->jlock);
			if (ret) {
				snprintf(c->err, c->errlen,
					 "cannot write temporary files in %s: %s", c->tmp,
					 strerror(-ret));
				goto out;
			}
		}
	}
out:
	free(ls);
	free(rs);
	free(xs);
	free(ws);
	free(slot);
	free(cnt);
	free(gs.v);
	return ret;
}

/* The join runs on two threads, each taking the next bucket; the counts are
 * their own, the lists and the failures' spill shared under c->jlock. */
struct jthread {
	struct ctx *c;
	unsigned *next;
	struct rc_counts cnt;
	int ret;
};

static void *join_thread(void *arg)
{
	struct jthread *j = arg;
	unsigned b;

	while (!j->ret && (b = __atomic_fetch_add(j->next, 1, __ATOMIC_RELAXED)) < j->c->nb)
		j->ret = join_bucket(j->c, b, &j->cnt);
	return NULL;
}

static int join_all(struct ctx *c)
{
	struct jthread j[2] = {{.c = c}, {.c = c}};
	unsigned next = 0;
	pthread_t th;
	bool threaded;

	j[0].next = j[1].next = &next;
	threaded = !pthread_create(&th, NULL, join_thread, &j[1]);
	join_thread(&j[0]);
	if (threaded)
		pthread_join(th, NULL);
	else
		join_thread(&j[1]);
	for (int t = 0; t < 2; t++) {
		struct rc_counts *d = &c->r->c, *s = &j[t].cnt;

		d->ghosts += s->ghosts;
		d->missing += s->missing;
		d->duplicates += s->duplicates;
		d->recovered += s->recovered;
		for (int i = 0; i < RC_C_MAX; i++)
			for (int k = 0; k < RC_R_MAX; k++)
				d->cells[i][k] += s->cells[i][k];
	}
	return j[0].ret ?: j[1].ret;
}

static int join_keys(struct ctx *c, unsigned b)
{
	struct krec *ks = NULL;
	struct {
		uint64_t h;
		uint32_t n, i;
	} *t = NULL;
	size_t nk, cap = 16;
	int ret;

	ret = spill_read(&c->ks, b, sizeof(*ks), (void **)&ks, &nk);
	if (ret || !nk)
		goto out;
	while (cap < 2 * nk)
		cap *= 2;
	t = calloc(cap, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nk; i++) {
		size_t h = ks[i].h & (cap - 1);

		while (t[h].n && (t[h].h != ks[i].h || strcmp(ks[t[h].i].key, ks[i].key)))
			h = (h + 1) & (cap - 1);
		if (!t[h].n) {
			t[h].h = ks[i].h;
			t[h].i = (uint32_t)i;
			c->r->c.keys++;
		}
		if (++t[h].n == 2) {
			c->r->c.duplicate_effects++;
			idlist_add(&c->r->duplicate_keys, ks[i].key, NULL);
		}
	}
out:
	free(ks);
	free(t);
	return ret;
}

/* ---- explanation ---- */

static int cmp_erec(const void *a, const void *b)
{
	const struct erec *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->wall < y->wall ? -1 : x->wall > y->wall;
}

static int64_t find_port_event(const struct erec *ev, size_t n, uint16_t port, uint64_t lo,
			       uint64_t hi)
{
	size_t a = 0, b = n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (ev[m].port < port || (ev[m].port == port && ev[m].wall < lo))
			a = m + 1;
		else
			b = m;
	}
	if (a < n && ev[a].port == port && ev[a].wall <= hi)
		return ev[a].fault;
	return -1;
}

/* Count failure f as explained by fault index fi, or unexplained (fi < 0). */
static void attribute(struct ctx *c, const struct frec *f, int64_t fi)
{
	struct rc_result *r = c->r;
	char id[RC_ID_LEN];

	fmt_id(id, f->run_id, f->instance, f->seq);
	if (fi >= 0) {
		r->c.explained++;
		r->faults[fi].explained++;
		if (f->recv == RC_R_0)
			r->c.missing_explained++;
		idlist_add(&r->explained_ids, id, NULL);
	} else {
		r->c.unexplained++;
		idlist_add(&r->unexplained_ids, id, c->list_fp[3]);
	}
}

static int explain_partition(struct ctx *c, unsigned p)
{
	struct frec *fs = NULL;
	struct erec *ev = NULL;
	size_t nf, ne = 0;
	int ret;

	ret = spill_read(&c->fs, p, sizeof(*fs), (void **)&fs, &nf);
	if (!ret && p < NP)
		ret = spill_read(&c->es, p, sizeof(*ev), (void **)&ev, &ne);
	if (ret) {
		snprintf(c->err, c->errlen, "cannot read temporary files in %s: %s", c->tmp,
			 strerror(-ret));
		goto out;
	}
	if (ne > 1)
		qsort(ev, ne, sizeof(*ev), cmp_erec);
	for (size_t i = 0; i < nf; i++) {
		const struct frec *f = &fs[i];
		int64_t fi = -1;

		if (p < NP)
			fi = find_port_event(ev, ne, f->port, f->lo, f->hi);
		else
			fi = tidx_find(&c->all, f->lo, f->hi); /* connection never had a port */
		if (fi < 0 && c->have_portless)
			fi = tidx_find(&c->portless, f->lo, f->hi);
		if (fi < 0 && f->cookie && c->have_cookies) {
			/* perhaps an event on its socket: the socket pass decides */
			ret = spill_put(&c->us, (unsigned)(mix64(f->cookie) % NP), f, sizeof(*f));
			if (ret)
				goto out;
			continue;
		}
		attribute(c, f, fi);
	}
out:
	free(fs);
	free(ev);
	return ret;
}

static int cmp_crec(const void *a, const void *b)
{
	const struct crec *x = a, *y = b;

	if (x->cookie != y->cookie)
		return x->cookie < y->cookie ? -1 : 1;
	return x->wall < y->wall ? -1 : x->wall > y->wall;
}

/* The failures the port pass left, against the events on their socket. */
static int explain_cookies(struct ctx *c, unsigned p)
{
	struct frec *fs = NULL;
	struct crec *ev = NULL;
	size_t nf, ne;
	int ret;

	ret = spill_read(&c->us, p, sizeof(*fs), (void **)&fs, &nf);
	if (!ret)
		ret = spill_read(&c->cs, p, sizeof(*ev), (void **)&ev, &ne);
	if (ret) {
		snprintf(c->err, c->errlen, "cannot read temporary files in %s: %s", c->tmp,
			 strerror(-ret));
		goto out;
	}
	if (ne > 1)
		qsort(ev, ne, sizeof(*ev), cmp_crec);
	for (size_t i = 0; i < nf; i++) {
		const struct frec *f = &fs[i];
		size_t a = 0, b = ne;
		int64_t fi = -1;

		while (a < b) {
			size_t m = a + (b - a) / 2;

			if (ev[m].cookie < f->cookie ||
			    (ev[m].cookie == f->cookie && ev[m].wall < f->lo))
				a = m + 1;
			else
				b = m;
		}
		if (a < ne && ev[a].cookie == f->cookie && ev[a].wall <= f->hi)
			fi = ev[a].fault;
		attribute(c, f, fi);
	}
out:
	free(fs);
	free(ev);
	return ret;
}

/* ---- statistics ---- */

static void latency_of(const struct hist *h, struct rc_latency *l)
{
	memset(l, 0, sizeof(*l));
	if (!h || !h->total)
		return;
	l->count = h->total;
	l->p50_ms = (double)hist_percentile(h, 50) / 1e6;
	l->p90_ms = (double)hist_percentile(h, 90) / 1e6;
	l->p99_ms = (double)hist_percentile(h, 99) / 1e6;
	l->p999_ms = (double)hist_percentile(h, 99.9) / 1e6;
	l->max_ms = (double)h->max / 1e6;
	l->mean_ms = hist_mean(h) / 1e6;
}

static void recovery(struct ctx *c)
{
	struct rc_result *r = c->r;
	struct rc_series *s = &r->series;
	uint64_t bs = 0, bf = 0;

	for (size_t i = 0; i < s->n; i++) {
		uint64_t a = s->t0_ns + i * s->width_ns, b = a + s->width_ns;
		bool in = false;

		for (size_t k = 0; k < r->n_faults && !in; k++)
			in = a < r->faults[k].end_ns && b > r->faults[k].start_ns;
		if (!in) {
			bs += s->bins[i].sent;
			bf += s->bins[i].failed;
		}
	}
	r->baseline_error_rate = bs ? (double)bf / (double)bs : 0;
	r->recovery_threshold =
	    c->o.has_error_rate ? c->o.error_rate_max : r->baseline_error_rate + 0.01;
	for (size_t k = 0; k < r->n_faults; k++) {
		struct rc_fault *f = &r->faults[k];

		if (f->end_ns == UINT64_MAX || f->start_ns == UINT64_MAX)
			continue;
		f->has_recovery = true;
		f->recovery_s = -1;
		for (size_t i = 0; i < s->n; i++) {
			const struct rc_bin *b = &s->bins[i];
			uint64_t a = s->t0_ns + i * s->width_ns;

			if (a < f->end_ns || !b->sent)
				continue;
			if ((double)b->failed / (double)b->sent <= r->recovery_threshold) {
				f->recovery_s = (double)(a - f->end_ns) / 1e9;
				break;
			}
		}
	}
}

static struct rc_check *add_check(struct rc_result *r, const char *field, const char *unit,
				  double value, double limit)
{
	struct rc_check *k;
	void *p = realloc(r->checks, (r->n_checks + 1) * sizeof(*r->checks));

	if (!p)
		return NULL;
	r->checks = p;
	k = &r->checks[r->n_checks++];
	memset(k, 0, sizeof(*k));
	snprintf(k->field, sizeof(k->field), "%s", field);
	snprintf(k->unit, sizeof(k->unit), "%s", unit);
	k->value = value;
	k->limit = limit;
	k->pass = value <= limit;
	return k;
}

static const char *phase_label(struct ctx *c, int p, char *buf, size_t len)
{
	if (p < 0)
		return "all";
	if ((size_t)p < c->in->n_phases && c->in->phases[p])
		return c->in->phases[p];
	snprintf(buf, len, "%d", p);
	return buf;
}

static int checks(struct ctx *c)
{
	struct rc_result *r = c->r;
	struct objectives *o = &c->o;
	struct rc_check *k;
	char f[64], pb[16];

#define CHK(cond, fld, unit, val, lim, ...)                                                        \
	do {                                                                                       \
		if (cond) {                                                                        \
			k = add_check(r, fld, unit, val, lim);                                     \
			if (!k)                                                                    \
				return -ENOMEM;                                                    \
			snprintf(k->name, sizeof(k->name), __VA_ARGS__);                           \
		}                                                                                  \
	} while (0)

	for (size_t i = 0; i < o->n_lat; i++) {
		const struct lat_obj *l = &o->lat[i];
		const struct hist *h = l->phase < 0 ? c->all_h : c->phase_h[l->phase];
		struct hist *fh = NULL;
		double v;

		if (l->fault[0]) {
			/* the windows of the faults named (or of every fault) */
			size_t matched = 0;

			fh = hist_new();
			if (!fh)
				return -ENOMEM;
			for (size_t q = 0; q < r->n_faults; q++) {
				const struct rc_fault *fl = &r->faults[q];

				if (strcmp(l->fault, "*") && strcmp(l->fault, fl->name))
					continue;
				matched++;
				if (fl->h)
					hist_merge(fh, fl->h);
			}
			if (!matched) {
				snprintf(c->err, c->errlen,
					 "objectives.latency[%zu].fault: no fault named '%s' in "
					 "the event "
					 "logs%s",
					 i, l->fault,
					 c->in->n_events ? "" : " (none given: --events)");
				hist_free(fh);
				return -EINVAL;
			}
			h = fh;
		}
		v = h && h->total ? (double)hist_percentile(h, l->pct) / 1e6 : 0;
		snprintf(f, sizeof(f), "latency[%zu]", i);
		if (l->fault[0]) {
			k = add_check(r, f, "ms", v, l->max_ms);
			if (k)
				snprintf(k->name, sizeof(k->name), "latency p%g, %s%s", l->pct,
					 strcmp(l->fault, "*") ? "fault " : "inside any fault",
					 strcmp(l->fault, "*") ? l->fault : "");
		} else {
			k = add_check(r, f, "ms", v, l->max_ms);
			if (k)
				snprintf(k->name, sizeof(k->name), "latency p%g, phase %s", l->pct,
					 phase_label(c, l->phase, pb, sizeof(pb)));
		}
		if (k && (!h || !h->total)) {
			k->no_data = true;
			k->pass = false;
		}
		hist_free(fh);
		if (!k)
			return -ENOMEM;
	}
	CHK(o->has_error_rate, "error_rate_max", "",
	    r->c.sent ? (double)r->c.failed / (double)r->c.sent : 0, o->error_rate_max,
	    "error rate");
	CHK(o->missing_max >= 0, "missing_max", "", (double)(r->c.missing - r->c.missing_explained),
	    (double)o->missing_max, "missing (not explained by a fault)");
	CHK(o->duplicates_max >= 0, "duplicates_max", "", (double)r->c.duplicates,
	    (double)o->duplicates_max, "duplicates");
	CHK(o->ghosts_max >= 0, "ghosts_max", "", (double)r->c.ghosts, (double)o->ghosts_max,
	    "ghosts");
	CHK(o->unexplained_max >= 0, "unexplained_max", "", (double)r->c.unexplained,
	    (double)o->unexplained_max, "unexplained failures");
	CHK(o->dup_effects_max >= 0, "duplicate_effects_max", "", (double)r->c.duplicate_effects,
	    (double)o->dup_effects_max, "idempotency keys with more than one effect");
	for (size_t i = 0; o->has_recovery && i < r->n_faults; i++) {
		const struct rc_fault *fl = &r->faults[i];

		if (!fl->has_recovery)
			continue;
		CHK(1, "recovery_max_s", "s", fl->recovery_s < 0 ? INFINITY : fl->recovery_s,
		    o->recovery_max_s, "recovery after fault %u%s%s%s", fl->id,
		    fl->name[0] ? " (" : "", fl->name, fl->name[0] ? ")" : "");
		if (fl->recovery_s < 0)
			k->pass = false;
	}
#undef CHK
	r->pass = true;
	for (size_t i = 0; i < r->n_checks; i++)
		if (!r->checks[i].pass)
			r->pass = false;
	return 0;
}

static int make_phases(struct ctx *c)
{
	struct rc_result *r = c->r;
	size_t n = 0;

	for (int p = 0; p < 256; p++)
		if (c->phase_req[p] || (size_t)p < c->in->n_phases)
			n++;
	r->phases = calloc(n + 1, sizeof(*r->phases));
	if (!r->phases)
		return -ENOMEM;
	for (int p = 0; p < 256; p++) {
		struct rc_phase *ph;
		char pb[16];

		if (!c->phase_req[p] && (size_t)p >= c->in->n_phases)
			continue;
		ph = &r->phases[r->n_phases++];
		ph->phase = p;
		snprintf(ph->name, sizeof(ph->name), "%s", phase_label(c, p, pb, sizeof(pb)));
		ph->requests = c->phase_req[p];
		ph->failed = c->phase_failed[p];
		latency_of(c->phase_h[p], &ph->lat);
	}
	return 0;
}

static int cmp_fault(const void *a, const void *b)
{
	const struct rc_fault *x = a, *y = b;

	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* ---- driver ---- */

/* FL_RECONCILE_TIMING=1: the time of each pass on stderr. */
static void timing(const char *what)
{
	static uint64_t last;
	static int on = -1;
	struct timespec ts;
	uint64_t now;

	if (on < 0)
		on = getenv("FL_RECONCILE_TIMING") != NULL;
	if (!on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (last && what)
		fprintf(stderr, "reconcile: %-12s %8.3f s\n", what, (double)(now - last) / 1e9);
	last = now;
}

static int open_lists(struct ctx *c)
{
	static const char *const names[4] = {"missing_ids.txt", "ghost_ids.txt",
					     "duplicate_ids.txt", "unexplained_ids.txt"};

	if (!c->in->out_dir)
		return 0;
	for (int i = 0; i < 4; i++) {
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/%s", c->in->out_dir, names[i]);
		c->list_fp[i] = fopen(p, "we");
		if (!c->list_fp[i]) {
			int ret = -errno;

			snprintf(c->err, c->errlen, "cannot write %s: %s", p, strerror(errno));
			return ret;
		}
	}
	return 0;
}

int reconcile(const struct rc_inputs *in0, struct rc_result *r, char *err, size_t errlen)
{
	struct rc_inputs in = *in0;
	struct ctx c = {.in = &in, .r = r, .err = err, .errlen = errlen, .ev_min = UINT64_MAX};
	FILE *all_fp = NULL;
	unsigned cap;
	int ret;

	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	if (!in.slack_ns)
		in.slack_ns = RC_DEFAULT_SLACK_NS;
	cap = in.max_ids ? in.max_ids : RC_DEFAULT_MAX_IDS;
	r->slack_ns = in.slack_ns;
	snprintf(r->title, sizeof(r->title), "%s",
		 in.title ? in.title : "Faultline reconciliation");
	c.ls.fd = c.ws.fd = c.rs.fd = c.xs.fd = c.ks.fd = c.fs.fd = c.es.fd = c.cs.fd = c.us.fd =
	    -1;
	pthread_mutex_init(&c.jlock, NULL);

	if (!in.n_ledgers) {
		snprintf(err, errlen,
			 "no ledger given (--ledger FILE, written by loadgen --ledger)");
		return -EINVAL;
	}
	if (!in.n_receipts) {
		snprintf(err, errlen, "no receipts given (--receipts nginx:PATH|ndjson:PATH|URL)");
		return -EINVAL;
	}
	ret = parse_objectives(in.objectives, in.phases, in.n_phases, &c.o, err, errlen);
	if (ret)
		goto out;
	if ((ret = idlist_init(&r->missing_ids, cap)) || (ret = idlist_init(&r->ghost_ids, cap)) ||
	    (ret = idlist_init(&r->duplicate_ids, cap)) ||
	    (ret = idlist_init(&r->unexplained_ids, cap)) ||
	    (ret = idlist_init(&r->explained_ids, cap)) ||
	    (ret = idlist_init(&r->recovered_ids, cap)) ||
	    (ret = idlist_init(&r->duplicate_keys, cap)))
		goto out;
	c.all_h = hist_new();
	if (!c.all_h) {
		ret = -ENOMEM;
		goto out;
	}
	if (in.out_dir) {
		ret = mkdir_p(in.out_dir);
		if (ret) {
			snprintf(err, errlen, "cannot create %s: %s", in.out_dir, strerror(-ret));
			goto out;
		}
	}
	snprintf(c.tmp, sizeof(c.tmp), "%s",
		 in.tmp_dir	    ? in.tmp_dir
		 : in.out_dir	    ? in.out_dir
		 : getenv("TMPDIR") ? getenv("TMPDIR")
				    : "/tmp");
	ret = open_lists(&c);
	if (ret)
		goto out;

	timing(NULL);
	/* 1. event logs */
	all_fp = tmpfile();
	if (!all_fp) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
		goto out;
	}
	if ((ret = spill_open(&c, &c.es, NP)) || (ret = spill_open(&c, &c.cs, NP)))
		goto out;
	ret = read_events(&c, all_fp);
	if (!ret)
		ret = spill_flush(&c, &c.es);
	if (!ret)
		ret = spill_flush(&c, &c.cs);
	if (ret)
		goto out;
	if (fflush(all_fp)) {
		ret = -EIO;
		goto out;
	}
	if ((ret = tidx_build(&c.portless, all_fp, true)) ||
	    (ret = tidx_build(&c.all, all_fp, false)))
		goto out;
	c.have_portless = c.portless.n > 0;
	fclose(all_fp);
	all_fp = NULL;
	for (size_t k = 0; k < r->n_faults; k++) {
		struct rc_fault *f = &r->faults[k];

		/* a log that lost its start record: the first injection */
		if (f->start_ns == UINT64_MAX && f->injections)
			f->start_ns = f->first_inject_ns;
	}

	timing("events");
	/* 2. ledgers; the bucket count from their size (records compress to
	 * about a third; a guess too low only makes buckets larger) */
	{
		uint64_t bytes = 0, est;
		struct stat st;

		for (size_t i = 0; i < in.n_ledgers; i++)
			if (!stat(in.ledgers[i], &st))
				bytes += (uint64_t)st.st_size;
		est = bytes * 4 / sizeof(struct fl_ledger_rec);
		c.nb = NB_MIN;
		c.nb_shift = 64 - 4;
		while (c.nb < NB_MAX && (uint64_t)c.nb * BUCKET_RECS < est) {
			c.nb *= 2;
			c.nb_shift--;
		}
	}
	/* 3. receipts, in a thread beside the ledgers */
	if ((ret = read_headers(&c)))
		goto out;
	if ((ret = spill_open(&c, &c.ls, c.nb)) || (ret = spill_open(&c, &c.ws, c.nb)) ||
	    (ret = spill_open(&c, &c.rs, c.nb)) || (ret = spill_open(&c, &c.xs, c.nb)) ||
	    (ret = spill_open(&c, &c.ks, NK)))
		goto out;
	{
		struct rctx x = {.c = &c, .hint = -1};
		pthread_t th;
		bool threaded = !pthread_create(&th, NULL, read_receipts, &x);

		ret = read_ledgers(&c);
		if (!ret)
			ret = spill_flush(&c, &c.ls);
		if (!ret)
			ret = spill_flush(&c, &c.ws);
		if (threaded)
			pthread_join(th, NULL);
		else if (!ret)
			read_receipts(&x);
		if (!ret && x.ret) {
			ret = x.ret;
			/* spill_flush wrote to c.err, the readers to x.err */
			if (x.err[0])
				snprintf(err, errlen, "%s", x.err);
		}
		r->c.receipts = x.receipts;
		r->c.receipts_noid = x.noid;
		r->c.ghosts += x.ghosts;
		if (ret)
			goto out;
	}

	timing("ledgers");
	/* 4. join */
	if ((ret = spill_open(&c, &c.fs, NP + 1)))
		goto out;
	ret = join_all(&c);
	for (unsigned b = 0; b < NK && !ret; b++)
		ret = join_keys(&c, b);
	if (!ret)
		ret = spill_flush(&c, &c.fs);
	if (ret)
		goto out;

	timing("join");
	/* 5. explanation: by port and time, then what is left by socket and time */
	if ((ret = spill_open(&c, &c.us, NP)))
		goto out;
	for (unsigned p = 0; p <= NP && !ret; p++)
		ret = explain_partition(&c, p);
	if (!ret)
		ret = spill_flush(&c, &c.us);
	for (unsigned p = 0; p < NP && !ret && c.have_cookies; p++)
		ret = explain_cookies(&c, p);
	if (ret)
		goto out;

	timing("explanation");
	/* 6. statistics, recovery, objectives. A log may hold faults of other
	 * runs (the agent's log holds every run it served): a fault counts when
	 * its window overlaps the scheduled times of this run's requests or it
	 * explains one of its failures. */
	{
		size_t n = 0;

		for (size_t k = 0; k < r->n_faults; k++) {
			struct rc_fault *f = &r->faults[k];
			bool in =
			    f->explained || (r->c.requests && f->start_ns <= r->last_wall_ns &&
					     f->end_ns >= r->first_wall_ns);

			if (!in) {
				json_decref(f->spec);
				hist_free(f->h);
				continue;
			}
			r->faults[n++] = *f;
		}
		r->n_faults = n;
	}
	latency_of(c.all_h, &r->all);
	for (size_t k = 0; k < r->n_faults; k++)
		latency_of(r->faults[k].h, &r->faults[k].lat);
	recovery(&c);
	if ((ret = make_phases(&c)) || (ret = checks(&c)))
		goto out;
	if (r->n_faults > 1)
		qsort(r->faults, r->n_faults, sizeof(*r->faults), cmp_fault);
	if (r->first_wall_ns == UINT64_MAX)
		r->first_wall_ns = 0;
	qsort(r->missing_ids.ids, r->missing_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->ghost_ids.ids, r->ghost_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->duplicate_ids.ids, r->duplicate_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->unexplained_ids.ids, r->unexplained_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->explained_ids.ids, r->explained_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->recovered_ids.ids, r->recovered_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->duplicate_keys.ids, r->duplicate_keys.n, RC_ID_LEN, cmp_ids);
	for (int i = 0; i < 4; i++) {
		if (c.list_fp[i] && fclose(c.list_fp[i]) && !ret) {
			ret = -EIO;
			snprintf(err, errlen, "cannot write the id lists in %s", in.out_dir);
		}
		c.list_fp[i] = NULL;
	}
	if (ret)
		goto out;
	if (in.out_dir) {
		timing("statistics");
		ret = rc_write_reports(r, in.out_dir, err, errlen);
		timing("reports");
		if (ret)
			goto out;
	}
	ret = r->pass ? 0 : 1;
out:
	pthread_mutex_destroy(&c.jlock);
	if (all_fp)
		fclose(all_fp);
	for (int i = 0; i < 4; i++)
		if (c.list_fp[i])
			fclose(c.list_fp[i]);
	spill_close(&c.ls);
	spill_close(&c.ws);
	spill_close(&c.xs);
	spill_close(&c.rs);
	spill_close(&c.ks);
	spill_close(&c.fs);
	spill_close(&c.es);
	spill_close(&c.cs);
	spill_close(&c.us);
	for (int p = 0; p < 256; p++)
		hist_free(c.phase_h[p]);
	hist_free(c.all_h);
	free(c.o.lat);
	free(c.portless.next);
	free(c.portless.fault);
	free(c.all.next);
	free(c.all.fault);
	if (ret < 0 && !err[0])
		snprintf(err, errlen, "reconciliation failed: %s", strerror(-ret));
	return ret;
}

void rc_result_free(struct rc_result *r)
{
	struct rc_idlist *l[] = {&r->missing_ids,     &r->ghost_ids,	 &r->duplicate_ids,
				 &r->unexplained_ids, &r->explained_ids, &r->recovered_ids,
				 &r->duplicate_keys};

	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		free(l[i]->ids);
	for (size_t i = 0; i < r->n_faults; i++) {
		json_decref(r->faults[i].spec);
		hist_free(r->faults[i].h);
	}
	free(r->faults);
	free(r->phases);
	free(r->series.bins);
	free(r->checks);
	memset(r, 0, sizeof(*r));
}
