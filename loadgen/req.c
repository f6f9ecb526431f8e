// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "lg_req.h"

#define BODY_MAX (64 * 1024 * 1024)

int url_parse(const char *s, struct lg_url *u, char *why, size_t whylen)
{
	const char *p, *hend, *pstart;
	size_t hl;
	long port;

	memset(u, 0, sizeof(*u));
	if (!strncasecmp(s, "http://", 7)) {
		p = s + 7;
		strcpy(u->port, "80");
	} else if (!strncasecmp(s, "https://", 8)) {
		p = s + 8;
		u->https = true;
		strcpy(u->port, "443");
	} else {
		snprintf(why, whylen, "bad URL '%s': must start with http:// or https://", s);
		return -EINVAL;
	}
	if (*p == '[') {
		hend = strchr(p, ']');
		if (!hend) {
			snprintf(why, whylen, "bad URL '%s': unclosed [ in IPv6 address", s);
			return -EINVAL;
		}
		hl = (size_t)(hend - p - 1);
		memcpy(u->host, p + 1, hl < sizeof(u->host) ? hl : 0);
		pstart = hend + 1;
	} else {
		hend = p + strcspn(p, ":/?#");
		hl = (size_t)(hend - p);
		if (hl < sizeof(u->host))
			memcpy(u->host, p, hl);
		pstart = hend;
	}
	if (!hl || hl >= sizeof(u->host)) {
		snprintf(why, whylen, "bad URL '%s': no host name", s);
		return -EINVAL;
	}
	for (size_t i = 0; i < hl; i++) {
		unsigned char c = (unsigned char)u->host[i];

		if (!isalnum(c) && !strchr(".-_:%", c)) {
			snprintf(why, whylen, "bad URL '%s': bad character in host", s);
			return -EINVAL;
		}
	}
	if (*pstart == ':') {
		char *end;

		pstart++;
		if (!isdigit((unsigned char)*pstart)) {
			snprintf(why, whylen, "bad URL '%s': bad port", s);
			return -EINVAL;
		}
		errno = 0;
		port = strtol(pstart, &end, 10);
		if (errno || port < 1 || port > 65535 || (*end && *end != '/' && *end != '?')) {
			snprintf(why, whylen, "bad URL '%s': bad port (1-65535)", s);
			return -EINVAL;
		}
		snprintf(u->port, sizeof(u->port), "%ld", port);
		pstart = end;
	} else if (*pstart && *pstart != '/' && *pstart != '?') {
		snprintf(why, whylen, "bad URL '%s'", s);
		return -EINVAL;
	}
	if (strchr(pstart, '#'))
		hl = (size_t)(strchr(pstart, '#') - pstart);
	else
		hl = strlen(pstart);
	if (hl + 2 >= sizeof(u->path)) {
		snprintf(why, whylen, "bad URL: path too long");
		return -EINVAL;
	}
	if (*pstart != '/')
		u->path[0] = '/';
	strncat(u->path, pstart, hl);
	for (const char *c = u->path; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(why, whylen, "bad URL '%s': spaces or control characters in path",
				 s);
			return -EINVAL;
		}
	}
	{
		bool v6 = strchr(u->host, ':') != NULL;
		bool defport = !strcmp(u->port, u->https ? "443" : "80");

		snprintf(u->hosthdr, sizeof(u->hosthdr), "%s%s%s%s%s", v6 ? "[" : "", u->host,
			 v6 ? "]" : "", defport ? "" : ":", defport ? "" : u->port);
		snprintf(u->origin, sizeof(u->origin), "%s://%s", u->https ? "https" : "http",
			 u->hosthdr);
	}
	return 0;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	int err = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		err = -errno;
		goto cleanup;
	}
	if (n > BODY_MAX) {
		err = -EFBIG;
		goto cleanup;
	}
	buf = malloc((size_t)n + 1);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (n && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		err = ferror(f) ? -EIO : -EINVAL;
		goto cleanup;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	buf = NULL;
cleanup:
	free(buf);
	fclose(f);
	return err;
}

