/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Inside the latency kind: latency.c (the kind: BPF selector, iptables
 * rules, leftovers) and its two engines, latency_queue.c (the NFQUEUE
 * that holds packets, in a thread of its own per fault) and
 * latency_delay.c (the delays: distributions, correlation, histogram).
 */
#ifndef FL_LATENCY_KIND_H
#define FL_LATENCY_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "event.h"
#include "latency.h"
#include "proto.h"

#define FL_LAT_QUEUE_BASE  64000 /* NFQUEUE numbers tried: 64000, 64001, ... */
#define FL_LAT_QUEUE_TRIES 256
#define FL_LAT_COMMENT	   "faultline-latency" /* on every iptables rule of ours */

/* ---- latency_delay.c ---- */

/* The longest delay the parameters can give (clamps included). */
uint64_t lat_max_delay_ns(const struct fl_latency_params *p);

struct lat_rng {
	uint64_t s;
	double last_u, last_z; /* the previous draw, for correlation */
	bool have_last;
};
void lat_rng_seed(struct lat_rng *r, uint64_t seed);
double lat_rng_u01(struct lat_rng *r); /* uniform [0, 1) */
/* One delay for parameters p, in ns. */
uint64_t lat_sample_ns(struct lat_rng *r, const struct fl_latency_params *p);

/* The distribution's n quantiles (at (i + 0.5) / n), standardized, in
 * units of 1/FL_LAT_DIST_ONE: the EDT program's table. */
void lat_dist_table(const struct fl_latency_params *p, int32_t *t, int n);

/* Delays applied, log-linear buckets (1/128 of a power of two, < 0.8%). */
#define LAT_HIST_SUB	 128
#define LAT_HIST_BUCKETS (58 * LAT_HIST_SUB)
struct lat_hist {
	uint64_t n, max;
	uint64_t b[LAT_HIST_BUCKETS];
};
void lat_hist_add(struct lat_hist *h, uint64_t v);
uint64_t lat_hist_quantile(const struct lat_hist *h, double q); /* 0 when empty */

/* ---- latency_edt.c: backend edt (fq qdisc, tcx or classic tc egress) ---- */

struct latency_bpf;
struct lat_edt;
/* In the device's namespace: fq as the device's root qdisc (shared by the
 * EDT faults on it), the program on a tcx egress link (tcx) or else a
 * classic tc egress filter, which obeys skel's heartbeat_ns. */
int lat_edt_attach(struct latency_bpf *skel, uint64_t netns_id, const char *dev, int ifindex,
		   bool tcx, struct lat_edt **out, char *err, size_t errlen);
void lat_edt_detach(struct lat_edt *e); /* in the device's namespace */
/* Removes fq qdiscs and EDT tc filters of ours on every device of this
 * namespace. */
void lat_edt_cleanup(const char *where);
/* The root qdisc of dev: its kind and handle ("noqueue", "0:"). */
int lat_root_qdisc(const char *dev, char *kind, size_t klen, char *handle, size_t hlen);
/* Removes a classic tc egress filter (handle) of a dead agent's on ifindex. */
void lat_tc_filter_cleanup(int ifindex, const char *dev, const char *where, uint32_t handle,
			   const char *what);

/* ---- latency_netem.c: backend netem (prio root, a netem band per fault) ---- */

struct lat_netem;
/* In the device's namespace: the prio root (shared by the netem faults on
 * it), a band with netem for l, the program (rule.classid set here) on a
 * tcx egress link (tcx) or else a classic tc egress filter. */
int lat_netem_attach(struct latency_bpf *skel, const struct fl_latency_params *l, uint64_t netns_id,
		     const char *dev, int ifindex, bool tcx, struct lat_netem **out, char *err,
		     size_t errlen);
void lat_netem_detach(struct lat_netem *n); /* in the device's namespace */
int lat_netem_band(const struct lat_netem *n);
/* Removes prio roots and netem tc filters of ours on every device here. */
void lat_netem_cleanup(const char *where);

/* ---- latency_hold.c: packets held, flows seen ---- */

#define LAT_USER_FLOWS 16384 /* flows a queue tells apart; a power of two */

struct uflow {
	struct fl_lat_flow_key k;
	uint64_t last_due, last_used;
	uint32_t held;
	uint32_t turn_ack;
	bool used, has_turn;
};

struct held {
	uint64_t due, seq, arrive;
	uint32_t id;
	uint32_t flow;
	uint32_t ring; /* index in the arrival ring */
	bool delayed;
	uint8_t family;
	struct fl_lat_flow_key k;
};

struct lat_parsed {
	struct fl_lat_flow_key k;
	uint8_t family;
	bool syn;
	uint32_t ack, payload;
};

int lat_parse_pkt(const uint8_t *d, size_t len, struct lat_parsed *p);
/* The flow's slot in flows[LAT_USER_FLOWS]; *created when it was not
 * known. Never fails: an idle or the least recently used slot of the probe
 * window is taken over. */
uint32_t lat_flow_get(struct uflow *flows, const struct fl_lat_flow_key *k, uint64_t now,
		      bool *created);
void lat_heap_push(struct held *heap, uint32_t *n, const struct held *h);
struct held lat_heap_pop(struct held *heap, uint32_t *n);

/* ---- latency_queue.c ---- */

struct lat_queue;

struct lat_queue_cfg {
	uint32_t fault_id;
	uint8_t dir;
	int ifindex;
	double prob;
	struct fl_latency_params p;
};

struct lat_stats {
	uint64_t received;		 /* packets the queue handed us */
	uint64_t delayed;		 /* of those, held for a delay of their own */
	uint64_t followed;		 /* held only to keep their flow's order */
	uint64_t held;			 /* held now */
	uint64_t enobufs;		 /* times the socket overflowed (those packets passed) */
	uint64_t p50_ns, p99_ns, max_ns; /* delay applied to the delayed ones */
};

/* Opens and binds a free queue in the caller's network namespace. */
int lat_queue_open(const struct lat_queue_cfg *c, struct lat_queue **out, uint16_t *qnum, char *err,
		   size_t errlen);
int lat_queue_start(struct lat_queue *q, char *err, size_t errlen);
/* Takes what is still queued, lets every held packet go, stops the thread
 * (its events stay for lat_queue_drain). */
void lat_queue_stop(struct lat_queue *q);
void lat_queue_close(struct lat_queue *q); /* stops and frees */
void lat_queue_stats(struct lat_queue *q, struct lat_stats *s);
/* Hands the events recorded since the last call to fn (in the caller's
 * thread); returns how many. */
size_t lat_queue_drain(struct lat_queue *q, void (*fn)(const struct fl_event *e));
uint64_t lat_queue_events_lost(struct lat_queue *q);

#endif
