/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one list of fault kinds and their backends. The protocol takes kind
 * names from it, the probe picks a backend from it, `doctor` prints it, the
 * fault table finds each kind's operations by it (kind.h), reconciliation
 * reads from it which failures a kind's events can explain, and
 * docs/backends.md lists the same rows (a unit test holds them equal).
 * Pure data: linked by agentd and agentctl alike.
 */
#ifndef FL_REGISTRY_H
#define FL_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include "event.h"
#include "probe.h"

/* What a kind's events can explain in a request's failure (reconciliation,
 * docs/reconcile.md). */
enum fl_explains {
	FL_EXPLAINS_TRANSPORT = 1 << 0, /* timeout, reset, connect failure, EOF of its own flow */
	FL_EXPLAINS_SLOW = 1 << 1,	/* added latency */
	FL_EXPLAINS_DEADLINE = 1 << 2, /* a timeout only where its own delay used up the deadline */
	FL_EXPLAINS_ERRNO = 1 << 3,    /* a call that failed with the injected errno */
	FL_EXPLAINS_DEPENDENCY = 1
				 << 4 /* the service's failure when it hit the service's upstream */
};

#define FL_BACKEND_NEEDS 3

struct fl_backend_desc {
	const char *name;
	enum fl_fact all[FL_BACKEND_NEEDS]; /* needs every one (FACT_MAX ends) */
	enum fl_fact any[FL_BACKEND_NEEDS]; /* and one of these, where any are listed */
	const char *any_what;		    /* what the "any" facts are, for a "no" */
	const char *how;		    /* one line: the mechanism */
};

struct fl_kind_desc {
	uint16_t kind;	  /* enum fl_kind */
	const char *name; /* in the protocol, on the command line, in events */
	const char *what; /* one line for doctor and the docs */
	const struct fl_backend_desc *backends; /* in order of preference; name NULL ends */
	unsigned explains;			/* enum fl_explains */
	bool served;				/* this agent can inject it today */
};

/* Every kind, in enum order; the entry with kind FL_KIND_NONE ends it. */
extern const struct fl_kind_desc fl_kinds[];

const struct fl_kind_desc *fl_kind_by_id(uint16_t kind); /* NULL when unknown */
const struct fl_kind_desc *fl_kind_by_name(const char *name);
const char *fl_kind_name(uint16_t kind); /* "?" when unknown */
const struct fl_backend_desc *fl_backend_by_name(const struct fl_kind_desc *k, const char *name);
/* "drop, latency, ..." of the kinds served (or all), for messages. */
const char *fl_kind_names(bool served_only);

#endif