static bool token_ok(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && !strchr("!#$%&'*+-.^_`|~", c))
			return false;
	}
	return true;
}

/* "Name: value" with a token name and no CR/LF. */
static bool header_ok(const char *h)
{
	const char *colon = strchr(h, ':');

	if (!colon || !token_ok(h, (size_t)(colon - h)))
		return false;
	return !strpbrk(h, "\r\n");
}

static int add_hdr(struct lg_req *r, const char *h)
{
	char **n = realloc(r->hdrs, (r->nhdrs + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	r->hdrs = n;
	n[r->nhdrs] = strdup(h);
	if (!n[r->nhdrs])
		return -ENOMEM;
	r->nhdrs++;
	return 0;
}

/* Renders the fixed head of r. */
static int build_head(struct lg_req *r, const struct lg_url *u, const char *id_header)
{
	size_t cap = strlen(r->method) + strlen(r->path) + strlen(u->hosthdr) + strlen(id_header) +
		     128,
	       off;
	unsigned i;
	char *h;

	for (i = 0; i < r->nhdrs; i++)
		cap += strlen(r->hdrs[i]) + 2;
	h = malloc(cap);
	if (!h)
		return -ENOMEM;
	off = (size_t)snprintf(h, cap, "%s %s HTTP/1.1\r\n", r->method, r->path);
	for (i = 0; i < r->nhdrs; i++)
		if (!strncasecmp(r->hdrs[i], "host:", 5))
			break;
	if (i == r->nhdrs) /* a Host given with -H or in the mix wins */
		off += (size_t)snprintf(h + off, cap - off, "Host: %s\r\n", u->hosthdr);
	for (i = 0; i < r->nhdrs; i++)
		off += (size_t)snprintf(h + off, cap - off, "%s\r\n", r->hdrs[i]);
	if (r->body_len || strcmp(r->method, "GET"))
		off += (size_t)snprintf(h + off, cap - off, "Content-Length: %zu\r\n", r->body_len);
	off += (size_t)snprintf(h + off, cap - off, "%s: ", id_header);
	r->head = h;
	r->head_len = off;
	return 0;
}

static int mix_entry(struct lg_req *r, json_t *e, const struct lg_url *u, unsigned idx,
		     const struct req_opts *o, char *why, size_t whylen)
{
	json_t *v;
	const char *k;
	json_t *hv;

	if (!json_is_object(e)) {
		snprintf(why, whylen, "mix file %s: request %u is not an object", o->mix_file, idx);
		return -EINVAL;
	}
	v = json_object_get(e, "weight");
	if (!v) {
		r->weight = 1;
	} else if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		   json_integer_value(v) <= 1000000) {
		r->weight = (uint64_t)json_integer_value(v);
	} else {
		snprintf(why, whylen,
			 "mix file %s: request %u: weight must be an integer 0..1000000",
			 o->mix_file, idx);
		return -EINVAL;
	}
	v = json_object_get(e, "method");
	r->method = strdup(v && json_is_string(v) ? json_string_value(v) : "GET");
	v = json_object_get(e, "path");
	if (v && !json_is_string(v)) {
		snprintf(why, whylen, "mix file %s: request %u: path must be a string", o->mix_file,
			 idx);
		return -EINVAL;
	}
	r->path = strdup(v ? json_string_value(v) : u->path);
	if (!r->method || !r->path)
		return -ENOMEM;
	if (!token_ok(r->method, strlen(r->method)) || r->path[0] != '/' ||
	    strpbrk(r->path, " \r\n\t")) {
		snprintf(why, whylen,
			 "mix file %s: request %u: bad method or path (path starts with /)",
			 o->mix_file, idx);
		return -EINVAL;
	}
	v = json_object_get(e, "headers");
	if (v && !json_is_object(v)) {
		snprintf(why, whylen, "mix file %s: request %u: headers must be an object",
			 o->mix_file, idx);
		return -EINVAL;
	}
	json_object_foreach(v, k, hv)
	{
		char line[1024];

		if (!json_is_string(hv) ||
		    snprintf(line, sizeof(line), "%s: %s", k, json_string_value(hv)) >=
			(int)sizeof(line) ||
		    !header_ok(line)) {
			snprintf(why, whylen, "mix file %s: request %u: bad header '%s'",
				 o->mix_file, idx, k);
			return -EINVAL;
		}
		if (add_hdr(r, line))
			return -ENOMEM;
	}
	v = json_object_get(e, "body");
	if (v) {
		if (!json_is_string(v)) {
			snprintf(why, whylen, "mix file %s: request %u: body must be a string",
				 o->mix_file, idx);
			return -EINVAL;
		}
		r->body_len = json_string_length(v);
		r->body = malloc(r->body_len + 1);
		if (!r->body)
			return -ENOMEM;
		memcpy(r->body, json_string_value(v), r->body_len + 1);
	}
	v = json_object_get(e, "expect");
	if (v) {
		json_t *one;
		size_t i;

		if (json_is_integer(v)) {
			r->expect[r->nexpect++] = (uint16_t)json_integer_value(v);
			if (json_integer_value(v) < 100 || json_integer_value(v) > 599)
				goto bad_expect;
		} else if (json_is_array(v) && json_array_size(v) &&
			   json_array_size(v) <= REQ_MAX_EXPECT) {
			json_array_foreach(v, i, one)
			{
				if (!json_is_integer(one) || json_integer_value(one) < 100 ||
				    json_integer_value(one) > 599)
					goto bad_expect;
				r->expect[r->nexpect++] = (uint16_t)json_integer_value(one);
			}
		} else {
			goto bad_expect;
		}
	}
	v = json_object_get(e, "idempotency");
	if (v) {
		if (!json_is_string(v) ||
		    !token_ok(json_string_value(v), strlen(json_string_value(v))) ||
		    strlen(json_string_value(v)) > 64) {
			snprintf(why, whylen,
				 "mix file %s: request %u: idempotency must name a header (e.g. "
				 "\"Idempotency-Key\")",
				 o->mix_file, idx);
			return -EINVAL;
		}
		r->idem_header = strdup(json_string_value(v));
		if (!r->idem_header)
			return -ENOMEM;
	}
	return 0;
bad_expect:
	snprintf(why, whylen,
		 "mix file %s: request %u: expect must be a status 100..599 or a list of up to %d",
		 o->mix_file, idx, REQ_MAX_EXPECT);
	return -EINVAL;
}

static int load_mix(struct lg_reqs *rs, const struct lg_url *u, const struct req_opts *o, char *why,
		    size_t whylen)
{
	json_error_t jerr;
	json_t *root, *arr;
	size_t i;
	int err = 0;

	root = json_load_file(o->mix_file, 0, &jerr);
	if (!root) {
		if (jerr.line <= 0)
			snprintf(why, whylen, "cannot read mix file %s: %s", o->mix_file,
				 jerr.text);
		else
			snprintf(why, whylen, "mix file %s line %d: %s", o->mix_file, jerr.line,
				 jerr.text);
		return -EINVAL;
	}
	arr = json_is_array(root) ? root : json_object_get(root, "requests");
	if (!json_is_array(arr) || !json_array_size(arr) || json_array_size(arr) > 65535) {
		snprintf(why, whylen,
			 "mix file %s: needs a non-empty \"requests\" array (at most 65535)",
			 o->mix_file);
		err = -EINVAL;
		goto cleanup;
	}
	rs->r = calloc(json_array_size(arr), sizeof(*rs->r));
	if (!rs->r) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		rs->n++;
		err = mix_entry(&rs->r[i], json_array_get(arr, i), u, (unsigned)i, o, why, whylen);
		if (err)
			goto cleanup;
		rs->total_weight += rs->r[i].weight;
	}
	if (!rs->total_weight) {
		snprintf(why, whylen, "mix file %s: weights sum to 0: nothing to send",
			 o->mix_file);
		err = -EINVAL;
	}
cleanup:
	json_decref(root);
	return err;
}

