// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A connection's identity for the ledger: 5-tuple and socket cookie. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include "lg_run.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* Address bytes and port of a sockaddr; false if it is neither IPv4 nor IPv6. */
static bool split(const struct sockaddr_storage *a, uint8_t addr[16], uint16_t *port)
{
	memset(addr, 0, 16);
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;

		memcpy(addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return true;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;

		memcpy(addr, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
		return true;
	}
	*port = 0;
	return false;
}

void lg_slot_sockinfo(struct lg_slot *s, int fd, const struct sockaddr *peer)
{
	struct sockaddr_storage a;
	socklen_t al = sizeof(a);
	uint64_t cookie = 0;
	socklen_t cl = sizeof(cookie);
	uint16_t port;

	memset(&a, 0, sizeof(a));
	if (!getsockname(fd, (struct sockaddr *)&a, &al) && split(&a, s->addrs.laddr, &port)) {
		s->lport = port;
		s->addrs.family = (uint8_t)a.ss_family;
	}
	memset(&a, 0, sizeof(a));
	al = sizeof(a);
	if (peer)
		memcpy(&a, peer,
		       peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						   : sizeof(struct sockaddr_in));
	else if (getpeername(fd, (struct sockaddr *)&a, &al))
		a.ss_family = AF_UNSPEC;
	if (split(&a, s->addrs.paddr, &s->addrs.pport) && !s->addrs.family)
		s->addrs.family = (uint8_t)a.ss_family;
	if (!getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &cl))
		s->cookie = cookie;
}

void lg_slot_forget_conn(struct lg_slot *s)
{
	s->lport = 0;
	s->cookie = 0;
	memset(&s->addrs, 0, sizeof(s->addrs));
}
