/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Per-request kernel stage records (agentctl trace requests,
 * docs/tracing.md): what reqtrace.bpf.c writes to its ring buffer and
 * agent/trace/requests.c turns into zlib NDJSON for the reconciliation's
 * join with the ledger (agent/reconcile/traces.c).
 *
 * One record is one exchange on one client TCP socket: the request handed to
 * the socket, the response read back. An exchange ends when the next request
 * is handed to the same socket (keep-alive), when the socket closes, or when
 * the trace ends (user space flushes what is left, flag FL_RQ_OPEN).
 * All times are bpf_ktime_get_ns(): CLOCK_MONOTONIC, the clock of the
 * ledger's sent_ns and done_ns. 0 means "not seen".
 */
#ifndef FL_REQTRACE_H
#define FL_REQTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FL_RQ_COMM    16    /* TASK_COMM_LEN */
#define FL_RQ_SOCKS   65536 /* client sockets followed at once */
#define FL_RQ_TIDS    16384 /* threads of the traced processes (LRU) */
#define FL_RQ_RINGBUF (4u << 20)

enum fl_rq_flags {
	FL_RQ_CLOSED = 1,  /* emitted because the socket closed */
	FL_RQ_OPEN = 2,	   /* emitted by user space at the end of the trace */
	FL_RQ_CONNECT = 4, /* the exchange includes the connection's handshake */
};

struct fl_rq_rec {
	__u64 cookie;	     /* SO_COOKIE of the socket (the ledger's sock_cookie) */
	__u64 syn_ns;	     /* connect(): state SYN_SENT (first exchange only) */
	__u64 est_ns;	     /* state ESTABLISHED (first exchange only) */
	__u64 send_start_ns; /* the first send of the request entered TCP */
	__u64 send_end_ns;   /* its last send returned (sock_send_length) */
	__u64 rx_first_ns;   /* the first byte of the response reached the socket (sk_data_ready) */
	__u64 recv_end_ns;   /* the last read of the response returned (sock_recv_length) */
	__u64 runq_ns;	     /* of rx_first..recv_end: the reader waited in the run queue */
	__u64 close_ns;	     /* state CLOSE, when the record was emitted for it */
	__u64 retrans_ns, drop_ns; /* the first retransmit, the first drop: the join
				    * leaves out those after the request ended */
	__u32 tgid, tid;	   /* the process and thread that sent */
	__u32 bytes_out, bytes_in;
	__u32 retrans;	    /* tcp:tcp_retransmit_skb on this socket */
	__u32 drops;	    /* skb:kfree_skb of its packets (either direction) */
	__u32 drop_reason;  /* enum skb_drop_reason of the first drop */
	__u32 flags;	    /* enum fl_rq_flags */
	__u16 sport, dport; /* host order */
	__u16 family;
	__u16 pad;
	__u32 pad2;
};

/* The socket's current exchange (the record being filled) and its state:
 * the value of the socks hash and of the sk_socks storage, which user space
 * reads at the end. */
struct fl_rq_sock {
	struct fl_rq_rec r;
	__u64 early_rx_ns; /* data after the last read, before the next send was seen */
	__u64 addr;	   /* tp_btf: the socket's address (parked drops, at the end) */
	__u64 drop_gen;	   /* tp_btf: drop_gen when it last took its parked drops */
	__u8 has_tuple, runq_taken;
	__u8 ignored; /* tp_btf: a socket of no traced process, kept so as to ask once */
};

/* A drop parked for a socket (reqtrace_core.bpf.h, parked). */
struct fl_rq_drop_box {
	__u64 drop_ns;
	__u64 drops; /* 64 bits: taken with an atomic exchange */
	__u32 reason, pad;
};

/* A connection's addresses in the client's direction, for drops seen
 * before any socket (a packet dropped at ingress has no skb->sk). */
struct fl_rq_tuple {
	__u8 local[16], remote[16]; /* IPv4: first 4 bytes, rest zero */
	__u16 lport, rport;	    /* host order */
	__u32 pad;
};

enum fl_rq_stat {
	FL_RQ_ST_EMITTED, /* records written to the ring buffer */
	FL_RQ_ST_LOST,	  /* records the ring buffer had no room for */
	FL_RQ_ST_NOSLOT,  /* sockets not followed: the socket table was full */
	FL_RQ_ST_MAX,
};

struct fl_rq_cfg {
	__u32 tgid;    /* --pid: 0 = any */
	__u8 has_comm; /* --comm given */
	__u8 pad;
	__u16 port;	       /* --port: the remote port (host order), 0 = any */
	__u32 purge_reason;    /* SKB_DROP_REASON_QUEUE_PURGE here (from BTF), not a drop */
	__u32 consumed_reason; /* SKB_CONSUMED here */
	char comm[FL_RQ_COMM]; /* --comm, NUL padded */
};

#endif
