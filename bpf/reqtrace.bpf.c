// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Per-request stage records (agentctl trace requests, docs/tracing.md).
 *
 * A client socket of a traced process is followed from its connect() (or its
 * first send, for a connection made before the trace started) to its close,
 * in its socket-local storage (tp_btf) or a hash keyed by the socket's
 * address (raw_tp, tracepoint). Each exchange on it (a request
 * handed to the socket, the response read back) becomes one record in the
 * ring buffer, written when the next request starts, when the socket closes,
 * or by user space at the end. Everything between is kept in the socket's
 * entry: a record per exchange is all the join with the ledger needs.
 *
 * Receive-side events (sk_data_ready, retransmits, drops) run in softirq or
 * timer context, on behalf of no traced task: they are keyed by the socket,
 * never by the current pid. A drop at ingress has no socket yet; its TCP
 * 4-tuple finds the client socket in `tuples`.
 *
 * Every hook comes three times (tp_btf, raw_tp, classic tracepoint); user
 * space keeps one set, the first that loads here. The classic
 * tcp_sendmsg_locked has no socket address, so the tracepoint set stamps the
 * send's start at the send syscall's entry instead.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "reqtrace.h"
#include "reqtrace_core.bpf.h"
#include "reqtrace_drop.bpf.h"
#include "tp_ctx.bpf.h"

/* ---- tp_btf ---- */

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fl_rq_state_btf, const struct sock *sk, const int oldstate, const int newstate)
{
	return on_state(sk, newstate, BPF_CORE_READ(sk, sk_protocol), true);
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(fl_rq_sendmsg_btf, const struct sock *sk)
{
	send_start(sk, bpf_ktime_get_ns(), true);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(fl_rq_sendlen_btf, struct sock *sk, int ret, int flags)
{
	send_end(sk, ret, true);
	return 0;
}

SEC("tp_btf/sk_data_ready")
int BPF_PROG(fl_rq_ready_btf, const struct sock *sk)
{
	return on_data_ready(sk, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(fl_rq_recvlen_btf, struct sock *sk, int ret, int flags)
{
	return on_recv(sk, ret, true);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(fl_rq_retrans_btf, const struct sock *sk)
{
	return on_retransmit(sk, true);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(fl_rq_drop_btf, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_drop(skb, reason, true);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(fl_rq_wakeup_btf, struct task_struct *p)
{
	rq_wake(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(fl_rq_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev, next);
}

/* ---- raw_tp ---- */

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(fl_rq_state_raw, const struct sock *sk, const int oldstate, const int newstate)
{
	return on_state(sk, newstate, BPF_CORE_READ(sk, sk_protocol), false);
}

SEC("raw_tp/tcp_sendmsg_locked")
int BPF_PROG(fl_rq_sendmsg_raw, const struct sock *sk)
{
	send_start(sk, bpf_ktime_get_ns(), false);
	return 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(fl_rq_sendlen_raw, struct sock *sk, int ret, int flags)
{
	send_end(sk, ret, false);
	return 0;
}

SEC("raw_tp/sk_data_ready")
int BPF_PROG(fl_rq_ready_raw, const struct sock *sk)
{
	return on_data_ready(sk, false);
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(fl_rq_recvlen_raw, struct sock *sk, int ret, int flags)
{
	return on_recv(sk, ret, false);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(fl_rq_retrans_raw, const struct sock *sk)
{
	return on_retransmit(sk, false);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(fl_rq_drop_raw, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_drop(skb, reason, false);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(fl_rq_wakeup_raw, struct task_struct *p)
{
	rq_wake(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(fl_rq_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev, next);
}

/* ---- classic tracepoints ---- */

SEC("tracepoint/sock/inet_sock_set_state")
int fl_rq_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	return on_state(ctx->skaddr, ctx->newstate, ctx->protocol, false);
}

/* The send syscalls' entry: the start of a send for the tracepoint set. */
static __always_inline int sys_send_enter(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tid_state *t = bpf_map_lookup_elem(&tids, &tid);

	if (t)
		t->sys_send_ns = bpf_ktime_get_ns();
	else if (match_current()) {
		struct tid_state n = {.sys_send_ns = bpf_ktime_get_ns()};

		bpf_map_update_elem(&tids, &tid, &n, BPF_ANY);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int fl_rq_sys_sendmsg_tp(void *ctx)
{
	return sys_send_enter();
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int fl_rq_sys_sendto_tp(void *ctx)
{
	return sys_send_enter();
}

SEC("tracepoint/syscalls/sys_enter_write")
int fl_rq_sys_write_tp(void *ctx)
{
	return sys_send_enter();
}

SEC("tracepoint/syscalls/sys_enter_writev")
int fl_rq_sys_writev_tp(void *ctx)
{
	return sys_send_enter();
}

SEC("tracepoint/sock/sock_send_length")
int fl_rq_sendlen_tp(struct trace_event_raw_sock_msg_length *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tid_state *t = bpf_map_lookup_elem(&tids, &tid);
	__u64 now = bpf_ktime_get_ns();

	if (ctx->ret <= 0)
		return 0;
	send_start(ctx->sk, t && t->sys_send_ns ? t->sys_send_ns : now, false);
	send_end(ctx->sk, ctx->ret, false);
	return 0;
}

SEC("tracepoint/sock/sk_data_ready")
int fl_rq_ready_tp(struct trace_event_raw_sk_data_ready *ctx)
{
	return on_data_ready(ctx->skaddr, false);
}

SEC("tracepoint/sock/sock_recv_length")
int fl_rq_recvlen_tp(struct trace_event_raw_sock_msg_length *ctx)
{
	return on_recv(ctx->sk, ctx->ret, false);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int fl_rq_retrans_tp(struct fl_tp_tcp_retransmit_skb *ctx)
{
	return on_retransmit(ctx->skaddr, false);
}

SEC("tracepoint/skb/kfree_skb")
int fl_rq_drop_tp(struct trace_event_raw_kfree_skb *ctx)
{
	return on_drop((struct sk_buff *)ctx->skbaddr, ctx->reason, false);
}

SEC("tracepoint/sched/sched_wakeup")
int fl_rq_wakeup_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	rq_wake(ctx->pid);
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int fl_rq_switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	long st = ctx->prev_state;

	if (st == TASK_RUNNING || (st & TASK_REPORT_MAX))
		rq_wake(ctx->prev_pid);
	rq_on(ctx->next_pid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
