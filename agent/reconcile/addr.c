// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Address tables: addresses (and, for upstreams, ports) interned into
 * 16-bit indexes, so that a request's 5-tuple compares with an event's as
 * numbers. The events' table is filled by the events pass and only read
 * after it; the upstreams' table by the receipts pass.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "rc_int.h"

static uint64_t addr_hash(uint8_t family, const uint8_t *a, uint16_t port)
{
	uint64_t x, y;

	memcpy(&x, a, 8);
	memcpy(&y, a + 8, 8);
	return mix64(x ^ mix64(y ^ ((uint64_t)family << 16 | port)));
}

static bool addr_eq(const struct rc_addr *e, uint8_t family, const uint8_t *a, uint16_t port)
{
	return e->family == family && e->port == port && !memcmp(e->a, a, 16);
}

uint16_t rc_addr_find(const struct addr_tab *t, uint8_t family, const uint8_t *a, uint16_t port)
{
	size_t h;

	if (!t->cap)
		return RC_ADDR_NONE;
	h = addr_hash(family, a, port) & (t->cap - 1);
	while (t->slot[h]) {
		const struct rc_addr *e = &t->v[t->slot[h] - 1];

		if (addr_eq(e, family, a, port))
			return (uint16_t)(t->slot[h] - 1);
		h = (h + 1) & (t->cap - 1);
	}
	return RC_ADDR_NONE;
}

static int grow(struct addr_tab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	struct rc_addr *v = realloc(t->v, cap / 2 * sizeof(*v));

	if (!slot || !v) {
		free(slot);
		if (v)
			t->v = v;
		return -ENOMEM;
	}
	t->v = v;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = addr_hash(v[i].family, v[i].a, v[i].port) & (cap - 1);

		while (slot[h])
			h = (h + 1) & (cap - 1);
		slot[h] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->cap = cap;
	return 0;
}

/* 0 with *idx, or -E2BIG past MAX_ADDRS (*idx = RC_ADDR_NONE), -ENOMEM. */
int rc_addr_intern(struct addr_tab *t, uint8_t family, const uint8_t *a, uint16_t port,
		   uint16_t *idx)
{
	uint16_t i = rc_addr_find(t, family, a, port);
	size_t h;
	int ret;

	*idx = i;
	if (i != RC_ADDR_NONE)
		return 0;
	if (t->n >= MAX_ADDRS)
		return -E2BIG;
	if (2 * (t->n + 1) > t->cap && (ret = grow(t)))
		return ret;
	t->v[t->n] = (struct rc_addr){.family = family, .port = port, .ev = RC_ADDR_NONE};
	memcpy(t->v[t->n].a, a, 16);
	h = addr_hash(family, a, port) & (t->cap - 1);
	while (t->slot[h])
		h = (h + 1) & (t->cap - 1);
	t->slot[h] = (uint32_t)t->n + 1;
	*idx = (uint16_t)t->n++;
	return 0;
}

int rc_addr_parse(const char *s, size_t n, uint8_t *family, uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN + 1];

	memset(a, 0, 16);
	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

void rc_addr_free(struct addr_tab *t)
{
	free(t->v);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}
