/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef FL_TRACE_REQUESTS_CLI_H
#define FL_TRACE_REQUESTS_CLI_H

/* agentctl trace requests (argv[0] "requests"): exit 0 done, 1 the trace
 * could not run or its file could not be written, 2 bad usage. */
int cmd_trace_requests(int argc, char **argv);

#endif
