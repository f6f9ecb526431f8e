/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* User-space half of packet drops: per device and direction, one instance
 * of drop.bpf.c attached by tcx, classic tc or xdp, with a rule table. */
#ifndef FL_DROP_KIND_H
#define FL_DROP_KIND_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "drop.h"
#include "proto.h"

/* Classic tc filters of ours carry this handle and priority, and a program
 * named fl_drop: that is how a later agent recognizes them. */
#define FL_TC_HANDLE 0xfa17
#define FL_TC_PRIO   0xfa17

struct drop_hook;

struct drop_handle {
	struct drop_hook *hook;
	int slot;
};

struct drop_config {
	int ringbuf_fd; /* shared events ring buffer */
	const uint16_t *protected_ports;
	int nr_protected;
	const char *state_dir; /* where classic tc attachments are recorded */
};

int drop_init(const struct drop_config *cfg);
/* Attach (or reuse) the program for the spec's device and direction with
 * the given backend ("tcx", "tc", "xdp"), and install the rule. With
 * dry_run, resolve everything and describe it in plan, change nothing. */
int drop_add(const struct fl_fault_spec *s, const char *backend, uint32_t fault_id, bool dry_run,
	     struct drop_handle *h, char *plan, size_t planlen, char *err, size_t errlen);
void drop_remove(struct drop_handle *h);
void drop_counters(const struct drop_handle *h, struct fl_drop_counters *c);
/* Refresh the heartbeat every instance checks. */
void drop_heartbeat(void);
uint64_t drop_events_lost(void);
int drop_hook_count(void);
/* Detach everything (SIGTERM path). */
void drop_fini(void);
/* Remove what an earlier agent left: classic tc filters of ours (by the
 * state file and by a scan of this namespace) and clsact qdiscs it made. */
int drop_cleanup_leftovers(const char *state_dir);

#endif
