/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef FL_TRACE_CLI_H
#define FL_TRACE_CLI_H

/* agentctl trace: exit 0 done, 1 the trace could not run, 2 bad usage. */
int cmd_trace(int argc, char **argv);

#endif
