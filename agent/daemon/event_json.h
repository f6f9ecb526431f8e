/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one JSON form of an event record, struct fl_event (bpf/event.h), as
 * docs/events.md describes it.
 */
#ifndef FL_EVENT_JSON_H
#define FL_EVENT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "event.h"

/* Room for the longest record: a host name of 255 bytes and a comm of 16,
 * each escaped at 6 bytes a byte, and the rest. */
#define EVENT_JSON_MAX 2560

/* The record's text, NUL-terminated, into buf; returns its length, 0 if
 * it does not fit. */
size_t event_json_format(const struct fl_event *e, uint64_t wall_ns, const char *host, char *buf,
			 size_t len);
/* The same record as a jansson object (to merge fields into), NULL on
 * error. */
json_t *event_to_json(const struct fl_event *e, uint64_t wall_ns, const char *host);

#endif
