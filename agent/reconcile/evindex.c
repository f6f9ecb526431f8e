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
#include "registry.h"

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
	const struct fl_kind_desc *k = name ? fl_kind_by_name(name) : NULL;

	return k ? k->kind : FL_KIND_NONE;
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

/* An inject record's fields, from jansson or from the scanner below. */
struct inj {
	uint64_t wall, cookie;
	int64_t delay_ns, err;
	int sport, dport;
	uint32_t fault_id;
	unsigned proto;
	char host[64], kind[16], src[48], dst[48];
};

static void inj_from_json(json_t *j, uint64_t wall, struct inj *x)
{
	json_t *sp = json_object_get(j, "sport"), *dp = json_object_get(j, "dport");
	json_t *ck = json_object_get(j, "cookie");

	memset(x, 0, sizeof(*x));
	x->wall = wall;
	x->sport = json_is_integer(sp) ? (int)json_integer_value(sp) : 0;
	x->dport = json_is_integer(dp) ? (int)json_integer_value(dp) : 0;
	/* written as a signed JSON integer: the same 64 bits */
	x->cookie = json_is_integer(ck) ? (uint64_t)json_integer_value(ck) : 0;
	x->delay_ns = json_integer_value(json_object_get(j, "delay_ns"));
	x->err = json_integer_value(json_object_get(j, "errno"));
	x->proto = proto_of(json_object_get(j, "proto"));
	snprintf(x->kind, sizeof(x->kind), "%s",
		 json_string_value(json_object_get(j, "kind")) ?: "");
	snprintf(x->src, sizeof(x->src), "%s", json_string_value(json_object_get(j, "src")) ?: "");
	snprintf(x->dst, sizeof(x->dst), "%s", json_string_value(json_object_get(j, "dst")) ?: "");
}

/* The common inject record without jansson: a flat object of strings
 * without escapes and integers, as agentd writes it. 1 filled x, 0 not
 * that simple (the caller parses it in full). */
static int inj_scan(const char *s, size_t len, struct inj *x)
{
	const char *e = s + len;
	bool type = false, wall = false, fid = false;

	memset(x, 0, sizeof(*x));
	while (s < e && *s == ' ')
		s++;
	if (s >= e || *s++ != '{')
		return 0;
	for (;;) {
		const char *k, *v;
		size_t kl, vl;
		bool str;

		while (s < e && *s == ' ')
			s++;
		if (s >= e || *s++ != '"')
			return 0;
		k = s;
		while (s < e && *s != '"' && *s != '\\')
			s++;
		if (s >= e || *s != '"')
			return 0;
		kl = (size_t)(s++ - k);
		while (s < e && *s == ' ')
			s++;
		if (s >= e || *s++ != ':')
			return 0;
		while (s < e && *s == ' ')
			s++;
		if (s < e && *s == '"') {
			v = ++s;
			while (s < e && *s != '"' && *s != '\\')
				s++;
			if (s >= e || *s != '"')
				return 0;
			vl = (size_t)(s++ - v);
			str = true;
		} else {
			v = s;
			if (s < e && *s == '-')
				s++;
			while (s < e && *s >= '0' && *s <= '9')
				s++;
			vl = (size_t)(s - v);
			if (!vl || (vl == 1 && *v == '-') || vl > 20)
				return 0;
			str = false;
		}
#define KEY(n) (kl == sizeof(n) - 1 && !memcmp(k, n, kl))
#define NUM()  (str ? 0 : strtoll(v, NULL, 10))
#define STR(dst)                                                                                   \
	do {                                                                                       \
		if (!str || vl >= sizeof(dst))                                                     \
			return 0;                                                                  \
		memcpy(dst, v, vl);                                                                \
		dst[vl] = '\0';                                                                    \
	} while (0)
		if (KEY("type")) {
			if (!str || vl != 6 || memcmp(v, "inject", 6))
				return 0;
			type = true;
		} else if (KEY("wall_ns")) {
			if (str)
				return 0;
			x->wall = strtoull(v, NULL, 10);
			wall = true;
		} else if (KEY("fault_id")) {
			if (str)
				return 0;
			x->fault_id = (uint32_t)strtoul(v, NULL, 10);
			fid = true;
		} else if (KEY("host")) {
			STR(x->host);
		} else if (KEY("kind")) {
			STR(x->kind);
		} else if (KEY("src")) {
			STR(x->src);
		} else if (KEY("dst")) {
			STR(x->dst);
		} else if (KEY("proto")) {
			if (str)
				x->proto = vl == 3 && !memcmp(v, "tcp", 3)   ? IPPROTO_TCP
					   : vl == 3 && !memcmp(v, "udp", 3) ? IPPROTO_UDP
									     : 0;
			else
				x->proto = (unsigned)NUM() & 0xff;
		} else if (KEY("sport")) {
			x->sport = (int)NUM();
		} else if (KEY("dport")) {
			x->dport = (int)NUM();
		} else if (KEY("cookie")) {
			x->cookie = (uint64_t)NUM();
		} else if (KEY("delay_ns")) {
			x->delay_ns = NUM();
		} else if (KEY("errno")) {
			x->err = NUM();
		}
#undef KEY
#undef NUM
#undef STR
		while (s < e && *s == ' ')
			s++;
		if (s < e && *s == ',') {
			s++;
			continue;
		}
		if (s < e && *s == '}')
			break;
		return 0;
	}
	return type && wall && fid;
}

