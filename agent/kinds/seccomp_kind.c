// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include "errno_kind.h"

int seccomp_check(const struct fl_fault_spec *s, char *err, size_t errlen)
{
	snprintf(err, errlen, "no supervisor");
	return -ENOENT;
}
int seccomp_add(const struct fl_fault_spec *s, uint32_t fault_id, bool dry_run, void **state,
		char *plan, size_t planlen, char *err, size_t errlen)
{
	return -ENOENT;
}
void seccomp_remove(void *state) {}
void seccomp_counters(const void *state, struct fl_counters *c) {}
void seccomp_describe(const void *state, json_t *fault) {}
int seccomp_hooks(void) { return 0; }
