// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Process faults, the common part: from a target (pid, comm, cgroup) to the
 * processes it names, held by pidfds, and the processes no fault touches:
 * pid 1, the agent, its ancestors, its watchdogs and kernel threads.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "event.h"
#include "events.h"
#include "log.h"
#include "proc.h"
#include "registry.h"

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */

struct kind_env proc_env;

int proc_init(const struct kind_env *env)
{
	proc_env = *env;
	return 0;
}

#define FAIL(ret, ...)                                                                             \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return ret;                                                                        \
	} while (0)

int proc_check_target(const struct fl_fault_spec *s, char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;
	const struct fl_match *m = &t->match;
	const char *kind = fl_kind_name(s->kind);
	const char *key = *t->dev	? "dev"
			  : *t->netns	? "netns"
			  : m->proto	? "proto"
			  : *t->src	? "src"
			  : *t->dst	? "dst"
			  : m->sport_lo ? "sport"
			  : m->dport_lo ? "dport"
			  : *t->path	? "path"
					: NULL;

	if (key)
		FAIL(-EINVAL,
		     "fault.target.%s: a %s fault chooses processes (pid, comm, cgroup), not "
		     "packets or files",
		     key, kind);
	if (!t->pid && !*t->comm && !*t->cgroup)
		FAIL(-EINVAL, "fault.target: a %s fault needs a pid, a comm or a cgroup", kind);
	if (t->dir != FL_DIR_INGRESS)
		FAIL(-EINVAL, "fault.target.direction: a %s fault has none", kind);
	return 0;
}

/* /proc/PID/stat: state (field 3), flags (9), start time (22). */
static int read_stat(pid_t pid, char *state, unsigned long *flags, uint64_t *start)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	unsigned long fl = 0;
	char s = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the comm may hold spaces and parentheses */
	if (!p || sscanf(p + 2,
			 "%c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
			 "%*d %llu",
			 &s, &fl, &st) != 3)
		return -EINVAL;
	if (state)
		*state = s;
	if (flags)
		*flags = fl;
	if (start)
		*start = st;
	return 0;
}

uint64_t proc_start_time(pid_t pid)
{
	uint64_t st = 0;

	return read_stat(pid, NULL, NULL, &st) ? 0 : st;
}

char proc_state(pid_t pid)
{
	char s = 0;

	return read_stat(pid, &s, NULL, NULL) ? 0 : s;
}

int proc_read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	for (n = strlen(buf); n && buf[n - 1] == ' '; n--)
		buf[n - 1] = '\0';
	return 0;
}

static int read_comm(pid_t pid, char comm[16])
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	return proc_read_line(path, comm, 16);
}

static pid_t parent_of(pid_t pid)
{
	char path[64], line[256];
	pid_t ppid = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "re");
	while (fp && fgets(line, sizeof(line), fp))
		if (sscanf(line, "PPid: %d", &ppid) == 1)
			break;
	if (fp)
		fclose(fp);
	return ppid;
}

/* Why no fault may touch pid; NULL when it may. */
static const char *protected_why(pid_t pid)
{
	unsigned long flags = 0;
	pid_t p = getpid();

	if (pid == 1)
		return "is init";
	if (pid == p)
		return "is the agent itself";
	if (proc_is_watchdog(pid))
		return "is a watchdog of the agent";
	for (int depth = 0; depth < 64 && (p = parent_of(p)) > 0; depth++)
		if (p == pid)
			return "is an ancestor of the agent";
	if (!read_stat(pid, NULL, &flags, NULL) && (flags & PF_KTHREAD))
		return "is a kernel thread";
	return NULL;
}

