// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Where receipts come from: a file (plain, mapped a window at a time, or
 * gzip), an http(s) URL (libcurl), a command's output (exec:), PostgreSQL
 * (pg:, receipts_pg.c). Each source cuts lines for the parsers of
 * receipts.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>
#include "receipts_int.h"

/* A plain file: mapped a window at a time (so that the mapped pages, which
 * count as resident, stay few), split with memchr, no copy. -ENODEV: not
 * mappable. */
#define MAP_WINDOW (32u << 20)
static int read_mapped(struct lp *p, int fd, const char *path)
{
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	struct stat st;
	size_t size, pos = 0;
	int err = 0;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return -ENODEV;
	size = (size_t)st.st_size;
	while (pos < size && !err) {
		size_t base = pos & ~(pg - 1), len = size - base;
		const char *m, *s, *e, *nl;
		bool last;

		if (len > MAP_WINDOW)
			len = MAP_WINDOW;
		last = base + len == size;
		m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)base);
		if (m == MAP_FAILED)
			return pos ? -errno : -ENODEV;
		madvise((void *)m, len, MADV_SEQUENTIAL);
		s = m + (pos - base);
		e = m + len;
		while (s < e) {
			nl = memchr(s, '\n', (size_t)(e - s));
			if (!nl && !last)
				break; /* the rest of this line is in the next window */
			if (!nl)
				nl = e; /* a last line without \n */
			if (nl - s > LINE_MAX_LEN) {
				snprintf(p->err, p->errlen, "%s line %llu: longer than %d bytes",
					 p->what, (unsigned long long)p->line + 1, LINE_MAX_LEN);
				err = -E2BIG;
				break;
			}
			err = rc_one_line(p, s, (size_t)(nl - s));
			if (err)
				break;
			s = nl + 1;
		}
		pos = base + (size_t)(s - m);
		if (s >= e)
			pos = base + len;
		munmap((void *)m, len);
		if (!err && !last && pos <= base) { /* cannot happen: a window holds a line */
			err = -E2BIG;
			snprintf(p->err, p->errlen, "%s line %llu: longer than %d bytes", p->what,
				 (unsigned long long)p->line + 1, LINE_MAX_LEN);
		}
	}
	(void)path;
	return err;
}

