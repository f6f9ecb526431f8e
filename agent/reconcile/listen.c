// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The addresses the targets of process faults listened on (the "listen"
 * field of their inject records, docs/events.md): a kill or a pause touches
 * every connection to those addresses for as long as the fault lasts, not
 * only at the moment of its event. The dependency pass (attribute.c) asks
 * here whether the upstream a receipt names was such an address while the
 * request was at the service: the fault's window, start to end, extended by
 * the grace its declared effects give (if any).
 *
 * A wildcard listener (0.0.0.0, ::) stands for the namespace's addresses of
 * its family that the record lists ("netns_addrs"); without them it matches
 * nothing. An IPv6 wildcard is not taken to cover IPv4 (it may be
 * IPV6_V6ONLY, as nginx's [::] is): an unproven match never explains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "rc_int.h"

static int add(struct ctx *c, uint32_t fault, uint8_t kind, uint8_t proto, uint8_t fam,
	       const uint8_t *a, uint16_t port)
{
	uint16_t idx;
	int ret = rc_addr_intern(&c->addrs, fam, a, 0, &idx);

	if (ret == -E2BIG)
		return 0; /* past the table: never matches */
	if (ret)
		return ret;
	for (size_t i = 0; i < c->n_listen; i++) {
		const struct rc_listen *l = &c->listen[i];

		if (l->fault == fault && l->addr == idx && l->port == port && l->proto == proto)
			return 0; /* every process of a cgroup holds the same sockets */
	}
	if (c->n_listen == MAX_LISTEN) {
		c->listen_cut = true;
		return 0;
	}
	if (!c->listen) {
		c->listen = calloc(MAX_LISTEN, sizeof(*c->listen));
		if (!c->listen)
			return -ENOMEM;
	}
	c->listen[c->n_listen++] = (struct rc_listen){
	    .fault = fault, .addr = idx, .port = port, .kind = kind, .proto = proto};
	return 0;
}

static bool is_any(uint8_t fam, const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, fam == AF_INET ? 4 : 16);
}

int rc_listen_record(struct ctx *c, json_t *j, uint32_t fault, unsigned kind)
{
	json_t *ls = json_object_get(j, "listen"), *local = json_object_get(j, "netns_addrs");
	size_t i, k;
	json_t *l;
	int ret = 0;

	if (!json_is_array(ls))
		return 0;
	json_array_foreach(ls, i, l)
	{
		const char *dst = json_string_value(json_object_get(l, "dst"));
		const char *proto = json_string_value(json_object_get(l, "proto"));
		json_int_t port = json_integer_value(json_object_get(l, "dport"));
		uint8_t fam, a[16], p;
		json_t *v;

		if (!dst || !proto || port <= 0 || port > 65535 ||
		    rc_addr_parse(dst, strlen(dst), &fam, a))
			continue; /* not a listener we can match: ignored */
		p = !strcmp(proto, "tcp") ? IPPROTO_TCP : !strcmp(proto, "udp") ? IPPROTO_UDP : 0;
		if (!p)
			continue;
		if (!is_any(fam, a)) {
			ret = add(c, fault, (uint8_t)kind, p, fam, a, (uint16_t)port);
			if (ret)
				return ret;
			continue;
		}
		json_array_foreach(local, k, v)
		{
			const char *s = json_string_value(v);
			uint8_t f2, b[16];

			if (!s || rc_addr_parse(s, strlen(s), &f2, b) || f2 != fam)
				continue;
			ret = add(c, fault, (uint8_t)kind, p, f2, b, (uint16_t)port);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int cmp_listen(const void *a, const void *b)
{
	const struct rc_listen *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void rc_listen_sort(struct ctx *c)
{
	if (c->n_listen > 1)
		qsort(c->listen, c->n_listen, sizeof(*c->listen), cmp_listen);
}

/* The grace the scenario declared for fault fi (its effects), else 0. */
static uint64_t grace_of(const struct ctx *c, uint32_t fi)
{
	for (size_t i = 0; i < c->n_decl; i++)
		if (c->decl[i].fault == fi)
			return c->decl[i].d->grace_ns;
	return 0;
}

int64_t rc_listen_fault(const struct ctx *c, const struct frec *f, uint16_t addr, uint16_t port,
			bool (*upstream_kind)(unsigned kind))
{
	size_t a = 0, b = c->n_listen;

	while (a < b) {
		size_t m = a + (b - a) / 2;
		const struct rc_listen *l = &c->listen[m];

		if (l->port < port || (l->port == port && l->addr < addr))
			a = m + 1;
		else
			b = m;
	}
	for (; a < c->n_listen && c->listen[a].port == port && c->listen[a].addr == addr; a++) {
		const struct rc_listen *l = &c->listen[a];
		const struct rc_fault *fl = &c->r->faults[l->fault];
		/* no start record: from its first injection, as everywhere */
		uint64_t start = fl->start_ns != UINT64_MAX ? fl->start_ns : fl->first_inject_ns;
		uint64_t g, end;

		if (l->proto != IPPROTO_TCP || !upstream_kind(l->kind) || start == UINT64_MAX)
			continue;
		g = grace_of(c, l->fault);
		end = fl->end_ns == UINT64_MAX || fl->end_ns > UINT64_MAX - g ? UINT64_MAX
									      : fl->end_ns + g;
		if (f->hi >= start && f->lo <= end)
			return l->fault;
	}
	return -1;
}
