// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "lg_http.h"

enum {
	S_VER,	   /* "HTTP/1." */
	S_MINOR,   /* one digit */
	S_SP1,	   /* ' ' */
	S_STATUS,  /* three digits */
	S_SP2,	   /* ' ' or end of line */
	S_REASON,  /* up to CR/LF */
	S_LINE_LF, /* LF that ends the status line */
	S_HSTART,  /* start of a header line, or the blank line */
	S_HNAME,
	S_HLWS, /* spaces after ':' */
	S_HVAL,
	S_HVAL_LF,
	S_HEND_LF,  /* LF of the blank line */
	S_BODY_LEN, /* Content-Length bytes */
	S_BODY_EOF, /* until the peer closes */
	S_CSIZE,    /* chunk size, hex */
	S_CEXT,	    /* chunk extension, skipped */
	S_CSIZE_LF,
	S_CDATA,
	S_CDATA_CR,
	S_CDATA_LF,
	S_TSTART, /* trailer line or the final blank line */
	S_TLINE,
	S_TEND_LF,
	S_DONE,
};

enum { H_OTHER, H_CLEN, H_TE, H_CONN, H_CLEN_END };

static const char ver[] = "HTTP/1.";

void http_resp_init(struct http_resp *r, bool head)
{
	memset(r, 0, sizeof(*r));
	r->head = head;
	r->state = S_VER;
}

bool http_resp_started(const struct http_resp *r)
{
	return r->state > S_LINE_LF;
}