/* Plain (mapped) or gzip-compressed (read in large blocks), split with memchr. */
int rc_read_file(struct lp *p, const char *path)
{
	size_t cap = (1 << 20) + LINE_MAX_LEN, have = 0;
	char *buf = malloc(cap + 1);
	unsigned char magic[2];
	gzFile gz = NULL;
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(p->err, p->errlen, "cannot open receipts %s: %s", path, strerror(-err));
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (pread(fd, magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
		err = read_mapped(p, fd, path);
		if (err != -ENODEV) {
			close(fd);
			goto out;
		}
		err = 0; /* not mappable (a pipe, /proc): read it */
	} else {
		gz = gzdopen(fd, "rb"); /* owns fd from here */
		if (!gz) {
			close(fd);
			err = -ENOMEM;
			goto out;
		}
		gzbuffer(gz, 256 * 1024);
	}
	for (;;) {
		ssize_t k;
		char *s = buf, *e, *nl;

		if (gz) {
			k = gzread(gz, buf + have, (unsigned)(cap - have));
		} else {
			do
				k = read(fd, buf + have, cap - have);
			while (k < 0 && errno == EINTR);
		}
		if (k < 0) {
			int zerr;

			snprintf(p->err, p->errlen, "cannot read receipts %s: %s", path,
				 gz ? gzerror(gz, &zerr) : strerror(errno));
			err = -EIO;
			break;
		}
		e = buf + have + k;
		if (k == 0) {
			if (have)
				err = rc_one_line(p, buf, have); /* a last line without \n */
			break;
		}
		while ((nl = memchr(s, '\n', (size_t)(e - s)))) {
			err = rc_one_line(p, s, (size_t)(nl - s));
			if (err)
				goto done;
			s = nl + 1;
		}
		have = (size_t)(e - s);
		if (have >= LINE_MAX_LEN) {
			snprintf(p->err, p->errlen, "%s line %llu: longer than %d bytes", p->what,
				 (unsigned long long)p->line + 1, LINE_MAX_LEN);
			err = -E2BIG;
			break;
		}
		memmove(buf, s, have);
	}
done:
	if (gz)
		gzclose(gz);
	else
		close(fd);
out:
	free(buf);
	return err;
}

struct fetch {
	struct lp *p;
	char *buf;
	size_t len;
	int err;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t n = size * nmemb, i;

	for (i = 0; i < n; i++) {
		if (f->len >= LINE_MAX_LEN) {
			snprintf(f->p->err, f->p->errlen, "%s line %llu: longer than %d bytes",
				 f->p->what, (unsigned long long)f->p->line + 1, LINE_MAX_LEN);
			f->err = -E2BIG;
			return 0;
		}
		f->buf[f->len++] = data[i];
		if (data[i] == '\n') {
			f->err = rc_one_line(f->p, f->buf, f->len);
			f->len = 0;
			if (f->err)
				return 0;
		}
	}
	return n;
}

int rc_read_url(struct lp *p, const char *url)
{
	struct fetch f = {.p = p};
	CURL *c = NULL;
	CURLcode cr;
	int err = 0;

	f.buf = malloc(LINE_MAX_LEN + 1);
	if (!f.buf)
		return -ENOMEM;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	if (!c) {
		err = -ENOMEM;
		snprintf(p->err, p->errlen, "cannot start libcurl");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	cr = curl_easy_perform(c);
	if (f.err) {
		err = f.err;
		goto out;
	}
	if (cr == CURLE_HTTP_RETURNED_ERROR) {
		long code = 0;

		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		snprintf(p->err, p->errlen, "cannot fetch receipts %s: HTTP status %ld", url, code);
		err = -EIO;
		goto out;
	}
	if (cr != CURLE_OK) {
		snprintf(p->err, p->errlen, "cannot fetch receipts %s: %s", url,
			 curl_easy_strerror(cr));
		err = -EIO;
		goto out;
	}
	if (f.len)
		err = rc_one_line(p, f.buf, f.len);
out:
	if (c)
		curl_easy_cleanup(c);
	free(f.buf);
	return err;
}

/* exec:COMMAND: sh -c COMMAND, its standard output NDJSON or CSV (the
 * first line says which); a command that fails is an error with its exit
 * status. Its standard error goes where ours does. */
int rc_read_exec(struct lp *p, const char *cmd)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0, st;
	FILE *fp;

	if (!*cmd) {
		snprintf(p->err, p->errlen, "exec: needs a command (exec:psql -Atc '...')");
		return -EINVAL;
	}
	fflush(NULL);
	fp = popen(cmd, "re");
	if (!fp) {
		err = -errno;
		snprintf(p->err, p->errlen, "cannot run '%s': %s", cmd, strerror(-err));
		return err;
	}
	while (!err && (n = getline(&line, &cap, fp)) >= 0) {
		if (n > LINE_MAX_LEN) {
			snprintf(p->err, p->errlen, "%s line %llu: longer than %d bytes", p->what,
				 (unsigned long long)p->line + 1, LINE_MAX_LEN);
			err = -E2BIG;
			break;
		}
		err = rc_one_line(p, line, (size_t)n);
	}
	free(line);
	st = pclose(fp);
	if (!err && st != 0) {
		if (WIFEXITED(st))
			snprintf(p->err, p->errlen, "'%s' failed: exit %d (receipts from exec:)",
				 cmd, WEXITSTATUS(st));
		else
			snprintf(p->err, p->errlen, "'%s' failed: %s (receipts from exec:)", cmd,
				 st < 0 ? strerror(errno) : "killed by a signal");
		err = -EIO;
	}
	return err;
}

int rc_receipts_read(const char *spec, rc_receipt_cb cb, void *arg, char *err, size_t errlen)
{
	struct lp p = {.what = spec, .cb = cb, .arg = arg, .err = err, .errlen = errlen};

	err[0] = '\0';
	if (!strncmp(spec, "nginx:", 6)) {
		p.fmt = FMT_NGINX;
		return rc_read_file(&p, spec + 6);
	}
	if (!strncmp(spec, "ndjson:", 7)) {
		p.fmt = FMT_NDJSON;
		return rc_read_file(&p, spec + 7);
	}
	if (!strncmp(spec, "http://", 7) || !strncmp(spec, "https://", 8)) {
		p.fmt = FMT_NDJSON;
		return rc_read_url(&p, spec);
	}
	if (!strncmp(spec, "exec:", 5)) {
		p.fmt = FMT_AUTO;
		return rc_read_exec(&p, spec + 5);
	}
	if (!strncmp(spec, "pg:", 3)) {
		p.fmt = FMT_CSV;
		return rc_read_pg(&p, spec + 3);
	}
	snprintf(err, errlen,
		 "unknown receipts '%s' (use nginx:PATH, ndjson:PATH, an http(s):// URL, "
		 "exec:COMMAND or pg:[CONNINFO|]QUERY)",
		 spec);
	return -EINVAL;
}
