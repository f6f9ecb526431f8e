/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * agentd's end of the seccomp supervisors (agentctl exec, docs/backends.md).
 * A supervisor connects to the control socket and sends "supervise"; from
 * then on that connection is its own: agentd pushes the faults meant for its
 * process down it, and the supervisor sends back the events and counters of
 * what it injected. The server (daemon/server.c) routes its lines here.
 */
#ifndef FL_SECCOMP_SUP_H
#define FL_SECCOMP_SUP_H

#include <stddef.h>
#include <jansson.h>
#include "proto.h"

/* The reply to "supervise" on connection fd. */
json_t *seccomp_sup_register(int fd, const struct fl_request *req);
/* A report line from the supervisor on fd (no reply). */
void seccomp_sup_line(int fd, const char *line, size_t len);
/* The connection has closed: that supervisor is gone. */
void seccomp_sup_gone(int fd);

#endif
