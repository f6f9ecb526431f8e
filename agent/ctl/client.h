/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The client side of the control protocol: one request, one reply. */
#ifndef FL_CLIENT_H
#define FL_CLIENT_H

#include <stddef.h>
#include <jansson.h>

#define FL_CLIENT_TIMEOUT_MS 30000

/* Send req (the reference is stolen) to the agent at sock and read its
 * reply. Returns 0 with *reply set; -EREMOTEIO when the agent refused
 * (*reply set, err holds its words); another -errno when there is no agent
 * to talk to or it broke off (err says which). */
int client_call(const char *sock, json_t *req, json_t **reply, char *err, size_t errlen);

#endif
