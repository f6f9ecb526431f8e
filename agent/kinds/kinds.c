// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The served kinds, and the loops over them that agentd and the fault
 * table use. */
#include <stdio.h>
#include <string.h>
#include "kind.h"
#include "registry.h"

extern const struct fault_kind drop_kind, latency_kind, kill_kind, pause_kind, cpu_kind;
extern const struct fault_kind errno_kind, syscall_latency_kind;

const struct fault_kind *const fault_kinds[] = {
    &drop_kind, &latency_kind,	       &kill_kind, &pause_kind, &cpu_kind,
    &errno_kind, &syscall_latency_kind, NULL,
};

const struct fault_kind *fault_kind_of(uint16_t kind)
{
	for (int i = 0; fault_kinds[i]; i++)
		if (fault_kinds[i]->kind == kind)
			return fault_kinds[i];
	return NULL;
}

int kinds_cleanup_leftovers(const struct kind_env *env)
{
	int ret = 0;

	for (int i = 0; fault_kinds[i]; i++)
		if (fault_kinds[i]->cleanup_leftovers)
			ret = fault_kinds[i]->cleanup_leftovers(env) ?: ret;
	return ret;
}

int kinds_init(const struct kind_env *env, char *err, size_t errlen)
{
	for (int i = 0; fault_kinds[i]; i++) {
		int ret = fault_kinds[i]->init ? fault_kinds[i]->init(env) : 0;

		if (ret) {
			snprintf(err, errlen, "cannot set up %s faults: %s",
				 fl_kind_name(fault_kinds[i]->kind), strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void kinds_heartbeat(uint64_t now)
{
	for (int i = 0; fault_kinds[i]; i++)
		if (fault_kinds[i]->heartbeat)
			fault_kinds[i]->heartbeat(now);
}

uint64_t kinds_events_lost(void)
{
	uint64_t n = 0;

	for (int i = 0; fault_kinds[i]; i++)
		if (fault_kinds[i]->events_lost)
			n += fault_kinds[i]->events_lost();
	return n;
}

int kinds_hooks(void)
{
	int n = 0;

	for (int i = 0; fault_kinds[i]; i++)
		if (fault_kinds[i]->hooks)
			n += fault_kinds[i]->hooks();
	return n;
}

void kinds_shutdown(void)
{
	for (int i = 0; fault_kinds[i]; i++)
		if (fault_kinds[i]->shutdown)
			fault_kinds[i]->shutdown();
}
