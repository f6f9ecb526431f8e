// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A supervisor's faults and the match of a trapped call (rules.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include "errno_names.h"
#include "rules.h"

int rules_add(struct sup_rules *rs, uint32_t id, json_t *fault, char *err, size_t errlen)
{
	struct sup_rule *r;

	if (rs->n == SUP_MAX_RULES) {
		snprintf(err, errlen, "the supervisor holds %d faults already", SUP_MAX_RULES);
		return -ENOSPC;
	}
	r = &rs->r[rs->n];
	memset(r, 0, sizeof(*r));
	if (fault_spec_from_json(fault, &r->spec, err, errlen))
		return -EINVAL;
	r->id = id;
	rs->n++;
	return 0;
}

void rules_remove(struct sup_rules *rs, uint32_t id)
{
	for (int i = 0; i < rs->n; i++)
		if (rs->r[i].id == id) {
			memmove(&rs->r[i], &rs->r[i + 1], (rs->n - i - 1) * sizeof(rs->r[0]));
			rs->n--;
			return;
		}
}

uint32_t rules_tgid(uint32_t tid)
{
	char path[64], line[128];
	unsigned tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	f = fopen(path, "re");
	if (!f)
		return 0; /* it has gone */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %u", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

void rules_comm(uint32_t tid, char comm[16])
{
	char path[64];
	ssize_t n;
	int fd;

	memset(comm, 0, 16);
	snprintf(path, sizeof(path), "/proc/%u/comm", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, 15);
	close(fd);
	if (n > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
}

/* A NUL-terminated string at addr in the target, page by page. */
static int read_string(uint32_t tid, uint64_t addr, char *buf, size_t len)
{
	size_t got = 0;

	while (got + 1 < len) {
		size_t page_left = 4096 - ((addr + got) & 4095);
		size_t want = len - 1 - got < page_left ? len - 1 - got : page_left;
		struct iovec local = {buf + got, want};
		struct iovec remote = {(void *)(uintptr_t)(addr + got), want};
		ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);

		if (n <= 0)
			return -EFAULT;
		if (memchr(buf + got, '\0', n))
			return 0;
		got += n;
	}
	buf[len - 1] = '\0';
	return -ENAMETOOLONG;
}

/* The target of /proc/TID/what (what: "cwd", "fd/3"). */
static int read_link(uint32_t tid, const char *what, char *buf, size_t len)
{
	char path[80];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/%s", tid, what);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int read_fd_link(uint32_t tid, uint64_t fd, char *buf, size_t len)
{
	char what[24];

	snprintf(what, sizeof(what), "fd/%d", (int)fd);
	return read_link(tid, what, buf, len);
}

/* The path the call names or works on, absolute (not normalised: "..",
 * symbolic links and doubled slashes are left as the program wrote them). */
static int call_path(const struct fl_fault_spec *s, const struct seccomp_notif *n, char *out,
		     size_t len)
{
	int pa = fl_syscall_path_arg(s->sys.syscall), fa = fl_syscall_fd_arg(s->sys.syscall);
	char rel[PATH_MAX], dir[PATH_MAX];
	int ret;

	if (pa < 0)
		return fa < 0 ? -EINVAL : read_fd_link(n->pid, n->data.args[fa], out, len);
	ret = read_string(n->pid, n->data.args[pa], rel, sizeof(rel));
	if (ret)
		return ret;
	if (rel[0] == '/') {
		snprintf(out, len, "%s", rel);
		return 0;
	}
	/* Relative: to the directory fd of an *at call, else the cwd. */
	if (pa > 0 && (int)n->data.args[pa - 1] != AT_FDCWD)
		ret = read_fd_link(n->pid, n->data.args[pa - 1], dir, sizeof(dir));
	else
		ret = read_link(n->pid, "cwd", dir, sizeof(dir));
	if (ret)
		return ret;
	if ((size_t)snprintf(out, len, "%s/%s", strcmp(dir, "/") ? dir : "", rel) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* "/srv/data" and "/srv/data/" both hold /srv/data/x; neither holds /srv/database. */
static bool under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n))
		return false;
	return prefix[n - 1] == '/' || path[n] == '/' || path[n] == '\0';
}

struct sup_rule *rules_match(struct sup_rules *rs, int listener, const struct seccomp_notif *n)
{
	uint32_t tgid = 0;
	char comm[16] = "", path[PATH_MAX];
	bool have_comm = false;

	for (int i = 0; i < rs->n; i++) {
		struct sup_rule *r = &rs->r[i];
		const struct fl_target *t = &r->spec.target;

		if (r->spec.sys.nr != n->data.nr)
			continue;
		if (t->pid && t->pid != rs->root) {
			if (!tgid)
				tgid = rules_tgid(n->pid);
			if (tgid != t->pid)
				continue;
		}
		if (*t->comm) {
			if (!have_comm)
				rules_comm(n->pid, comm);
			have_comm = true;
			if (strncmp(comm, t->comm, 15))
				continue;
		}
		if (*t->path) {
			if (call_path(&r->spec, n, path, sizeof(path)) || !under(path, t->path))
				continue;
			/* The memory read belongs to this call only if it is still waiting. */
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id))
				return NULL;
		}
		r->matched++;
		if (r->spec.prob < 1.0 && drand48() >= r->spec.prob)
			continue;
		r->injected++;
		return r;
	}
	return NULL;
}
