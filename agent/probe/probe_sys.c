// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Seccomp user notification (in a forked child), the mounts the agent
 * needs, and cgroups an earlier probe left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "probe.skel.h"
#include "log.h"
#include "probe.h"
#include "probe_int.h"

/* ---- seccomp user notification, in a forked child ---- */

/* The child installs an allow-all filter with a listener (the filter binds
 * it alone) and writes the errno, 0 for success, on *rfd's pipe. The answer
 * comes over a pipe, not the exit status, in case the caller reaps children
 * or ignores SIGCHLD. */
pid_t flp_seccomp_child(int *rfd)
{
	struct sock_filter insns[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = insns};
	pid_t parent = getpid(), pid;
	int p[2], res = 0;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid) {
		int err = errno;

		close(p[1]);
		if (pid < 0) {
			close(p[0]);
			return -err;
		}
		*rfd = p[0];
		return pid;
	}
	close(p[0]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		res = errno;
	else if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			 &prog) < 0)
		res = errno ?: EINVAL;
	if (write(p[1], &res, sizeof(res)) != sizeof(res))
		_exit(1);
	_exit(0);
}

/* Read exactly len bytes from fd until EOF or deadline; returns the count. */
size_t flp_read_until(int fd, void *buf, size_t len, uint64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = ((int64_t)deadline - (int64_t)now_mono_ns()) / 1000000;
		ssize_t k;

		/* past the deadline, still take what is already there */
		k = poll(&p, 1, left > 0 ? (int)left : 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		k = read(fd, (char *)buf + got, len - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += k;
	}
	return got;
}

/* Reap pid, killing it if it is still there at deadline (CLOCK_MONOTONIC
 * ns). Its answer came over a pipe already; this only leaves no zombie. */
void flp_reap_until(pid_t pid, uint64_t deadline)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return; /* reaped, or reaped by someone else */
		if (now_mono_ns() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		usleep(200);
	}
}

/* ---- mounts ---- */

static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* The first mount point of each file system type we care about. */
void flp_scan_mounts(char *cg2, size_t cg2len, char *bpffs, size_t bpflen, char *tracefs,
		     size_t trlen)
{
	char line[4096];
	FILE *fp = fopen("/proc/self/mountinfo", "re");

	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char *sep = strstr(line, " - "), *save, *mnt, *type, *p;
		int i;

		if (!sep)
			continue;
		type = strtok_r(sep + 3, " ", &save);
		if (!type)
			continue;
		/* id parent major:minor root mountpoint ... */
		for (i = 0, p = strtok_r(line, " ", &save), mnt = NULL; p && i < 4; i++)
			p = mnt = strtok_r(NULL, " ", &save);
		if (!mnt || i < 4)
			continue;
		unescape(mnt);
		if (!strcmp(type, "cgroup2") && !cg2[0])
			snprintf(cg2, cg2len, "%s", mnt);
		else if (!strcmp(type, "bpf") && !bpffs[0])
			snprintf(bpffs, bpflen, "%s", mnt);
		else if (!strcmp(type, "tracefs") && !tracefs[0])
			snprintf(tracefs, trlen, "%s", mnt);
	}
	fclose(fp);
}

/* Leftovers of a probe that was killed between mkdir and rmdir. */
void flp_remove_stale_cgroups(const char *cg2)
{
	DIR *d = opendir(cg2);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		long pid;

		if (strncmp(e->d_name, FLP_CGROUP_PREFIX, strlen(FLP_CGROUP_PREFIX)))
			continue;
		pid = strtol(e->d_name + strlen(FLP_CGROUP_PREFIX), NULL, 10);
		if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM))
			continue; /* its probe is still running */
		snprintf(path, sizeof(path), "%s/%s", cg2, e->d_name);
		if (rmdir(path) == 0)
			fl_debug("probe: removed stale %s", path);
	}
	closedir(d);
}

/* The mount point of a cgroup v1 hierarchy that holds the cpu controller. */
static void cgroup1_cpu_mount(char *dst, size_t len)
{
	char line[4096];
	FILE *fp = fopen("/proc/self/mountinfo", "re");

	while (fp && fgets(line, sizeof(line), fp)) {
		char *sep = strstr(line, " - "), *save, *p, *mnt = NULL, *opts, *o;
		int i;

		if (!sep)
			continue;
		*sep = '\0';
		if (!(p = strtok_r(sep + 3, " ", &save)) || strcmp(p, "cgroup") ||
		    !strtok_r(NULL, " ", &save) || !(opts = strtok_r(NULL, " \n", &save)))
			continue;
		for (i = 0, p = strtok_r(line, " ", &save); p && i < 4; i++)
			p = mnt = strtok_r(NULL, " ", &save);
		for (o = strtok_r(opts, ",", &save); mnt && o; o = strtok_r(NULL, ",", &save))
			if (!strcmp(o, "cpu")) {
				unescape(mnt);
				snprintf(dst, len, "%s", mnt);
				fclose(fp);
				return;
			}
	}
	if (fp)
		fclose(fp);
}

void flp_cgroup_proc_facts(struct fl_facts *f, const char *cgpath)
{
	char path[PATH_MAX], line[512] = "", mnt[256] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/cgroup.freeze", cgpath);
	if (!f->r[FACT_CGROUP2].ok)
		flp_set_no(&f->r[FACT_CGROUP_FREEZE], "no cgroup v2 mount");
	else if (!*cgpath)
		flp_set_no(&f->r[FACT_CGROUP_FREEZE],
			   "cannot make a cgroup to look for cgroup.freeze");
	else if (access(path, W_OK))
		flp_set_no(&f->r[FACT_CGROUP_FREEZE], "no cgroup.freeze (kernel before 5.2?)");
	else
		flp_set_ok(&f->r[FACT_CGROUP_FREEZE], "cgroup.freeze");

	snprintf(path, sizeof(path), "%s/cgroup.controllers", f->cgroup2_path);
	fp = f->r[FACT_CGROUP2].ok ? fopen(path, "re") : NULL;
	if (fp && !fgets(line, sizeof(line), fp))
		line[0] = '\0';
	if (fp)
		fclose(fp);
	snprintf(path, sizeof(path), " %s", line);
	path[strcspn(path, "\n")] = ' ';
	if (!f->r[FACT_CGROUP2].ok)
		flp_set_no(&f->r[FACT_CGROUP2_CPU], "no cgroup v2 mount");
	else if (!strstr(path, " cpu "))
		flp_set_no(
		    &f->r[FACT_CGROUP2_CPU],
		    "the cpu controller is not in %s/cgroup.controllers (bound to cgroup v1?)",
		    f->cgroup2_path);
	else
		flp_set_ok(&f->r[FACT_CGROUP2_CPU], "cpu.max");

	cgroup1_cpu_mount(mnt, sizeof(mnt));
	if (!*mnt)
		flp_set_no(&f->r[FACT_CGROUP1_CPU],
			   "no cgroup v1 hierarchy with the cpu controller");
	else
		flp_set_ok(&f->r[FACT_CGROUP1_CPU], "%s", mnt);
}