int reqs_build(struct lg_reqs *rs, const struct lg_url *u, const struct req_opts *o, char *why,
	       size_t whylen)
{
	unsigned i, j;
	int err;

	memset(rs, 0, sizeof(*rs));
	snprintf(why, whylen, "out of memory");
	if (!token_ok(o->id_header, strlen(o->id_header)) || strlen(o->id_header) >= 64) {
		snprintf(why, whylen, "bad --id-header '%s': must be a header name", o->id_header);
		return -EINVAL;
	}
	strcpy(rs->id_header, o->id_header);
	for (i = 0; i < o->nhdrs; i++) {
		if (!header_ok(o->hdrs[i])) {
			snprintf(why, whylen, "bad header '%s': expected 'Name: value'",
				 o->hdrs[i]);
			return -EINVAL;
		}
	}
	if (o->mix_file) {
		err = load_mix(rs, u, o, why, whylen);
		if (err)
			goto fail;
	} else {
		rs->r = calloc(1, sizeof(*rs->r));
		if (!rs->r)
			return -ENOMEM;
		rs->n = 1;
		rs->total_weight = 1;
		rs->r[0].weight = 1;
		rs->r[0].method = strdup(o->method ? o->method : "GET");
		rs->r[0].path = strdup(u->path);
		if (!rs->r[0].method || !rs->r[0].path) {
			err = -ENOMEM;
			goto fail;
		}
		if (!token_ok(rs->r[0].method, strlen(rs->r[0].method))) {
			snprintf(why, whylen, "bad method '%s'", rs->r[0].method);
			err = -EINVAL;
			goto fail;
		}
		if (o->body_file) {
			err = read_file(o->body_file, &rs->r[0].body, &rs->r[0].body_len);
			if (err) {
				snprintf(why, whylen, "cannot read body file %s: %s", o->body_file,
					 strerror(-err));
				goto fail;
			}
		}
	}
	for (i = 0; i < rs->n; i++) {
		struct lg_req *r = &rs->r[i];

		/* -H applies to every request, before the mix's own headers */
		for (j = 0; j < o->nhdrs; j++) {
			err = add_hdr(r, o->hdrs[j]);
			if (err)
				goto fail;
		}
		r->is_head = !strcmp(r->method, "HEAD");
		err = build_head(r, u, rs->id_header);
		if (err)
			goto fail;
	}
	return 0;
fail:
	reqs_free(rs);
	return err;
}

