// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "ledger.h"

#define LEDGER_ZLEVEL 1 /* fast; records compress to about a third even so */

struct fl_ledger_reader {
	gzFile gz;
};

struct fl_ledger_writer {
	int fd;
	int err;
	uint64_t bytes;
	pthread_mutex_t lock;
};

int fl_req_id_format(char *buf, size_t len, __u64 run_id, __u32 instance, __u64 seq)
{
	return snprintf(buf, len, "%016llx-%u-%llu", (unsigned long long)run_id, instance,
			(unsigned long long)seq);
}

const char *fl_outcome_name(unsigned outcome)
{
	static const char *const names[FL_OUT_MAX] = {
	    [FL_OUT_OK] = "ok",		  [FL_OUT_STATUS] = "status",
	    [FL_OUT_CONNECT] = "connect", [FL_OUT_RESET] = "reset",
	    [FL_OUT_TIMEOUT] = "timeout", [FL_OUT_PARSE] = "parse",
	    [FL_OUT_EOF] = "eof",	  [FL_OUT_OTHER] = "other",
	    [FL_OUT_UNSENT] = "unsent",	  [FL_OUT_INFLIGHT] = "inflight",
	};

	if (outcome >= FL_OUT_MAX || !names[outcome])
		return "invalid";
	return names[outcome];
}

/* Reads exactly n bytes: 1 done, 0 clean end before any byte, -EIO otherwise. */
static int gz_read_full(gzFile gz, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		int k = gzread(gz, (char *)buf + got, (unsigned)(n - got));

		if (k < 0)
			return -EIO;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	if (got == n)
		return 1;
	return got ? -EIO : 0;
}

int fl_ledger_open(const char *path, struct fl_ledger_reader **out, struct fl_ledger_hdr *hdr)
{
	struct fl_ledger_reader *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->gz = gzopen(path, "rb");
	if (!r->gz) {
		err = errno ? -errno : -ENOMEM;
		goto fail;
	}
	gzbuffer(r->gz, 128 * 1024);
	err = gz_read_full(r->gz, hdr, sizeof(*hdr));
	if (err <= 0) {
		err = -EPROTO;
		goto fail;
	}
	if (memcmp(hdr->magic, FL_LEDGER_MAGIC, 8) || hdr->version != FL_LEDGER_VERSION ||
	    hdr->hdr_size != sizeof(*hdr) || hdr->rec_size != sizeof(struct fl_ledger_rec)) {
		err = -EPROTO;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	if (r->gz)
		gzclose(r->gz);
	free(r);
	return err;
}

int fl_ledger_next(struct fl_ledger_reader *r, struct fl_ledger_rec *rec)
{
	return gz_read_full(r->gz, rec, sizeof(*rec));
}

void fl_ledger_close(struct fl_ledger_reader *r)
{
	if (!r)
		return;
	gzclose(r->gz);
	free(r);
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One gzip member holding n bytes. */
static int append_member(struct fl_ledger_writer *w, const void *data, size_t n)
{
	z_stream z = {0};
	unsigned char *out = NULL;
	uLong bound;
	int err, zr;

	zr = deflateInit2(&z, LEDGER_ZLEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (zr != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&z, (uLong)n) + 64;
	out = malloc(bound);
	if (!out) {
		err = -ENOMEM;
		goto cleanup;
	}
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	zr = deflate(&z, Z_FINISH);
	if (zr != Z_STREAM_END) {
		err = -EIO;
		goto cleanup;
	}
	pthread_mutex_lock(&w->lock);
	err = w->err ? w->err : write_all(w->fd, out, z.total_out);
	if (err && !w->err)
		w->err = err;
	if (!err)
		w->bytes += z.total_out;
	pthread_mutex_unlock(&w->lock);
cleanup:
	deflateEnd(&z);
	free(out);
	return err;
}

int fl_ledger_create(const char *path, const struct fl_ledger_hdr *hdr,
		     struct fl_ledger_writer **out)
{
	struct fl_ledger_writer *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		err = -errno;
		goto fail;
	}
	err = append_member(w, hdr, sizeof(*hdr));
	if (err)
		goto fail;
	*out = w;
	return 0;
fail:
	if (w->fd >= 0)
		close(w->fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return err;
}

int fl_ledger_write(struct fl_ledger_writer *w, const struct fl_ledger_rec *recs, size_t n)
{
	if (!n)
		return 0;
	return append_member(w, recs, n * sizeof(*recs));
}

int fl_ledger_finish(struct fl_ledger_writer *w, uint64_t *bytes)
{
	int err;

	if (!w)
		return 0;
	err = w->err;
	if (fsync(w->fd) && !err && errno != EINVAL)
		err = -errno;
	if (close(w->fd) && !err)
		err = -errno;
	if (bytes)
		*bytes = w->bytes;
	pthread_mutex_destroy(&w->lock);
	free(w);
	return err;
}
