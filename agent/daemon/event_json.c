// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The JSON text of an event record (docs/events.md), written straight into
 * a buffer: the agent writes one per packet a latency fault holds, tens of
 * thousands a second, where building a jansson object, dumping it and
 * freeing it cost more than the fault's own work. event_to_json parses
 * this text, so there is one definition of the record.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "errno_names.h"
#include "event_json.h"
#include "proto.h"
#include "registry.h"

struct out {
	char *p, *end;
	bool full;
};

static void put_mem(struct out *o, const char *s, size_t n)
{
	if (o->full || (size_t)(o->end - o->p) < n) {
		o->full = true;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

static void put(struct out *o, const char *s)
{
	put_mem(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
	char b[24], *q = b + sizeof(b);

	do
		*--q = '0' + v % 10;
	while (v /= 10);
	put_mem(o, q, b + sizeof(b) - q);
}

static void put_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		put(o, "-");
		put_u64(o, -(uint64_t)v);
	} else {
		put_u64(o, v);
	}
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (!len || len > n || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0; /* overlong, a surrogate, past U+10FFFF */
	return len;
}

/* A JSON string of n bytes of s: escaped, bytes that are not UTF-8 as
 * U+FFFD (a process may name itself with any bytes). */
static void put_str(struct out *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	put(o, "\"");
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = c;
			put_mem(o, esc, 2);
			i++;
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(o, esc);
			i++;
		} else if (c < 0x80) {
			put_mem(o, s + i, 1);
			i++;
		} else {
			size_t len = utf8_len(u + i, n - i);

			if (len)
				put_mem(o, s + i, len);
			else
				put(o, "\\ufffd");
			i += len ? len : 1;
		}
	}
	put(o, "\"");
}

static void key(struct out *o, const char *k)
{
	put(o, ",\"");
	put(o, k);
	put(o, "\":");
}

static void key_u64(struct out *o, const char *k, uint64_t v)
{
	key(o, k);
	put_u64(o, v);
}

static void key_str(struct out *o, const char *k, const char *v)
{
	key(o, k);
	put_str(o, v, strlen(v));
}

static const char *proto_str(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmp6";
	default:
		return NULL;
	}
}

size_t event_json_format(const struct fl_event *e, uint64_t wall_ns, const char *host, char *buf,
			 size_t len)
{
	struct out o = {buf, buf + len, false};
	bool sys = e->kind == FL_KIND_ERRNO || e->kind == FL_KIND_SYSCALL_LATENCY;
	char a[INET6_ADDRSTRLEN];

	put(&o, "{\"type\":\"inject\"");
	key(&o, "wall_ns");
	put_i64(&o, (int64_t)wall_ns);
	key(&o, "mono_ns");
	put_i64(&o, (int64_t)e->ts_ns);
	key_str(&o, "host", host);
	key_u64(&o, "fault_id", e->fault_id);
	key_str(&o, "kind", fl_kind_name(e->kind));
	if (sys)
		key_str(&o, "syscall", fl_syscall_name(e->sysno));
	if (e->family) {
		const char *p = proto_str(e->proto);

		if (!sys) {
			key_str(&o, "dir", e->dir == FL_DIR_EGRESS ? "egress" : "ingress");
			key_u64(&o, "ifindex", e->ifindex);
		}
		if (p)
			key_str(&o, "proto", p);
		else
			key_u64(&o, "proto", e->proto);
		inet_ntop(e->family, e->saddr, a, sizeof(a));
		key_str(&o, "src", a);
		inet_ntop(e->family, e->daddr, a, sizeof(a));
		key_str(&o, "dst", a);
		if (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP) {
			key_u64(&o, "sport", e->sport);
			key_u64(&o, "dport", e->dport);
		}
	}
	if (e->pid) {
		key_u64(&o, "pid", e->pid);
		key(&o, "comm");
		put_str(&o, e->comm, strnlen(e->comm, FL_COMM_LEN));
	}
	if (e->cookie) {
		key(&o, "cookie");
		put_i64(&o, (int64_t)e->cookie);
	}
	if (e->kind == FL_KIND_LATENCY || e->kind == FL_KIND_SYSCALL_LATENCY) {
		key(&o, "delay_ns");
		put_i64(&o, (int64_t)e->value);
	} else if (e->kind == FL_KIND_ERRNO) {
		key(&o, "errno");
		put_i64(&o, (int64_t)e->value);
		key_str(&o, "errno_name", fl_errno_name(e->value));
	} else if (e->kind == FL_KIND_KILL) {
		const char *sig = proto_signal_name(e->value);

		key_str(&o, "signal", sig ? sig : "?");
	} else if (e->kind == FL_KIND_PAUSE) {
		key_str(&o, "action", e->value ? "pause" : "resume");
	} else if (e->kind == FL_KIND_CPU) {
		key_str(&o, "action", e->value ? "cap" : "restore");
		if (e->value) {
			char q[32];

			snprintf(q, sizeof(q), "%.17g", e->value / 1e6);
			key(&o, "quota");
			put(&o, q);
			if (!strpbrk(q, ".eE"))
				put(&o, ".0");
		}
	}
	put(&o, "}");
	if (o.full || o.p == o.end)
		return 0;
	*o.p = '\0';
	return o.p - buf;
}

json_t *event_to_json(const struct fl_event *e, uint64_t wall_ns, const char *host)
{
	char buf[EVENT_JSON_MAX];

	if (!event_json_format(e, wall_ns, host, buf, sizeof(buf)))
		return NULL;
	return json_loads(buf, 0, NULL);
}
