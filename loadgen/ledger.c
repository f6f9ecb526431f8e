// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>
#include "ledger.h"

#define LEDGER_ZLEVEL 1 /* fast; records compress to about a third even so */

/* The reader inflates the file one gzip member at a time with libdeflate
 * (whole-buffer, two to three times zlib's speed) from a mapping of the
 * file; where the file cannot be mapped (a pipe) it falls back to zlib's
 * stream. */
struct fl_ledger_reader {
	gzFile gz;		  /* the fallback, else NULL */
	const unsigned char *map; /* the whole file */
	size_t map_len, map_off;  /* and the next member's offset */
	size_t map_dropped; /* pages before this are let go (the resident set stays small) */
	struct libdeflate_decompressor *dd;
	unsigned char *out; /* the current member, inflated */
	size_t out_cap, out_len, out_pos;
	size_t rec_size; /* on disk: sizeof(struct fl_ledger_rec), or less (version 1) */
};

#define MEMBER_MIN_OUT (4u << 20)
#define MEMBER_MAX_OUT (1u << 30)

/* Inflate the next member into r->out: 1 done, 0 at the end, -EIO on a
 * truncated or corrupt member. */
static int next_member(struct fl_ledger_reader *r)
{
	while (r->map_off < r->map_len) {
		size_t in_used = 0, out_used = 0;
		enum libdeflate_result res = libdeflate_gzip_decompress_ex(
		    r->dd, r->map + r->map_off, r->map_len - r->map_off, r->out, r->out_cap,
		    &in_used, &out_used);

		if (res == LIBDEFLATE_INSUFFICIENT_SPACE && r->out_cap < MEMBER_MAX_OUT) {
			unsigned char *o = realloc(r->out, r->out_cap * 2);

			if (!o)
				return -ENOMEM;
			r->out = o;
			r->out_cap *= 2;
			continue;
		}
		if (res != LIBDEFLATE_SUCCESS || !in_used)
			return -EIO;
		r->map_off += in_used;
		/* Mapped pages read once count in the process's resident set
		 * until let go: drop what is behind us every 8 MiB. */
		if (r->map_off - r->map_dropped >= (8u << 20)) {
			size_t to = r->map_off & ~((size_t)sysconf(_SC_PAGESIZE) - 1);

			madvise((void *)(r->map + r->map_dropped), to - r->map_dropped,
				MADV_DONTNEED);
			r->map_dropped = to;
		}
		r->out_len = out_used;
		r->out_pos = 0;
		if (out_used)
			return 1;
	}
	return 0;
}

/* Up to n bytes of the inflated stream: how many, or -EIO. */
static long read_bytes(struct fl_ledger_reader *r, void *dst, size_t n)
{
	size_t got = 0;

	if (r->gz) {
		while (got < n) {
			unsigned chunk = n - got > (1u << 30) ? 1u << 30 : (unsigned)(n - got);
			int k = gzread(r->gz, (char *)dst + got, chunk);

			if (k < 0)
				return -EIO;
			if (k == 0)
				break;
			got += (size_t)k;
		}
		return (long)got;
	}
	while (got < n) {
		size_t k;

		if (r->out_pos == r->out_len) {
			int ret = next_member(r);

			if (ret < 0)
				return ret;
			if (!ret)
				break;
		}
		k = r->out_len - r->out_pos;
		if (k > n - got)
			k = n - got;
		memcpy((char *)dst + got, r->out + r->out_pos, k);
		r->out_pos += k;
		got += k;
	}
	return (long)got;
}

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

/* Version 1 records were 96 bytes (88 before the socket cookie); each
 * version extends the one before at its end. */
static bool rec_size_known(__u32 version, __u32 rec_size)
{
	if (version == 1)
		return rec_size == FL_LEDGER_V1_REC || rec_size == FL_LEDGER_V1_REC - 8;
	return version == FL_LEDGER_VERSION && rec_size == sizeof(struct fl_ledger_rec);
}

int fl_ledger_open(const char *path, struct fl_ledger_reader **out, struct fl_ledger_hdr *hdr)
{
	struct fl_ledger_reader *r;
	int err;

	struct stat st;
	long got;
	int fd;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0) {
		void *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m != MAP_FAILED) {
			madvise(m, st.st_size, MADV_SEQUENTIAL);
			r->map = m;
			r->map_len = st.st_size;
		}
	}
	if (r->map) {
		close(fd);
		r->dd = libdeflate_alloc_decompressor();
		r->out_cap = MEMBER_MIN_OUT;
		r->out = malloc(r->out_cap);
		if (!r->dd || !r->out) {
			err = -ENOMEM;
			goto fail;
		}
	} else {
		r->gz = gzdopen(fd, "rb");
		if (!r->gz) {
			close(fd);
			err = -ENOMEM;
			goto fail;
		}
		gzbuffer(r->gz, 128 * 1024);
	}
	got = read_bytes(r, hdr, sizeof(*hdr));
	if (got != (long)sizeof(*hdr)) {
		err = -EPROTO;
		goto fail;
	}
	if (memcmp(hdr->magic, FL_LEDGER_MAGIC, 8) || hdr->hdr_size != sizeof(*hdr) ||
	    !rec_size_known(hdr->version, hdr->rec_size)) {
		err = -EPROTO;
		goto fail;
	}
	r->rec_size = hdr->rec_size;
	*out = r;
	return 0;
fail:
	fl_ledger_close(r);
	return err;
}

int fl_ledger_next(struct fl_ledger_reader *r, struct fl_ledger_rec *rec)
{
	long n = fl_ledger_read(r, rec, 1);

	return (int)n;
}

/* Spreads n records of r->rec_size bytes, packed at the start of v, to
 * full records, from the last so that none is overwritten before it moved. */
static void widen(struct fl_ledger_rec *v, size_t n, size_t rec_size)
{
	const char *src = (const char *)v;

	for (size_t i = n; i-- > 0;) {
		char *dst = (char *)&v[i];

		memmove(dst, src + i * rec_size, rec_size);
		memset(dst + rec_size, 0, sizeof(*v) - rec_size);
	}
}

long fl_ledger_read(struct fl_ledger_reader *r, struct fl_ledger_rec *v, size_t n)
{
	long got = read_bytes(r, v, n * r->rec_size);

	if (got < 0)
		return got;
	if (got % r->rec_size)
		return -EIO;
	n = got / r->rec_size;
	if (r->rec_size != sizeof(*v))
		widen(v, n, r->rec_size);
	return (long)n;
}

void fl_ledger_close(struct fl_ledger_reader *r)
{
	if (!r)
		return;
	if (r->gz)
		gzclose(r->gz);
	if (r->map)
		munmap((void *)r->map, r->map_len);
	libdeflate_free_decompressor(r->dd);
	free(r->out);
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
