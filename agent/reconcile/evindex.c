// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The event index: agentd's event logs read into fault windows and inject
 * events spilled by port (each side of the 5-tuple) and by socket.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <netinet/in.h>
#include "event.h"
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

unsigned rc_kind_of(const char *name)
{
	static const char *const names[FL_KIND_MAX] = {
	    [FL_KIND_DROP] = "drop", [FL_KIND_LATENCY] = "latency", [FL_KIND_ERRNO] = "errno"};

	for (unsigned k = 1; name && k < FL_KIND_MAX; k++)
		if (names[k] && !strcmp(names[k], name))
			return k;
	return FL_KIND_NONE;
}

static unsigned proto_of(json_t *v)
{
	const char *s = json_string_value(v);

	if (json_is_integer(v))
		return (unsigned)json_integer_value(v) & 0xff;
	if (!s)
		return 0;
	return !strcmp(s, "tcp") ? IPPROTO_TCP : !strcmp(s, "udp") ? IPPROTO_UDP : 0;
}

/* An address of an inject event, interned; RC_ADDR_NONE if absent or bad. */
static int ev_addr(struct ctx *c, json_t *v, uint16_t *idx)
{
	const char *s = json_string_value(v);
	uint8_t fam, a[16];
	int ret;

	*idx = RC_ADDR_NONE;
	if (!s || rc_addr_parse(s, strlen(s), &fam, a))
		return 0;
	ret = rc_addr_intern(&c->addrs, fam, a, 0, idx);
	return ret == -E2BIG ? 0 : ret; /* past the table: never matches */
}

/* An inject event: its fault's counters, one entry per side of its 5-tuple
 * in the port partitions, one in the socket partitions if it names one. */
static int inject_line(struct ctx *c, json_t *j, struct rc_fault *f, uint64_t wall)
{
	uint32_t fi = (uint32_t)(f - c->r->faults);
	json_t *sp = json_object_get(j, "sport"), *dp = json_object_get(j, "dport");
	int sport = json_is_integer(sp) ? (int)json_integer_value(sp) : 0;
	int dport = json_is_integer(dp) ? (int)json_integer_value(dp) : 0;
	const char *kind = json_string_value(json_object_get(j, "kind"));
	json_t *ck = json_object_get(j, "cookie");
	/* written as a signed JSON integer: the same 64 bits */
	uint64_t cookie = json_is_integer(ck) ? (uint64_t)json_integer_value(ck) : 0;
	json_int_t dl = json_integer_value(json_object_get(j, "delay_ns"));
	json_int_t en = json_integer_value(json_object_get(j, "errno"));
	struct erec e = {.wall = wall, .fault = fi};
	uint16_t src, dst;
	int ret;

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
	e.kind = (uint8_t)rc_kind_of(kind);
	if (e.kind == FL_KIND_LATENCY)
		e.value =
		    dl > 0 ? (dl / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(dl / 1000)) : 0;
	else if (e.kind == FL_KIND_ERRNO)
		e.value = (uint32_t)(en < 0 ? -en : en);
	e.proto = (uint8_t)proto_of(json_object_get(j, "proto"));
	if ((ret = ev_addr(c, json_object_get(j, "src"), &src)) ||
	    (ret = ev_addr(c, json_object_get(j, "dst"), &dst)))
		return ret;
	/* only an event with both ports names a connection: one without (ICMP,
	 * a portless protocol) explains no request by its ports */
	if (sport > 0 && sport < 65536 && dport > 0 && dport < 65536) {
		e.port = (uint16_t)sport;
		e.oport = (uint16_t)dport;
		e.addr = src;
		e.oaddr = dst;
		e.side = 0;
		ret = spill_put(&c->es, e.port % NP, &e, sizeof(e));
		if (!ret && dport != sport) {
			e.port = (uint16_t)dport;
			e.oport = (uint16_t)sport;
			e.addr = dst;
			e.oaddr = src;
			e.side = 1;
			ret = spill_put(&c->es, e.port % NP, &e, sizeof(e));
		}
	}
	if (!ret && cookie) {
		struct crec k = {
		    .cookie = cookie, .wall = wall, .fault = fi, .value = e.value, .kind = e.kind};

		ret = spill_put(&c->cs, (unsigned)(mix64(cookie) % NP), &k, sizeof(k));
		c->have_cookies = true;
	}
	return ret;
}

static int event_line(struct ctx *c, const char *path, uint64_t line, const char *s, size_t len)
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
		ret = inject_line(c, j, f, wall);
		if (ret && !c->err[0])
			snprintf(c->err, c->errlen, "cannot write temporary files in %s: %s",
				 c->tmp, strerror(-ret));
	}
out:
	json_decref(j);
	return ret;
}

int rc_read_events(struct ctx *c)
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
			ret = event_line(c, path, line, buf, len);
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
