/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one event record: what a BPF program (or the agent itself, for
 * user-space backends) emits each time it injects a fault. Every fault kind
 * uses this record; fields a kind does not need stay zero. The event log
 * (docs/events.md) is this record as NDJSON.
 */
#ifndef FL_EVENT_H
#define FL_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum fl_kind {
	FL_KIND_NONE = 0,
	FL_KIND_DROP = 1,	     /* packet dropped */
	FL_KIND_LATENCY = 2,	     /* packet delayed */
	FL_KIND_ERRNO = 3,	     /* socket call or syscall failed with an errno */
	FL_KIND_SYSCALL_LATENCY = 4, /* syscall held */
	FL_KIND_KILL = 5,	     /* process killed (value: the signal) */
	FL_KIND_PAUSE = 6,	     /* process or cgroup paused (start and end) */
	FL_KIND_CPU = 7,	     /* cgroup CPU capped */
	FL_KIND_MAX,
	/* Names, backends and rules: agent/kinds/registry.c. */
};

enum fl_dir {
	FL_DIR_INGRESS = 0,
	FL_DIR_EGRESS = 1,
};

#define FL_COMM_LEN		16
#define FL_EVENTS_RINGBUF_BYTES (8 << 20)
/* Producers wake the agent only past this backlog; it also reads on a tick. */
#define FL_EVENTS_WAKE_BYTES (1 << 20)

struct fl_event {
	__u64 ts_ns;	/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cookie;	/* socket cookie, 0 when unknown */
	__u64 value;	/* delay in ns (latency) or errno (errno); 0 for drops */
	__u32 fault_id; /* the agent's fault id */
	__u32 pid;	/* tgid, 0 in packet context */
	__u16 kind;	/* enum fl_kind */
	__u8 dir;	/* enum fl_dir, packet faults only */
	__u8 family;	/* AF_INET or AF_INET6, 0 if not a packet */
	__u8 proto;	/* IPPROTO_* */
	__u8 pad;
	__u16 sysno; /* errno, syscall-latency: the syscall's native number */
	__u16 sport; /* host byte order */
	__u16 dport; /* host byte order */
	__u32 ifindex;
	__u8 saddr[16]; /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	char comm[FL_COMM_LEN];
};

#endif
