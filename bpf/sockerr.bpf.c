// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Errno faults on socket calls. Each program sits on a cgroup v2 hook that
 * runs inside the call (connect, bind, UDP sendmsg, socket creation,
 * get/setsockopt); when the fault matches, it sets the call's return value
 * with bpf_set_retval(-errno) and returns 0, so the call fails with that
 * errno. What does not match returns 1: the call goes on, and so do the
 * other programs on the hook. The agent attaches only the programs for the
 * fault's call, with links it holds.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "event.h"
#include "sockerr.h"

#define AF_INET	 2
#define AF_INET6 10

const volatile struct fl_sockerr_cfg cfg = {};

struct fl_sockerr_counters counters = {};

/* Shared by every instance: the agent creates it once and reuses its fd. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FL_EVENTS_RINGBUF_BYTES);
} events SEC(".maps");

#include "errno_match.bpf.h"

struct call {
	__u32 addr[4]; /* network byte order */
	__u64 cookie;
	__u16 port; /* host byte order */
	__u8 family;
	__u8 proto;
	__u8 is_bind; /* the address is the local one */
};

static __always_inline bool match_addr(const struct call *c)
{
	if (cfg.proto && c->proto != cfg.proto)
		return false;
	if (cfg.family && c->family != cfg.family)
		return false;
	if (cfg.family)
		for (int i = 0; i < 4; i++)
			if ((c->addr[i] & cfg.dst_mask[i]) != cfg.dst[i])
				return false;
	if (cfg.dport_lo && (c->port < cfg.dport_lo || c->port > cfg.dport_hi))
		return false;
	return true;
}

/* 1: let the call go on; 0: it fails with the errno. */
static __always_inline int decide(const struct call *c)
{
	char comm[FL_COMM_LEN] = {};
	struct fl_event *e;

	if (!match_pid_comm(comm) || !match_addr(c) || !roll())
		return 1;
	e = event_start(comm);
	if (e) {
		e->cookie = c->cookie;
		e->family = c->family;
		e->proto = c->proto;
		if (c->is_bind) {
			e->sport = c->port;
			__builtin_memcpy(e->saddr, c->addr, 16);
		} else {
			e->dport = c->port;
			__builtin_memcpy(e->daddr, c->addr, 16);
		}
		bpf_ringbuf_submit(e, 0);
	}
	bpf_set_retval(-(int)cfg.c.err);
	return 0;
}

static __always_inline int sock_addr(struct bpf_sock_addr *ctx, bool v6, bool is_bind)
{
	struct call c = {};

	c.family = v6 ? AF_INET6 : AF_INET;
	c.proto = ctx->protocol;
	c.port = bpf_ntohs(ctx->user_port);
	c.is_bind = is_bind;
	c.cookie = bpf_get_socket_cookie(ctx);
	if (v6) {
		c.addr[0] = ctx->user_ip6[0];
		c.addr[1] = ctx->user_ip6[1];
		c.addr[2] = ctx->user_ip6[2];
		c.addr[3] = ctx->user_ip6[3];
	} else {
		c.addr[0] = ctx->user_ip4;
	}
	return decide(&c);
}

SEC("cgroup/connect4")
int fl_connect4(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, false, false);
}

SEC("cgroup/connect6")
int fl_connect6(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, true, false);
}

SEC("cgroup/bind4")
int fl_bind4(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, false, true);
}

SEC("cgroup/bind6")
int fl_bind6(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, true, true);
}

SEC("cgroup/sendmsg4")
int fl_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, false, false);
}

SEC("cgroup/sendmsg6")
int fl_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, true, false);
}

SEC("cgroup/sock_create")
int fl_sock_create(struct bpf_sock *ctx)
{
	struct call c = {.family = ctx->family, .proto = ctx->protocol};

	/* No address yet: a fault with one never matches socket(). */
	if (cfg.family || cfg.dport_lo)
		return 1;
	c.cookie = bpf_get_socket_cookie(ctx);
	return decide(&c);
}

static __always_inline int sockopt(struct bpf_sockopt *ctx)
{
	struct call c = {};
	struct bpf_sock *sk = ctx->sk;

	if (cfg.family || cfg.dport_lo)
		return 1;
	if (sk) {
		c.family = sk->family;
		c.proto = sk->protocol;
	}
	return decide(&c);
}

SEC("cgroup/getsockopt")
int fl_getsockopt(struct bpf_sockopt *ctx)
{
	return sockopt(ctx);
}

SEC("cgroup/setsockopt")
int fl_setsockopt(struct bpf_sockopt *ctx)
{
	return sockopt(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
