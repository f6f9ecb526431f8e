/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * An incremental HTTP/1.x response parser that keeps no bytes: it reads the
 * status line, the headers it needs (Content-Length, Transfer-Encoding,
 * Connection) and skips the body (Content-Length, chunked, or until close).
 * About 80 bytes of state per connection; input may arrive split anywhere.
 */
#ifndef LG_HTTP_H
#define LG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADER_BYTES (64 * 1024) /* status line + headers (+ trailers) */

struct http_resp {
	uint8_t state;
	uint8_t hdr;	 /* which header is being read */
	uint8_t nlen;	 /* bytes of the header name kept */
	uint8_t vlen;	 /* bytes of the header value kept */
	bool head;	 /* response to HEAD: no body */
	bool keep_alive; /* the connection may be reused */
	bool chunked;
	bool has_len;
	uint16_t status;
	uint16_t minor;	 /* HTTP/1.x */
	uint32_t hbytes; /* header bytes seen */
	uint32_t pos;	 /* position inside the version / status code */
	uint64_t clen;	 /* Content-Length */
	uint64_t left;	 /* body or chunk bytes still to skip */
	uint64_t body;	 /* body bytes seen */
	char name[20];
	char val[24];
};

void http_resp_init(struct http_resp *r, bool head);
/*
 * Feed len bytes. *used is set to the bytes consumed: all of them unless the
 * response ends inside the buffer (the rest belongs to whatever follows).
 * Returns 1 when the response is complete, 0 when more is needed,
 * -EBADMSG on a malformed response, -E2BIG when the headers are too long.
 */
int http_resp_feed(struct http_resp *r, const char *p, size_t len, size_t *used);
/* The peer closed. Returns 1 if that completes the response (a body that
 * runs until close), -EPIPE if the response was cut short. */
int http_resp_eof(const struct http_resp *r);
/* True once at least the status line has been read. */
bool http_resp_started(const struct http_resp *r);

#endif
