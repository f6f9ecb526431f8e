// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The exchanges still open at the end of a tp_btf request trace
 * (requests_open.h). A socket's local storage is read from user space by
 * a descriptor of the socket; the storage's iterator, which would walk it
 * whole, is refused on some kernels (this machine's among them). So each
 * process that owns a followed socket (the procs map) has its descriptors
 * duplicated (pidfd_getfd: root's ptrace right; the process is not
 * stopped and its table is left as it was), each socket read once. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/pidfd.h>
#include <bpf/bpf.h>
#include "requests_open.h"

/* The socket inodes read so far: an open-addressing set. */
struct ino_set {
	unsigned long *v;
	size_t cap, n;
};

/* 1 when ino was new (now added), 0 when seen, -ENOMEM. */
static int ino_add(struct ino_set *s, unsigned long ino)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct ino_set g = {.cap = s->cap ? 2 * s->cap : 256};

		g.v = calloc(g.cap, sizeof(*g.v));
		if (!g.v)
			return -ENOMEM;
		for (i = 0; i < s->cap; i++)
			if (s->v[i])
				ino_add(&g, s->v[i]);
		free(s->v);
		*s = g;
	}
	for (i = (ino * 0x9E3779B97F4A7C15ull) & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == ino)
			return 0;
	s->v[i] = ino;
	s->n++;
	return 1;
}

/* The record of the socket behind fd, with its parked drops; 0, or -1
 * when the socket has no followed entry. */
static int read_sock(const struct fl_rq_open_maps *m, int fd, struct fl_rq_rec *r)
{
	struct fl_rq_drop_box b;
	struct fl_rq_sock s;

	if (bpf_map_lookup_elem(m->socks, &fd, &s) || s.ignored)
		return -1;
	*r = s.r;
	if (!bpf_map_lookup_elem(m->parked, &s.addr, &b) && b.drops) {
		if (!r->drops) {
			r->drop_reason = b.reason;
			r->drop_ns = b.drop_ns;
		}
		r->drops += (__u32)b.drops;
	}
	return 0;
}

static void walk_proc(const struct fl_rq_open_maps *m, __u32 tgid, struct ino_set *seen,
		      void (*fn)(void *, struct fl_rq_rec *), void *ctx,
		      struct fl_rq_open_stats *st)
{
	char path[64];
	struct dirent *e;
	int pidfd;
	DIR *d;

	pidfd = pidfd_open((pid_t)tgid, 0);
	if (pidfd < 0)
		return; /* gone: its sockets closed, and their records went out then */
	snprintf(path, sizeof(path), "/proc/%u/fd", tgid);
	d = opendir(path);
	if (!d)
		goto out;
	while ((e = readdir(d))) {
		char link[64];
		unsigned long ino;
		struct fl_rq_rec r;
		ssize_t n;
		int fd, added;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		added = ino_add(seen, ino);
		if (added < 0)
			st->denied++; /* out of memory: counted as not read */
		if (added != 1)
			continue;
		fd = pidfd_getfd(pidfd, atoi(e->d_name), 0);
		if (fd < 0) {
			st->denied++;
			continue;
		}
		if (!read_sock(m, fd, &r))
			fn(ctx, &r);
		close(fd);
	}
	closedir(d);
out:
	close(pidfd);
}

void fl_rq_open_walk(const struct fl_rq_open_maps *m, void (*fn)(void *ctx, struct fl_rq_rec *r),
		     void *ctx, struct fl_rq_open_stats *st)
{
	struct ino_set seen = {0};
	__u32 key, next, *prev = NULL;
	int guard = FL_RQ_TIDS + 1;

	memset(st, 0, sizeof(*st));
	while (guard-- > 0 && !bpf_map_get_next_key(m->procs, prev, &next)) {
		key = next;
		prev = &key;
		walk_proc(m, key, &seen, fn, ctx, st);
	}
	free(seen.v);
}
