/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The interface every fault kind implements for the agent. The fault table
 * (daemon/fault.c), the control server, `list`, `status` and the metrics
 * know kinds only through it. A new kind is a trio (bpf/x.bpf.c, bpf/x.h,
 * kinds/x.c), a row in kinds/registry.c (name, backends, what its events
 * explain) and its struct fault_kind in kinds/kinds.c.
 */
#ifndef FL_KIND_H
#define FL_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "probe.h"
#include "proto.h"

/* What the agent gives every kind at start. */
struct kind_env {
	int ringbuf_fd; /* the shared events ring buffer (bpf/event.h) */
	const uint16_t *protected_ports;
	int nr_protected;
	const char *state_dir; /* where a kind records what outlives the agent */
	const struct fl_facts *facts;
};

/* Kind-neutral counters of one fault. */
struct fl_counters {
	uint64_t matched;  /* packets or calls the fault's target matched */
	uint64_t injected; /* of those, faulted (dropped, delayed, failed, ...) */
};

struct fault_kind {
	uint16_t kind; /* enum fl_kind; its registry row has the name */
	/* Once at start, after cleanup. NULL: nothing to do. */
	int (*init)(const struct kind_env *env);
	/* Checks beyond the protocol's that need this kind's knowledge, before
	 * anything is changed (NULL: none). */
	int (*check)(const struct fl_fault_spec *s, const char *backend, char *err, size_t errlen);
	/* Install the fault. With dry_run, resolve everything, write what would
	 * be done to plan, change nothing and leave *state NULL. Otherwise
	 * *state is the kind's own record of the fault, given back below. */
	int (*add)(const struct fl_fault_spec *s, const char *backend, uint32_t fault_id,
		   bool dry_run, void **state, char *plan, size_t planlen, char *err,
		   size_t errlen);
	void (*remove)(void *state); /* undo add and free state */
	void (*counters)(const void *state, struct fl_counters *c);
	/* Per-kind fields for `list` (a drop's "dropped", its place in the
	 * chain, warnings). NULL: none. */
	void (*describe)(const void *state, json_t *fault);
	void (*heartbeat)(uint64_t now_mono); /* each tick; NULL: no heartbeat */
	uint64_t (*events_lost)(void);	      /* ring buffer reservations that failed */
	int (*hooks)(void);		      /* programs/links/rules this kind holds now */
	/* Remove what an earlier agent left (before init). */
	int (*cleanup_leftovers)(const struct kind_env *env);
	void (*shutdown)(void); /* after every fault is removed: release the rest */
};

/* The kinds this agent serves; NULL ends. */
extern const struct fault_kind *const fault_kinds[];
const struct fault_kind *fault_kind_of(uint16_t kind); /* NULL: not served */

/* Over every served kind, for agentd and the fault table. */
int kinds_cleanup_leftovers(const struct kind_env *env);
int kinds_init(const struct kind_env *env, char *err, size_t errlen);
void kinds_heartbeat(uint64_t now_mono);
uint64_t kinds_events_lost(void);
int kinds_hooks(void);
void kinds_shutdown(void);

#endif
