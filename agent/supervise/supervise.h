/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * agentctl exec: run a command under a seccomp user-notification
 * supervisor so that errno and syscall-latency faults reach any of its
 * syscalls (docs/backends.md, "seccomp"; docs/agentctl.8).
 */
#ifndef FL_SUPERVISE_H
#define FL_SUPERVISE_H

/* argv[0] is "exec". Returns the exit status for agentctl: the command's
 * (128 + signal when a signal ended it), or 2 for bad usage, 3 when no
 * agent answers, 125 when the supervisor could not be set up. */
int cmd_exec(const char *sock, int argc, char **argv);

#endif
