// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The event index: agentd's event logs read into fault windows and inject
 * events spilled by port and socket, with a time index for the portless.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "ledger.h"
#include "rc_int.h"

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

int rc_read_events(struct ctx *c, FILE *all_fp)
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

int tidx_build(struct tidx *t, FILE *fp, bool portless_only)
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
int64_t tidx_find(const struct tidx *t, uint64_t lo, uint64_t hi)
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
