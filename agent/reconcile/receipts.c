// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Receipts: what the service says it received, one request id per record
 * (docs/reconcile.md). Three sources, all streamed line by line:
 *   nginx:PATH   an access log with
 *                log_format faultline '$msec $http_x_request_id $status $request_time';
 *                or, for a proxy, the same followed by
 *                '$upstream_addr $upstream_status $upstream_connect_time'
 *                (nginx lists each upstream it tried, ", "-separated: the last
 *                is the one that answered or failed last)
 *   ndjson:PATH  one JSON object per line: "id" (string, required), "status"
 *                (integer), "ts" (wall seconds), "key" (idempotency key of an effect the service
 *                performed; with "effect": false the key is not counted),
 *                "upstream" ("addr:port" of the upstream it called, or
 *                {"addr": "addr:port", "status": 504})
 *   csv          a header line naming the columns (id, status, key, ts,
 *                upstream, upstream_status; others ignored), then one row per
 *                receipt; fields may be double-quoted ("" for a quote)
 * The sources (files, URLs, commands, PostgreSQL) are receipts_src.c and
 * receipts_pg.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>
#include <zlib.h>
#include "receipts_int.h"

/* hex digit values + 1; 0 for anything else */
static const unsigned char hexv[256] = {
    ['0'] = 1,	['1'] = 2,  ['2'] = 3,	['3'] = 4,  ['4'] = 5,	['5'] = 6,  ['6'] = 7,	['7'] = 8,
    ['8'] = 9,	['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

int rc_parse_req_id(const char *s, size_t len, uint64_t *run_id, uint32_t *instance, uint64_t *seq)
{
	uint64_t r = 0, q = 0, in = 0;
	size_t i, start;

	if (len < 16 + 4 || s[16] != '-')
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		unsigned v = hexv[(unsigned char)s[i]];

		if (!v)
			return -EINVAL;
		r = r << 4 | (v - 1);
	}
	start = i = 17;
	while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 10)
		in = in * 10 + (uint64_t)(s[i++] - '0');
	if (i == start || i >= len || s[i] != '-' || in > UINT32_MAX)
		return -EINVAL;
	start = ++i;
	while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 20) {
		uint64_t d = (uint64_t)(s[i++] - '0');

		if (q > (UINT64_MAX - d) / 10)
			return -EINVAL;
		q = q * 10 + d;
	}
	if (i == start || i != len)
		return -EINVAL;
	*run_id = r;
	*instance = (uint32_t)in;
	*seq = q;
	return 0;
}

/* "1790000000.123" -> ns; 0 when it is not a time */
static uint64_t parse_msec(const char *s, size_t n)
{
	uint64_t sec = 0, frac = 0, scale = 1000000000ULL;
	size_t i = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9' && i < 10) /* seconds: 10 digits fit in ns */
		sec = sec * 10 + (uint64_t)(s[i++] - '0');
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(s[i] - '0') * scale;
			}
		}
	}
	return i == n ? sec * 1000000000ULL + frac : 0;
}

/* The common case in one pass: "<digits>.<digits> <16 hex>-<digits>-<digits>
 * <3 digits> ...", single spaces. 1 done (cb's result in *ret), 0: not that
 * simple, take the general path. */
static int nginx_fast(struct lp *p, const char *s, size_t len, int *ret)
{
	const char *e = s + len, *q = s, *id;
	uint64_t sec = 0, frac = 0, scale = 1000000000ULL, run = 0, seq = 0, in = 0;
	struct rc_receipt r = {0};
	int k;

	while (q < e && *q >= '0' && *q <= '9')
		sec = sec * 10 + (uint64_t)(*q++ - '0');
	if (q == s || q - s > 10 || q >= e || *q != '.')
		return 0;
	for (q++; q < e && *q >= '0' && *q <= '9'; q++)
		if (scale > 1) {
			scale /= 10;
			frac += (uint64_t)(*q - '0') * scale;
		}
	if (e - q < 1 + 16 + 4 + 4 || *q++ != ' ')
		return 0;
	id = q;
	for (k = 0; k < 16; k++) {
		unsigned v = hexv[(unsigned char)q[k]];

		if (!v)
			return 0;
		run = run << 4 | (v - 1);
	}
	q += 16;
	if (*q++ != '-')
		return 0;
	for (k = 0; q < e && *q >= '0' && *q <= '9' && k < 10; k++)
		in = in * 10 + (uint64_t)(*q++ - '0');
	if (!k || q >= e || *q++ != '-' || in > UINT32_MAX)
		return 0;
	for (k = 0; q < e && *q >= '0' && *q <= '9' && k < 19; k++)
		seq = seq * 10 + (uint64_t)(*q++ - '0');
	if (!k || e - q < 4 || *q != ' ')
		return 0;
	r.id = id;
	r.id_len = (size_t)(q - id);
	q++;
	if (q[0] < '0' || q[0] > '9' || q[1] < '0' || q[1] > '9' || q[2] < '0' || q[2] > '9' ||
	    (q + 3 < e && q[3] != ' '))
		return 0;
	r.status = (q[0] - '0') * 100 + (q[1] - '0') * 10 + (q[2] - '0');
	/* upstream fields after $request_time: the general path */
	for (q += 3; q < e && *q == ' '; q++)
		;
	while (q < e && *q != ' ')
		q++;
	while (q < e && *q == ' ')
		q++;
	if (q < e)
		return 0;
	r.ts_ns = sec * 1000000000ULL + frac;
	r.parsed = true;
	r.run_id = run;
	r.instance = (uint32_t)in;
	r.seq = seq;
	*ret = p->cb(&r, p->arg);
	return 1;
}

