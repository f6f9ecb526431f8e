/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef FL_INJECT_CLI_H
#define FL_INJECT_CLI_H

/* agentctl inject KIND [OPTIONS]: prints the fault id (or the plan, with
 * --dry-run); returns agentctl's exit code (ctl.h). */
int cmd_inject(const char *sock, int argc, char **argv);

#endif
