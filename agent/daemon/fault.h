/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The fault table: every active fault, whatever its kind, with its time to
 * live; and the agent's answers to control requests. */
#ifndef FL_FAULT_H
#define FL_FAULT_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "event.h"
#include "probe.h"
#include "proto.h"

#define FL_MAX_FAULTS 256

struct fault_config {
	uint64_t default_ttl_ns;
	uint64_t max_ttl_ns;
	const uint16_t *protected_ports;
	int nr_protected;
	const struct fl_facts *facts;
	const char *event_log; /* path, told to clients by status */
};

void faults_init(const struct fault_config *cfg);
/* Answer one request; returns the reply object. */
json_t *faults_handle(const struct fl_request *req);
/* Remove faults whose time is up; returns how many. */
int faults_reap(uint64_t now_mono);
/* Remove every fault (shutdown); why goes into each end event. */
void faults_clear_all(const char *why);
int faults_active(void);
/* Prometheus text for the fault table. */
void faults_metrics(FILE *out);
/* Count one kernel event against its fault. */
void faults_count_event(const struct fl_event *e, void *arg);

#endif
