// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Spill files: records hash-partitioned into buckets on anonymous temporary
 * files, read back one bucket at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ledger.h"
#include "rc_int.h"

/* ---- spill files ----
 * One anonymous file per kind of record (O_TMPFILE: nothing to remove, even
 * after a crash). Each bucket fills its own buffer; a full buffer is
 * appended to the file as a chunk, and the bucket's list of chunks is all
 * it takes to read the bucket back. */

int spill_open(struct ctx *c, struct spill *s, unsigned nb)
{
	s->fd = open(c->tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/.reconcile.XXXXXX", c->tmp);
		s->fd = mkostemp(p, O_CLOEXEC);
		if (s->fd >= 0)
			unlink(p);
	}
	if (s->fd < 0) {
		int ret = -errno;

		snprintf(c->err, c->errlen,
			 "cannot create a temporary file in %s: %s (--out or TMPDIR: a writable "
			 "folder with room for about 32 bytes per request)",
			 c->tmp, strerror(errno));
		return ret;
	}
	s->end = 0;
	s->nb = nb;
	s->b = calloc(nb, sizeof(*s->b));
	if (!s->b) {
		close(s->fd);
		s->fd = -1;
		return -ENOMEM;
	}
	return 0;
}

int spill_chunk(struct spill *s, struct sbucket *b)
{
	size_t off = 0;

	if (!b->len)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		void *p = realloc(b->ch, cap * sizeof(*b->ch));

		if (!p)
			return -ENOMEM;
		b->ch = p;
		b->cap = cap;
	}
	while (off < b->len) {
		ssize_t k = pwrite(s->fd, b->buf + off, b->len - off, (off_t)(s->end + off));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)k;
	}
	b->ch[b->n++] = (struct chunk){.off = s->end, .len = (uint32_t)b->len};
	s->end += b->len;
	b->len = 0;
	return 0;
}

/* Writes what the buffers hold and frees them. */
int spill_flush(struct ctx *c, struct spill *s)
{
	int err = 0;

	for (unsigned i = 0; i < s->nb; i++) {
		int e = spill_chunk(s, &s->b[i]);

		if (e && !err)
			err = e;
		free(s->b[i].buf);
		s->b[i].buf = NULL;
	}
	if (err)
		snprintf(c->err, c->errlen, "cannot write temporary files in %s: %s (disk full?)",
			 c->tmp, strerror(-err));
	return err;
}

/* Reads bucket i back: *n records of size sz, in a malloc'd array. */
int spill_read(struct spill *s, unsigned i, size_t sz, void **out, size_t *n)
{
	struct sbucket *b = &s->b[i];
	size_t total = 0, at = 0;
	char *buf;

	*out = NULL;
	*n = 0;
	for (size_t k = 0; k < b->n; k++)
		total += b->ch[k].len;
	buf = malloc(total ? total : 1);
	if (!buf)
		return -ENOMEM;
	for (size_t k = 0; k < b->n; k++) {
		size_t got = 0;

		while (got < b->ch[k].len) {
			ssize_t r = pread(s->fd, buf + at + got, b->ch[k].len - got,
					  (off_t)(b->ch[k].off + got));

			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				free(buf);
				return r < 0 ? -errno : -EIO;
			}
			got += (size_t)r;
		}
		at += got;
	}
	*out = buf;
	*n = total / sz;
	return 0;
}

void spill_close(struct spill *s)
{
	if (s->b) {
		for (unsigned i = 0; i < s->nb; i++) {
			free(s->b[i].buf);
			free(s->b[i].ch);
		}
		free(s->b);
		s->b = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