/* The last of an nginx list ("a, b, c" spread over tokens i..): its token,
 * and the index of the token after the list. */
static int nginx_last(const char *const *tok, const size_t *tlen, int i, int n, const char **v,
		      size_t *vlen)
{
	*v = NULL;
	*vlen = 0;
	while (i < n) {
		*v = tok[i];
		*vlen = tlen[i];
		if (!*vlen || (*v)[*vlen - 1] != ',')
			return i + 1;
		(*vlen)--; /* "a," then "b" */
		i++;
	}
	return i;
}

/* "$msec $http_x_request_id $status $request_time [$upstream_addr
 * $upstream_status $upstream_connect_time]" */
static int nginx_line(struct lp *p, const char *s, size_t len)
{
	struct rc_receipt r = {0};
	const char *tok[32], *e = s + len;
	size_t tlen[32];
	int n = 0, st = 0, ret;

	if (nginx_fast(p, s, len, &ret))
		return ret;
	while (s < e && n < 32) {
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s >= e)
			break;
		tok[n] = s;
		while (s < e && *s != ' ' && *s != '\t')
			s++;
		tlen[n] = (size_t)(s - tok[n]);
		n++;
	}
	if (n == 0)
		return 0; /* blank line */
	if (n < 3) {
		snprintf(p->err, p->errlen,
			 "%s line %llu: not the faultline log_format ('$msec $http_x_request_id "
			 "$status $request_time'; see docs/reconcile.md)",
			 p->what, (unsigned long long)p->line);
		return -EINVAL;
	}
	for (size_t i = 0; i < tlen[2]; i++) {
		if (tok[2][i] < '0' || tok[2][i] > '9' || i >= 3) {
			st = -1;
			break;
		}
		st = st * 10 + (tok[2][i] - '0');
	}
	if (st < 0 || !tlen[2]) {
		snprintf(p->err, p->errlen,
			 "%s line %llu: bad status '%.*s' (expected the faultline log_format, "
			 "see docs/reconcile.md)",
			 p->what, (unsigned long long)p->line, (int)(tlen[2] > 32 ? 32 : tlen[2]),
			 tok[2]);
		return -EINVAL;
	}
	r.status = st;
	r.ts_ns = parse_msec(tok[0], tlen[0]);
	r.id = tok[1];
	r.id_len = tlen[1];
	if (r.id_len == 1 && r.id[0] == '-')
		r.id_len = 0;
	if (n > 4) {
		const char *v;
		size_t vlen;
		int next = nginx_last(tok, tlen, 4, n, &v, &vlen);

		if (vlen && !(vlen == 1 && v[0] == '-')) {
			r.upstream = v;
			r.upstream_len = vlen;
		}
		nginx_last(tok, tlen, next, n, &v, &vlen);
		for (size_t i = 0; i < vlen && i < 3 && v[i] >= '0' && v[i] <= '9'; i++)
			r.upstream_status = r.upstream_status * 10 + (v[i] - '0');
	}
	return p->cb(&r, p->arg);
}

