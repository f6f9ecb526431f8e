// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "client.h"
#include "proto.h"

int client_call(const char *sock, json_t *req, json_t **reply, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *line = proto_reply_line(req), *buf = NULL;
	size_t len = 0, cap = 0;
	json_error_t jerr;
	int fd = -1, ret;

	*reply = NULL;
	if (!line) {
		snprintf(err, errlen, "cannot encode the request");
		return -ENOMEM;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		snprintf(err, errlen,
			 "cannot reach agentd at %s: %s (is it running? start it with: agentd)",
			 sock, strerror(errno));
		goto out;
	}
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line)) {
		ret = -errno;
		snprintf(err, errlen, "cannot send to agentd: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (len + 4096 > cap) {
			char *b;

			cap = cap ? cap * 2 : 16384;
			b = realloc(buf, cap);
			if (!b) {
				ret = -ENOMEM;
				snprintf(err, errlen, "out of memory reading the agent's reply");
				goto out;
			}
			buf = b;
		}
		if (poll(&p, 1, FL_CLIENT_TIMEOUT_MS) <= 0) {
			ret = -ETIMEDOUT;
			snprintf(err, errlen, "agentd did not answer within %d s",
				 FL_CLIENT_TIMEOUT_MS / 1000);
			goto out;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0) {
			ret = -ECONNRESET;
			snprintf(err, errlen, "agentd closed the connection without an answer");
			goto out;
		}
		len += n;
		if (memchr(buf, '\n', len))
			break;
	}
	*reply = json_loadb(buf, strcspn(buf, "\n"), 0, &jerr);
	if (!*reply) {
		ret = -EPROTO;
		snprintf(err, errlen, "agentd sent something that is not JSON: %s", jerr.text);
		goto out;
	}
	ret = 0;
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		ret = -EREMOTEIO;
		snprintf(err, errlen, "%s",
			 json_string_value(json_object_get(*reply, "error")) ?: "request refused");
	}
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return ret;
}