/* The cgroup of pid in hierarchy hier ("0::" for v2, or a v1 controller). */
static int cgroup_of(pid_t pid, const char *hier, char *out, size_t len)
{
	char path[64], line[4096];
	FILE *fp;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fp = fopen(path, "re");
	while (fp && ret && fgets(line, sizeof(line), fp)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *tok, *save;

		if (!c2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(hier, "0::")) {
			if (strncmp(line, "0::", 3))
				continue;
		} else {
			*c2 = '\0';
			for (tok = strtok_r(c1 + 1, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				if (!strcmp(tok, hier))
					break;
			if (!tok)
				continue;
		}
		snprintf(out, len, "%s", c2 + 1);
		ret = 0;
	}
	if (fp)
		fclose(fp);
	return ret;
}

/* "/a/b": no empty, "." or ".." component. */
static bool plain_path(const char *rel)
{
	for (const char *c = rel; *c == '/'; c += strcspn(c + 1, "/") + 1) {
		size_t n = strcspn(c + 1, "/");

		if (!n || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
			return false;
	}
	return true;
}

int proc_cgroup_dir(const char *given, const char *mount, const char *hier, char *dir, size_t len,
		    char *err, size_t errlen)
{
	char rel[PATH_MAX], file[PATH_MAX + 16], cg[PATH_MAX];
	size_t ml = strlen(mount), n;
	pid_t p = getpid(), prot[66];
	const char *why;
	struct stat st;
	int np = 0;

	if (!*mount)
		FAIL(-ENOENT, "no cgroup hierarchy for '%s' on this host", given);
	if (!strncmp(given, mount, ml) && (given[ml] == '/' || !given[ml]))
		given += ml;
	while (*given == '/')
		given++;
	snprintf(rel, sizeof(rel), "/%s", given);
	for (n = strlen(rel); n > 1 && rel[n - 1] == '/'; n--)
		rel[n - 1] = '\0';
	if (!strcmp(rel, "/"))
		FAIL(-EPERM,
		     "the root cgroup holds every process (pid 1 and the agent among them)");
	if (!plain_path(rel))
		FAIL(-EINVAL, "cgroup '%s': give a plain path, without . or ..", given);
	snprintf(dir, len, "%s%s", mount, rel);
	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode) || access(file, F_OK))
		FAIL(-ENOENT, "no cgroup '%s' under %s", rel, mount);
	/* pid 1, the agent and its ancestors must not be in it. */
	prot[np++] = 1;
	prot[np++] = p;
	for (pid_t q = parent_of(p); q > 1 && np < 66; q = parent_of(q))
		prot[np++] = q;
	for (int i = 0; i < np; i++) {
		if (cgroup_of(prot[i], hier, cg, sizeof(cg)))
			continue;
		n = strlen(rel);
		if (!strncmp(cg, rel, n) && (cg[n] == '/' || !cg[n])) {
			why = i == 0   ? "pid 1 (init)"
			      : i == 1 ? "the agent"
				       : "an ancestor of the agent";
			FAIL(-EPERM, "cgroup '%s' holds %s (pid %d): refused", rel, why,
			     (int)prot[i]);
		}
	}
	return 0;
}

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

/* Add pid to set if the target's comm (if any) matches and nobody forbids
 * it. Returns 1 added, 0 skipped, or -errno. */
static int consider(struct proc_set *set, pid_t pid, const char *comm, bool named, char *err,
		    size_t errlen)
{
	const char *why = protected_why(pid);
	char c[16];
	int fd;

	if (why && named)
		FAIL(-EPERM, "pid %d %s: refused", (int)pid, why);
	if (why)
		return 0;
	if (read_comm(pid, c))
		return 0; /* gone */
	if (*comm && strcmp(c, comm))
		return 0;
	if (set->n == PROC_MAX_PIDS)
		FAIL(-E2BIG, "the target names over %d processes; choose fewer", PROC_MAX_PIDS);
	fd = pidfd_open(pid);
	if (fd < 0)
		return errno == ESRCH ? 0 : -errno;
	/* The pidfd holds the process; check it is still the one we read. */
	if (read_comm(pid, c) || (*comm && strcmp(c, comm))) {
		close(fd);
		return 0;
	}
	set->pid[set->n] = pid;
	set->pidfd[set->n] = fd;
	set->start[set->n] = proc_start_time(pid);
	snprintf(set->comm[set->n], sizeof(set->comm[0]), "%s", c);
	set->n++;
	return 1;
}

/* The processes of cgroup dir and of those below it. */
static int collect_cgroup(struct proc_set *set, const char *dir, const char *comm, int depth,
			  char *err, size_t errlen)
{
	char path[PATH_MAX + 16];
	struct dirent *e;
	FILE *fp;
	DIR *d;
	int pid, ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fp = fopen(path, "re");
	while (fp && ret >= 0 && fscanf(fp, "%d", &pid) == 1)
		ret = consider(set, pid, comm, false, err, errlen);
	if (fp)
		fclose(fp);
	if (ret < 0 || depth >= 16)
		return ret < 0 ? ret : 0;
	d = opendir(dir);
	while (d && ret >= 0 && (e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			ret = collect_cgroup(set, path, comm, depth + 1, err, errlen);
		}
	if (d)
		closedir(d);
	return ret < 0 ? ret : 0;
}

static bool in_cgroup(pid_t pid, const char *dir)
{
	char path[PATH_MAX + 16];
	bool found = false;
	FILE *fp;
	int p;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fp = fopen(path, "re");
	while (fp && !found && fscanf(fp, "%d", &p) == 1)
		found = p == pid;
	if (fp)
		fclose(fp);
	return found;
}

int proc_collect(const struct fl_target *t, const char *cgdir, struct proc_set *set, char *err,
		 size_t errlen)
{
	struct dirent *e;
	DIR *d;
	int ret = 0;

	set->n = 0;
	if (t->pid) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/%u", t->pid);
		if (access(path, F_OK))
			FAIL(-ESRCH, "no process with pid %u", t->pid);
		if (*cgdir && !in_cgroup(t->pid, cgdir))
			FAIL(-ESRCH, "pid %u is not in cgroup %s", t->pid, cgdir);
		ret = consider(set, t->pid, t->comm, true, err, errlen);
		if (ret == 0 && *t->comm)
			FAIL(-ESRCH, "pid %u is not named '%s'", t->pid, t->comm);
	} else if (*cgdir) {
		ret = collect_cgroup(set, cgdir, t->comm, 0, err, errlen);
	} else {
		d = opendir("/proc");
		while (d && ret >= 0 && (e = readdir(d)))
			if (isdigit((unsigned char)e->d_name[0]))
				ret = consider(set, atoi(e->d_name), t->comm, false, err, errlen);
		if (d)
			closedir(d);
		if (ret >= 0 && !set->n)
			FAIL(-ESRCH, "no process named '%s' (that a fault may touch)", t->comm);
	}
	if (ret < 0) {
		if (!*err)
			snprintf(err, errlen, "cannot read the target's processes: %s",
				 strerror(-ret));
		proc_set_close(set);
		return ret;
	}
	return 0;
}

void proc_set_drop_fds(struct proc_set *set)
{
	for (int i = 0; i < set->n; i++) {
		if (set->pidfd[i] >= 0)
			close(set->pidfd[i]);
		set->pidfd[i] = -1;
	}
}

void proc_set_close(struct proc_set *set)
{
	proc_set_drop_fds(set);
	set->n = 0;
}

void proc_plan_list(const struct proc_set *set, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < set->n && n < len; i++) {
		if (i == 8 && set->n > 9) {
			snprintf(buf + n, len - n, " and %d more", set->n - i);
			return;
		}
		n += snprintf(buf + n, len - n, "%spid %d (%s)", i ? ", " : "", (int)set->pid[i],
			      set->comm[i]);
	}
}