/* An address of an inject event, interned; RC_ADDR_NONE if absent or bad.
 * The last one of each side is remembered: events repeat their addresses. */
static int ev_addr(struct ctx *c, const char *s, int side, uint16_t *idx)
{
	uint8_t fam, a[16];
	int ret;

	if (c->ev_last_ok[side] && !strcmp(c->ev_last[side], s)) {
		*idx = c->ev_last_idx[side];
		return 0;
	}
	*idx = RC_ADDR_NONE;
	if (*s && !rc_addr_parse(s, strlen(s), &fam, a)) {
		ret = rc_addr_intern(&c->addrs, fam, a, 0, idx);
		if (ret && ret != -E2BIG) /* past the table: never matches */
			return ret;
	}
	snprintf(c->ev_last[side], sizeof(c->ev_last[side]), "%s", s);
	c->ev_last_idx[side] = *idx;
	c->ev_last_ok[side] = true;
	return 0;
}

/* e filed under one side of its 5-tuple: that side's port and address. */
static int put_side(struct ctx *c, struct erec *e, uint8_t side, uint16_t port, uint16_t addr,
		    uint16_t oport, uint16_t oaddr)
{
	e->side = side;
	e->port = port;
	e->addr = addr;
	e->oport = oport;
	e->oaddr = oaddr;
	return spill_put(&c->es, port % NP, e, sizeof(*e));
}

/* An inject event: its fault's counters, one entry per side of its 5-tuple
 * in the port partitions, one in the socket partitions if it names one. */
static int inject_line(struct ctx *c, const struct inj *x, struct rc_fault *f)
{
	uint32_t fi = (uint32_t)(f - c->r->faults);
	uint64_t wall = x->wall;
	int sport = x->sport, dport = x->dport;
	struct erec e = {.wall = wall, .fault = fi};
	uint16_t src, dst;
	int ret;

	if (!f->kind[0] && x->kind[0])
		snprintf(f->kind, sizeof(f->kind), "%s", x->kind);
	f->injections++;
	if (wall < f->first_inject_ns)
		f->first_inject_ns = wall;
	c->r->c.events_inject++;
	if (wall < c->ev_min)
		c->ev_min = wall;
	if (wall > c->ev_max)
		c->ev_max = wall;
	e.kind = (uint8_t)rc_kind_of(x->kind);
	/* a delay (latency kinds) in us, or the errno injected */
	if (x->delay_ns > 0)
		e.value =
		    x->delay_ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(x->delay_ns / 1000);
	else
		e.value = (uint32_t)(x->err < 0 ? -x->err : x->err);
	e.proto = (uint8_t)x->proto;
	if ((ret = ev_addr(c, x->src, 0, &src)) || (ret = ev_addr(c, x->dst, 1, &dst)))
		return ret;
	/* only an event with both ports names a connection: one without (ICMP,
	 * a portless protocol) explains no request by its ports */
	if (sport > 0 && sport < 65536 && dport > 0 && dport < 65536) {
		ret = put_side(c, &e, 0, (uint16_t)sport, src, (uint16_t)dport, dst);
		if (!ret && dport != sport)
			ret = put_side(c, &e, 1, (uint16_t)dport, dst, (uint16_t)sport, src);
	}
	if (!ret && x->cookie) {
		struct crec k = {.cookie = x->cookie,
				 .wall = wall,
				 .fault = fi,
				 .value = e.value,
				 .kind = e.kind};

		ret = spill_put(&c->cs, (unsigned)(mix64(x->cookie) % NP), &k, sizeof(k));
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
	struct inj x;
	uint64_t wall;
	int ret = 0;

	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (!len)
		return 0;
	/* most lines are injections: those without jansson */
	if (inj_scan(s, len, &x)) {
		f = fault_get(c, x.host, x.fault_id, &ret);
		if (f)
			ret = inject_line(c, &x, f);
		goto done;
	}
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
		inj_from_json(j, wall, &x);
		snprintf(x.host, sizeof(x.host), "%s", host);
		ret = inject_line(c, &x, f);
		/* a process fault's start: the addresses its target served on */
		if (!ret)
			ret = rc_listen_record(c, j, (uint32_t)(f - c->r->faults),
					       rc_kind_of(x.kind));
	}
out:
	json_decref(j);
done:
	if (ret && !c->err[0])
		snprintf(c->err, c->errlen, "cannot write temporary files in %s: %s", c->tmp,
			 strerror(-ret));
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
	rc_listen_sort(c);
	return ret;
}