static int ndjson_line(struct lp *p, const char *s, size_t len)
{
	struct rc_receipt r = {0};
	json_error_t jerr;
	json_t *j, *v;
	size_t i;
	int err;

	for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'); i++)
		;
	if (i == len)
		return 0;
	j = json_loadb(s, len, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!j || !json_is_object(j)) {
		snprintf(p->err, p->errlen, "%s line %llu: not a JSON object (%s)", p->what,
			 (unsigned long long)p->line, j ? "another JSON value" : jerr.text);
		json_decref(j);
		return -EINVAL;
	}
	v = json_object_get(j, "id");
	if (json_is_string(v)) {
		r.id = json_string_value(v);
		r.id_len = json_string_length(v);
	} else if (v && !json_is_null(v)) {
		snprintf(p->err, p->errlen, "%s line %llu: \"id\" must be a string", p->what,
			 (unsigned long long)p->line);
		err = -EINVAL;
		goto out;
	}
	v = json_object_get(j, "status");
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 999)
		r.status = (int)json_integer_value(v);
	else if (v && !json_is_null(v)) {
		snprintf(p->err, p->errlen,
			 "%s line %llu: \"status\" must be an HTTP status (0-999)", p->what,
			 (unsigned long long)p->line);
		err = -EINVAL;
		goto out;
	}
	v = json_object_get(j, "ts");
	if (json_is_number(v) && json_number_value(v) > 0 && json_number_value(v) < 1e10)
		r.ts_ns = (uint64_t)(json_number_value(v) * 1e9); /* else not a time */
	v = json_object_get(j, "key");
	/* "effect": false: the service saw the key and did nothing (it had
	 * done it before); only the receipts that did something count. */
	if (json_is_false(json_object_get(j, "effect")))
		v = NULL;
	if (json_is_string(v)) {
		r.key = json_string_value(v);
		r.key_len = json_string_length(v);
	} else if (v && !json_is_null(v)) {
		snprintf(p->err, p->errlen, "%s line %llu: \"key\" must be a string", p->what,
			 (unsigned long long)p->line);
		err = -EINVAL;
		goto out;
	}
	v = json_object_get(j, "upstream");
	if (json_is_object(v)) {
		json_t *st = json_object_get(v, "status");

		if (json_is_integer(st) && json_integer_value(st) > 0 &&
		    json_integer_value(st) <= 999)
			r.upstream_status = (int)json_integer_value(st);
		v = json_object_get(v, "addr");
	}
	if (json_is_string(v)) {
		r.upstream = json_string_value(v);
		r.upstream_len = json_string_length(v);
	} else if (v && !json_is_null(v)) {
		snprintf(p->err, p->errlen,
			 "%s line %llu: \"upstream\" must be \"addr:port\" or {\"addr\": "
			 "\"addr:port\", \"status\": N}",
			 p->what, (unsigned long long)p->line);
		err = -EINVAL;
		goto out;
	}
	err = p->cb(&r, p->arg);
out:
	json_decref(j);
	return err;
}

/* The fields of one CSV line: f[i], n[i]; quoted fields unescaped into
 * buf. Returns the number of fields, or -1 when a quote is not closed or
 * buf is too small. */
static int csv_split(const char *s, size_t len, const char **f, size_t *n, int max, char *buf,
		     size_t cap)
{
	const char *e = s + len;
	size_t used = 0;
	int k = 0;

	for (;;) {
		if (k == max)
			return k;
		if (s < e && *s == '"') {
			char *d = buf + used;

			for (s++;; s++) {
				if (s >= e)
					return -1;
				if (*s == '"') {
					if (s + 1 < e && s[1] == '"')
						s++;
					else
						break;
				}
				if (used >= cap)
					return -1;
				buf[used++] = *s;
			}
			f[k] = d;
			n[k] = (size_t)(buf + used - d);
			s++; /* the closing quote */
			while (s < e && *s != ',')
				s++;
		} else {
			const char *c = memchr(s, ',', (size_t)(e - s));

			f[k] = s;
			n[k] = (size_t)((c ? c : e) - s);
			s = c ? c : e;
		}
		k++;
		if (s >= e)
			return k;
		s++; /* the comma */
	}
}

static bool field_is(const char *f, size_t n, const char *name)
{
	while (n && (*f == ' ' || *f == '\t')) {
		f++;
		n--;
	}
	while (n && (f[n - 1] == ' ' || f[n - 1] == '\t'))
		n--;
	return n == strlen(name) && !strncasecmp(f, name, n);
}