/* Events wait for the next tick (or the fault's end): the fault table
 * counts an event only once the fault is in it, which is after add. */
static struct fl_event *pending;
static json_t **pending_extra;
static size_t npending, cap_pending;

json_t *proc_listen_of(const struct proc_set *set, int i)
{
	json_t *j = proc_listen(set->pid[i]);

	/* the same process all along (a pid is not reused while its process
	 * lives), not one that took its pid since it was collected */
	if (j && proc_start_time(set->pid[i]) != set->start[i]) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

void proc_event(uint16_t kind, uint32_t fault_id, const struct proc_set *set, int i, uint64_t value)
{
	/* a pause's or cap's start (value 0 is its end): the addresses it
	 * serves on, while it still holds them */
	bool start = kind != FL_KIND_KILL && value;

	proc_event_with(kind, fault_id, set, i, value, start ? proc_listen_of(set, i) : NULL);
}

void proc_event_with(uint16_t kind, uint32_t fault_id, const struct proc_set *set, int i,
		     uint64_t value, json_t *extra)
{
	struct fl_event *e;

	if (npending == cap_pending) {
		size_t cap = cap_pending ? 2 * cap_pending : 64;
		struct fl_event *p = realloc(pending, cap * sizeof(*p));
		json_t **x = p ? realloc(pending_extra, cap * sizeof(*x)) : NULL;

		if (p)
			pending = p;
		if (!x) {
			fl_log("out of memory: a %s event of fault %u is lost", fl_kind_name(kind),
			       fault_id);
			json_decref(extra);
			return;
		}
		pending_extra = x;
		cap_pending = cap;
	}
	pending_extra[npending] = extra;
	e = &pending[npending++];
	*e = (struct fl_event){
	    .ts_ns = now_mono_ns(),
	    .value = value,
	    .fault_id = fault_id,
	    .pid = set->pid[i],
	    .kind = kind,
	};
	memcpy(e->comm, set->comm[i], sizeof(e->comm));
}

void proc_events_flush(void)
{
	for (size_t i = 0; i < npending; i++)
		events_emit_with(&pending[i], pending_extra[i]);
	npending = 0;
}

void proc_shutdown(void)
{
	proc_events_flush();
	free(pending);
	free(pending_extra);
	pending = NULL;
	pending_extra = NULL;
	cap_pending = 0;
}
