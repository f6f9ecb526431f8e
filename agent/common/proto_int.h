/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside the protocol: proto.c (requests, targets) and proto_params.c
 * (each kind's params). */
#ifndef FL_PROTO_INT_H
#define FL_PROTO_INT_H

#include <stdio.h>
#include <jansson.h>
#include "proto.h"

/* Needs err and errlen in scope; returns -EINVAL. */
#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

/* fault.params into s (kind and target already in s). */
int params_from_json(json_t *p, struct fl_fault_spec *s, char *err, size_t errlen);
int proc_params_from_json(json_t *p, struct fl_fault_spec *s, char *err, size_t errlen);
json_t *params_to_json(const struct fl_fault_spec *s);

#endif