int rc_csv_header(struct lp *p, const char *s, size_t len)
{
	const char *f[CSV_MAX_COLS];
	size_t n[CSV_MAX_COLS];
	char buf[1024];
	int k = csv_split(s, len, f, n, CSV_MAX_COLS, buf, sizeof(buf));

	p->col_id = p->col_status = p->col_key = p->col_ts = p->col_upstream =
	    p->col_upstream_status = -1;
	for (int i = 0; i < k; i++) {
		if (field_is(f[i], n[i], "id"))
			p->col_id = i;
		else if (field_is(f[i], n[i], "status"))
			p->col_status = i;
		else if (field_is(f[i], n[i], "key"))
			p->col_key = i;
		else if (field_is(f[i], n[i], "ts"))
			p->col_ts = i;
		else if (field_is(f[i], n[i], "upstream"))
			p->col_upstream = i;
		else if (field_is(f[i], n[i], "upstream_status"))
			p->col_upstream_status = i;
	}
	if (p->col_id < 0) {
		snprintf(p->err, p->errlen,
			 "%s line %llu: a CSV header must name an \"id\" column (and status, key, "
			 "ts, upstream, upstream_status if there are)",
			 p->what, (unsigned long long)p->line);
		return -EINVAL;
	}
	p->fmt = FMT_CSV;
	return 0;
}

static int csv_int(const char *s, size_t n, int *v)
{
	*v = 0;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 3)
			return -EINVAL;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static int csv_line(struct lp *p, const char *s, size_t len)
{
	const char *f[CSV_MAX_COLS];
	size_t n[CSV_MAX_COLS];
	char buf[4096];
	struct rc_receipt r = {0};
	int k;

	if (!len)
		return 0;
	k = csv_split(s, len, f, n, CSV_MAX_COLS, buf, sizeof(buf));
	if (k < 0) {
		snprintf(p->err, p->errlen, "%s line %llu: a quoted field that does not end",
			 p->what, (unsigned long long)p->line);
		return -EINVAL;
	}
#define COL(c) ((c) >= 0 && (c) < k)
	if (COL(p->col_id)) {
		r.id = f[p->col_id];
		r.id_len = n[p->col_id];
	}
	if (COL(p->col_status) && csv_int(f[p->col_status], n[p->col_status], &r.status)) {
		snprintf(p->err, p->errlen, "%s line %llu: status '%.*s' is not an HTTP status",
			 p->what, (unsigned long long)p->line,
			 (int)(n[p->col_status] > 32 ? 32 : n[p->col_status]), f[p->col_status]);
		return -EINVAL;
	}
	if (COL(p->col_key) && n[p->col_key]) {
		r.key = f[p->col_key];
		r.key_len = n[p->col_key];
	}
	if (COL(p->col_upstream) && n[p->col_upstream] &&
	    !(n[p->col_upstream] == 1 && f[p->col_upstream][0] == '-')) {
		r.upstream = f[p->col_upstream];
		r.upstream_len = n[p->col_upstream];
	}
	if (COL(p->col_upstream_status))
		csv_int(f[p->col_upstream_status], n[p->col_upstream_status], &r.upstream_status);
#undef COL
	return p->cb(&r, p->arg);
}

int rc_one_line(struct lp *p, const char *s, size_t len)
{
	p->line++;
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (p->fmt == FMT_AUTO) {
		size_t i = 0;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			return 0;
		if (s[i] == '{')
			p->fmt = FMT_NDJSON;
		else
			return rc_csv_header(p, s, len);
	}
	switch (p->fmt) {
	case FMT_NGINX:
		return nginx_line(p, s, len);
	case FMT_CSV:
		return csv_line(p, s, len);
	default:
		return ndjson_line(p, s, len);
	}
}

int rc_receipts_parse(const char *format, const char *buf, size_t len, rc_receipt_cb cb, void *arg,
		      char *err, size_t errlen)
{
	struct lp p = {.what = "receipts", .cb = cb, .arg = arg, .err = err, .errlen = errlen};
	const char *s = buf, *e = buf + len;
	int ret = 0;

	err[0] = '\0';
	if (!strcmp(format, "nginx")) {
		p.fmt = FMT_NGINX;
	} else if (!strcmp(format, "ndjson")) {
		p.fmt = FMT_NDJSON;
	} else if (!strcmp(format, "csv") || !strcmp(format, "auto")) {
		p.fmt = FMT_AUTO; /* csv: its first line is the header */
	} else {
		snprintf(err, errlen, "unknown receipts format '%s' (nginx, ndjson or csv)",
			 format);
		return -EINVAL;
	}
	while (s < e && !ret) {
		const char *nl = memchr(s, '\n', (size_t)(e - s));

		if (!nl)
			nl = e;
		ret = rc_one_line(&p, s, (size_t)(nl - s));
		s = nl + 1;
	}
	return ret;
}
