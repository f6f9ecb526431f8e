/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* agentctl trace --metrics ADDR:PORT: the trace's Prometheus metrics over
 * HTTP, served by agentctl itself, which holds the trace (docs/tracing.md). */
#ifndef FL_TRACE_METRICS_H
#define FL_TRACE_METRICS_H

#include <stddef.h>
#include "tracer.h"

/* "ADDR:PORT" (IPv4; ":PORT" is 127.0.0.1) -> a listening socket, or a
 * negative errno with a one-line reason in err. */
int trace_metrics_listen(const char *spec, char *err, size_t len);
/* Accept one scrape on fd and answer it with p's exposition. A client that
 * sends no request within a second is dropped. */
void trace_metrics_serve(int fd, const struct fl_trace_prom *p);

#endif
