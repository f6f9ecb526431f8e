/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* agentctl run with "trace": true: `agentctl trace requests` beside the load. */
#ifndef FL_RUN_TRACE_H
#define FL_RUN_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Start tracing the requests of processes named like loadgen (its file's
 * name) into OUT/traces.ndjson.gz (path, len), for at most for_ns; waits
 * until the programs are attached. The tracer's pid, or -1 with err set. */
pid_t run_trace_start(const char *out_dir, const char *loadgen, uint64_t for_ns, char *path,
		      size_t len, char *err, size_t errlen);
/* End it and wait for its file. 0 or -1 with err set. */
int run_trace_stop(pid_t pid, const char *out_dir, char *err, size_t errlen);

#endif
