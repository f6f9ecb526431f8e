/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef FL_RUN_H
#define FL_RUN_H

/* agentctl run: exit 0 pass, 1 fail, 2 error. */
int cmd_run(const char *sock, int argc, char **argv);

#endif
