/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Scenario files (docs/scenarios.md): a target, a load, named phases, a
 * schedule of faults in the control protocol's own shape, where the
 * service's receipts are, and objectives. Loading checks everything and
 * names the field that is wrong.
 */
#ifndef FL_SCENARIO_H
#define FL_SCENARIO_H

#include <limits.h>
#include <stdint.h>
#include <jansson.h>
#include "proto.h"
#include "reconcile.h"

#define SC_MAX_FAULTS 32
#define SC_MAX_PHASES 16
#define SC_NAME_LEN   64

/* Names of the load profile's phases, by loadgen's phase number: a
 * constant load has one, step:... one per step, spike:... three (before,
 * during, after). */
struct sc_phase {
	char name[SC_NAME_LEN];
};

struct sc_fault {
	uint64_t at_ns; /* since the load started */
	json_t *fault;	/* the inject request's fault object, netns filled in */
	struct fl_fault_spec spec;
	json_t *restart;	   /* kill: the command (argv, strings) to run after; NULL = none */
	uint64_t restart_after_ns; /* after at_ns */
	bool has_effects;	    /* "effects": what the fault is expected to cause */
	struct rc_declared effects; /* fault_id filled in once injected */
};

struct sc_load {
	uint64_t duration_ns;
	double rate;	/* open model, requests/s */
	uint32_t users; /* closed model */
	uint64_t think_ns;
	char profile[256]; /* loadgen --profile */
	char arrival[16];
	uint32_t connections, threads;
	uint64_t timeout_ns;
	char mix[PATH_MAX]; /* absolute */
};

struct scenario {
	char name[SC_NAME_LEN];
	char url[512];
	char netns[FL_NETNS_LEN]; /* default netns of the faults */
	struct sc_load load;
	struct sc_phase phases[SC_MAX_PHASES];
	int nphases;
	struct sc_fault faults[SC_MAX_FAULTS];
	int nfaults;
	char receipts[PATH_MAX + 16];
	json_t *objectives; /* owned */
	bool trace;	    /* "trace": per-request kernel stages joined to the ledger */
};

/* Strings may name environment variables as ${NAME}; paths are relative to
 * the scenario file. Returns 0 or -errno with a one-line reason. */
int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen);
void scenario_free(struct scenario *sc);

#endif