void reqs_free(struct lg_reqs *rs)
{
	unsigned i, j;

	for (i = 0; rs->r && i < rs->n; i++) {
		struct lg_req *r = &rs->r[i];

		free(r->method);
		free(r->path);
		free(r->head);
		free(r->body);
		free(r->idem_header);
		for (j = 0; j < r->nhdrs; j++)
			free(r->hdrs[j]);
		free(r->hdrs);
	}
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

unsigned reqs_pick(const struct lg_reqs *rs, uint64_t rnd)
{
	uint64_t x;
	unsigned i;

	if (rs->n == 1)
		return 0;
	x = rnd % rs->total_weight;
	for (i = 0; i < rs->n; i++) {
		if (x < rs->r[i].weight)
			return i;
		x -= rs->r[i].weight;
	}
	return rs->n - 1;
}

bool req_status_ok(const struct lg_req *r, unsigned status)
{
	unsigned i;

	if (!r->nexpect)
		return status >= 200 && status < 400;
	for (i = 0; i < r->nexpect; i++)
		if (r->expect[i] == status)
			return true;
	return false;
}

size_t req_var(const struct lg_reqs *rs, const struct lg_req *r, char *var, const char *id,
	       const char *idem_key)
{
	size_t n = strlen(id);

	(void)rs;
	if (idem_key && r->idem_header)
		return (size_t)snprintf(var, REQ_VAR_MAX, "%s\r\n%s: %s\r\n\r\n", id,
					r->idem_header, idem_key);
	/* the common case, without printf */
	memcpy(var, id, n);
	memcpy(var + n, "\r\n\r\n", 5);
	return n + 4;
}
