/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What other parts of the agent know of drops (kinds/drop.c is reached
 * through the kind interface, kind.h). */
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

#endif