/* RFC 9110 token characters */
#define T1(c) ((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z')
#define T2(c)                                                                                      \
	(c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' || (c) == '\'' ||       \
	    (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_' ||    \
	    (c) == '`' || (c) == '|' || (c) == '~'
#define T(c)   (T1(c) || T2(c))
#define R4(b)  T(b), T(b + 1), T(b + 2), T(b + 3)
#define R16(b) R4(b), R4(b + 4), R4(b + 8), R4(b + 12)
static const bool tchar[256] = {R16(0),	  R16(16),  R16(32),  R16(48),	R16(64),  R16(80),
				R16(96),  R16(112), R16(128), R16(144), R16(160), R16(176),
				R16(192), R16(208), R16(224), R16(240)};

static inline bool is_tchar(unsigned char c)
{
	return tchar[c];
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Case-insensitive: does the list value v contain the token t? */
static bool has_token(const char *v, size_t vlen, const char *t)
{
	size_t tl = strlen(t), i = 0;

	while (i < vlen) {
		size_t s, e;

		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < vlen && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && !strncasecmp(v + s, t, tl))
			return true;
	}
	return false;
}

static int end_header(struct http_resp *r)
{
	size_t n = r->vlen;

	/* trailing whitespace is not part of the value */
	while (n && (r->val[n - 1] == ' ' || r->val[n - 1] == '\t'))
		n--;
	switch (r->hdr) {
	case H_TE:
		/* only "chunked" as the last coding is ours to read */
		if (n >= 7 && !strncasecmp(r->val + n - 7, "chunked", 7))
			r->chunked = true;
		else
			return -EBADMSG;
		break;
	case H_CONN:
		if (has_token(r->val, n, "close"))
			r->keep_alive = false;
		else if (has_token(r->val, n, "keep-alive"))
			r->keep_alive = true;
		break;
	}
	return 0;
}

static int headers_done(struct http_resp *r)
{
	if (r->status < 200) {
		/* 1xx: an interim response, the real one follows */
		uint32_t hb = r->hbytes;
		bool head = r->head;

		http_resp_init(r, head);
		r->hbytes = hb;
		return 0;
	}
	if (r->head || r->status == 204 || r->status == 304) {
		r->state = S_DONE;
	} else if (r->chunked) {
		r->state = S_CSIZE;
		r->left = 0;
		r->pos = 0;
	} else if (r->has_len) {
		r->left = r->clen;
		r->state = r->left ? S_BODY_LEN : S_DONE;
	} else {
		r->keep_alive = false;
		r->state = S_BODY_EOF;
	}
	return 0;
}

int http_resp_feed(struct http_resp *r, const char *buf, size_t len, size_t *used)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;
	int err = 0;

	while (p < end && r->state != S_DONE) {
		unsigned char c = *p;

		/* bulk states first: they do not count as header bytes */
		switch (r->state) {
		case S_BODY_LEN:
		case S_CDATA: {
			uint64_t n = (uint64_t)(end - p);

			if (n > r->left)
				n = r->left;
			p += n;
			r->left -= n;
			r->body += n;
			if (!r->left)
				r->state = r->state == S_BODY_LEN ? S_DONE : S_CDATA_CR;
			continue;
		}
		case S_BODY_EOF:
			r->body += (uint64_t)(end - p);
			p = end;
			continue;
		case S_HNAME: {
			/* the rest of a header name, in one go */
			const unsigned char *q = p;
			size_t n;

			while (q < end && tchar[*q])
				q++;
			n = (size_t)(q - p);
			if (r->hbytes + n > HTTP_MAX_HEADER_BYTES) {
				err = -E2BIG;
				goto out;
			}
			r->hbytes += (uint32_t)n;
			if (r->nlen + n <= sizeof(r->name)) {
				memcpy(r->name + r->nlen, p, n);
				r->nlen += (uint8_t)n;
			} else {
				r->nlen = sizeof(r->name) + 1; /* too long to be one of ours */
			}
			p = q;
			if (p == end)
				continue;
			c = *p;
			break;
		}
		case S_REASON:
		case S_HVAL:
			/* the bytes nobody reads: jump to the end of the line */
			if (r->state == S_HVAL && r->hdr != H_OTHER)
				break;
			{
				const unsigned char *q = p;
				size_t n;

				while (q < end && *q != '\r' && *q != '\n' &&
				       (*q >= ' ' || *q == '\t'))
					q++;
				n = (size_t)(q - p);
				if (r->hbytes + n > HTTP_MAX_HEADER_BYTES) {
					err = -E2BIG;
					goto out;
				}
				r->hbytes += (uint32_t)n;
				p = q;
				if (p == end)
					continue;
				c = *p;
			}
			break;
		}

		if (++r->hbytes > HTTP_MAX_HEADER_BYTES) {
			err = -E2BIG;
			goto out;
		}
		p++;
		switch (r->state) {
		case S_VER:
			if (c != (unsigned char)ver[r->pos])
				goto bad;
			if (++r->pos == sizeof(ver) - 1)
				r->state = S_MINOR;
			break;
		case S_MINOR:
			if (c < '0' || c > '9')
				goto bad;
			r->minor = c - '0';
			r->keep_alive = r->minor >= 1;
			r->state = S_SP1;
			break;
		case S_SP1:
			if (c != ' ')
				goto bad;
			r->state = S_STATUS;
			r->pos = 0;
			break;
		case S_STATUS:
			if (c < '0' || c > '9')
				goto bad;
			r->status = r->status * 10 + (c - '0');
			if (++r->pos == 3) {
				if (r->status < 100)
					goto bad;
				r->state = S_SP2;
			}
			break;
		case S_SP2:
			if (c == ' ')
				r->state = S_REASON;
			else if (c == '\r')
				r->state = S_LINE_LF;
			else if (c == '\n')
				r->state = S_HSTART;
			else
				goto bad;
			break;
		case S_REASON:
			if (c == '\r')
				r->state = S_LINE_LF;
			else if (c == '\n')
				r->state = S_HSTART;
			else if (c < ' ' && c != '\t')
				goto bad;
			break;
		case S_LINE_LF:
		case S_HVAL_LF:
			if (c != '\n')
				goto bad;
			r->state = S_HSTART;
			break;
		case S_HSTART:
			if (c == '\r') {
				r->state = S_HEND_LF;
			} else if (c == '\n') {
				if (headers_done(r))
					goto bad;
			} else if (is_tchar(c)) {
				r->name[0] = (char)c;
				r->nlen = 1;
				r->vlen = 0;
				r->state = S_HNAME;
			} else {
				goto bad; /* includes obsolete line folding */
			}
			break;
		case S_HNAME:
			if (c == ':') {
				r->hdr = H_OTHER;
				if (r->nlen == 14 && !strncasecmp(r->name, "content-length", 14))
					r->hdr = H_CLEN;
				else if (r->nlen == 17 &&
					 !strncasecmp(r->name, "transfer-encoding", 17))
					r->hdr = H_TE;
				else if (r->nlen == 10 && !strncasecmp(r->name, "connection", 10))
					r->hdr = H_CONN;
				if (r->hdr == H_CLEN) {
					if (r->has_len)
						goto bad; /* a second Content-Length */
					r->has_len = true;
					r->clen = 0;
				}
				r->state = S_HLWS;
			} else {
				goto bad; /* not a token character (those went in bulk above) */
			}
			break;
		case S_HLWS:
			if (c == ' ' || c == '\t')
				break;
			r->state = S_HVAL;
			/* fall through */
		case S_HVAL:
			if (c == '\r' || c == '\n') {
				if (r->hdr == H_CLEN && !r->vlen)
					goto bad; /* empty Content-Length */
				if (end_header(r))
					goto bad;
				r->state = c == '\r' ? S_HVAL_LF : S_HSTART;
				break;
			}
			if (c < ' ' && c != '\t')
				goto bad;
			if (r->hdr == H_CLEN) {
				if (c == ' ' || c == '\t') {
					r->hdr =
					    H_CLEN_END; /* digits done: only spaces may follow */
					break;
				}
				if (c < '0' || c > '9' || r->clen > (UINT64_MAX - 9) / 10)
					goto bad;
				r->clen = r->clen * 10 + (c - '0');
				r->vlen = 1;
			} else if (r->hdr == H_CLEN_END) {
				if (c != ' ' && c != '\t')
					goto bad;
			} else if (r->hdr != H_OTHER) {
				if (r->vlen < sizeof(r->val)) {
					r->val[r->vlen++] = (char)c;
				} else if (r->hdr == H_TE) {
					/* keep the tail: the last coding is what counts */
					memmove(r->val, r->val + 1, sizeof(r->val) - 1);
					r->val[sizeof(r->val) - 1] = (char)c;
				}
			}
			break;
		case S_HEND_LF:
			if (c != '\n' || headers_done(r))
				goto bad;
			break;
		case S_CSIZE:
		case S_CEXT: {
			int h = hexval(c);

			if (r->state == S_CSIZE && h >= 0) {
				if (r->left > (UINT64_MAX >> 4))
					goto bad;
				r->left = (r->left << 4) | (uint64_t)h;
				r->pos = 1;
				break;
			}
			if (!r->pos)
				goto bad; /* no digits */
			if (c == '\r') {
				r->state = S_CSIZE_LF;
			} else if (c == '\n') {
				r->state = r->left ? S_CDATA : S_TSTART;
			} else if (c == ';' || c == ' ' || c == '\t' || r->state == S_CEXT) {
				if (c < ' ' && c != '\t')
					goto bad;
				r->state = S_CEXT;
			} else {
				goto bad;
			}
			break;
		}
		case S_CSIZE_LF:
			if (c != '\n')
				goto bad;
			r->state = r->left ? S_CDATA : S_TSTART;
			break;
		case S_CDATA_CR:
			if (c == '\n') {
				r->state = S_CSIZE;
				r->pos = 0;
				break;
			}
			if (c != '\r')
				goto bad;
			r->state = S_CDATA_LF;
			break;
		case S_CDATA_LF:
			if (c != '\n')
				goto bad;
			r->state = S_CSIZE;
			r->pos = 0;
			break;
		case S_TSTART:
			if (c == '\r')
				r->state = S_TEND_LF;
			else if (c == '\n')
				r->state = S_DONE;
			else if (c < ' ' && c != '\t')
				goto bad;
			else
				r->state = S_TLINE;
			break;
		case S_TLINE:
			if (c == '\n')
				r->state = S_TSTART;
			else if (c < ' ' && c != '\t' && c != '\r')
				goto bad;
			break;
		case S_TEND_LF:
			if (c != '\n')
				goto bad;
			r->state = S_DONE;
			break;
		default:
			goto bad;
		}
	}
out:
	*used = (size_t)(p - (const unsigned char *)buf);
	if (err)
		return err;
	return r->state == S_DONE;
bad:
	err = -EBADMSG;
	goto out;
}

int http_resp_eof(const struct http_resp *r)
{
	if (r->state == S_BODY_EOF || r->state == S_DONE)
		return 1;
	return -EPIPE;
}
