/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What is sent: the target URL and pre-built requests (one, or a weighted mix). */
#ifndef LG_REQ_H
#define LG_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct lg_url {
	bool https;
	char host[256]; /* without brackets for IPv6 literals */
	char port[8];
	char path[2048];   /* starts with '/', includes the query */
	char origin[300];  /* scheme://host[:port], for the curl engine */
	char hosthdr[280]; /* value of the Host header */
};

#define REQ_MAX_EXPECT 8
#define REQ_VAR_MAX    192 /* id + idempotency header + CRLFs */

struct lg_req {
	char *method;
	char *path;
	char *head; /* request line, Host, headers, ..., "<id-header>: " */
	size_t head_len;
	char *body;
	size_t body_len;
	char **hdrs; /* "Name: value" lines (for the curl engine) */
	unsigned nhdrs;
	uint64_t weight;
	uint16_t expect[REQ_MAX_EXPECT]; /* none: any 2xx or 3xx is success */
	unsigned nexpect;
	bool is_head;
	char *idem_header; /* idempotency pair mode: the key header, or NULL */
};

struct lg_reqs {
	struct lg_req *r;
	unsigned n;
	uint64_t total_weight;
	char id_header[64];
};

/* "http://host[:port][/path]" or https. */
int url_parse(const char *s, struct lg_url *u, char *why, size_t whylen);

struct req_opts {
	const char *method;	 /* -X, default GET */
	const char *body_file;	 /* --body */
	const char *const *hdrs; /* -H */
	unsigned nhdrs;
	const char *mix_file; /* --mix */
	const char *id_header;
};

/* Builds the request set; on error writes a one-line reason. */
int reqs_build(struct lg_reqs *rs, const struct lg_url *u, const struct req_opts *o, char *why,
	       size_t whylen);
void reqs_free(struct lg_reqs *rs);
/* Weighted pick with a random number. */
unsigned reqs_pick(const struct lg_reqs *rs, uint64_t rnd);
bool req_status_ok(const struct lg_req *r, unsigned status);
/* Writes the variable part of a request (id, optional idempotency key, end
 * of headers) into var (REQ_VAR_MAX bytes); returns its length. */
size_t req_var(const struct lg_reqs *rs, const struct lg_req *r, char *var, const char *id,
	       const char *idem_key);

#endif
