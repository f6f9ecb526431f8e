/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Reaching devices in other network namespaces (a container's). */
#ifndef FL_NETNS_H
#define FL_NETNS_H

#include <stddef.h>
#include <stdint.h>

/* Open a network namespace named by "" (the agent's own), a name under
 * /var/run/netns, an absolute path, or "pid:PID". Returns an fd or -errno
 * with a one-line reason in err. */
int netns_open(const char *spec, char *err, size_t errlen);
/* The inode that identifies a namespace fd (two specs, one namespace). */
uint64_t netns_id(int fd);
uint64_t netns_dev(int fd); /* the device of that inode: with it, the identity */
/* Find a namespace by identity wherever it is still reachable: the
 * agent's own, a name under /var/run/netns, or any process's. Returns an
 * fd or -ENOENT (the namespace is gone, and whatever was in it). dev 0
 * matches any device. */
int netns_find(uint64_t dev, uint64_t ino);
/* Switch the calling thread into fd's namespace; *saved receives an fd of
 * the old one for netns_leave. */
int netns_enter(int fd, int *saved);
void netns_leave(int saved);

#endif
