/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The event log: every fault event from the ring buffer, and each fault's
 * start and end, as zlib-compressed NDJSON (docs/events.md). The record
 * layout is struct fl_event (bpf/event.h); event_json.h is its one JSON
 * form.
 */
#ifndef FL_EVENTS_H
#define FL_EVENTS_H

#include <stdint.h>
#include <jansson.h>
#include "event.h"

struct fl_fault_spec;

/* Creates the shared ring buffer and opens (appends to) the log at path. */
int events_open(const char *path, char *err, size_t errlen);
int events_ringbuf_fd(void);
int events_epoll_fd(void); /* readable when the ring buffer has records */
/* Take what is in the ring buffer; returns records taken or -errno. */
int events_poll(void);
void events_flush(void); /* make the log readable up to now (Z_SYNC_FLUSH) */
void events_close(void);
uint64_t events_written(void);
/* A record made by the agent itself (a user-space backend), as if it had
 * come through the ring buffer. Call from the agent's main thread. */
void events_write(const struct fl_event *e);
/* Called for each record taken, e.g. to count events per fault. */
void events_set_callback(void (*cb)(const struct fl_event *e, void *arg), void *arg);

/* Lifecycle records: "start" with the fault's spec, "end" with why. */
void events_fault_start(uint32_t id, const char *backend, const struct fl_fault_spec *s);
void events_fault_end(uint32_t id, const char *why);
/* A record made by the agent itself (user-space backends: kill, pause,
 * cpu, a seccomp supervisor's reports), written as if it had come from the
 * ring buffer. */
void events_emit(const struct fl_event *e);
/* The same with extra fields merged into the record (a reference it takes;
 * NULL none): a process fault's listening addresses. */
void events_emit_with(const struct fl_event *e, json_t *extra);
/* Record that n events were lost in the kernel (ring buffer full). */
void events_lost(uint64_t n);

#endif
