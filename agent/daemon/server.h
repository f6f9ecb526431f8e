/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The agent's listening sockets: the control socket (JSON lines) and the
 * metrics endpoint (Prometheus text over HTTP), served from one epoll loop. */
#ifndef FL_SERVER_H
#define FL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

/* Two pools, so that the metrics port can never take the control socket's
 * places: anyone on the host may connect to the metrics port, only root to
 * the control socket. */
#define FL_MAX_CLIENTS	       64 /* control socket */
#define FL_MAX_METRICS_CLIENTS 16
#define FL_CLIENT_IDLE_NS      (30ULL * 1000000000ULL) /* a silent control client is dropped */
#define FL_METRICS_DEADLINE_NS (2ULL * 1000000000ULL)  /* a scrape's whole time, from accept */
#define FL_METRICS_MAX_REQUEST 8192

/* Another process (an agent with another state folder) answers on path. */
bool server_socket_in_use(const char *path);
/* Bind the control socket (mode 0600) and, when port != 0, the metrics
 * endpoint on 127.0.0.1:port. Both are added to epfd. */
int server_open(int epfd, const char *sock_path, uint16_t metrics_port, char *err, size_t errlen);
/* Handle readiness on fd; returns 1 if fd was the server's, else 0. */
int server_handle(int epfd, int fd, uint32_t events);
/* Drop clients idle for too long. */
void server_reap(uint64_t now_mono);
void server_close(void);

#endif
