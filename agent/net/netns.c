// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "netns.h"

int netns_open(const char *spec, char *err, size_t errlen)
{
	char path[512];
	int fd;

	if (!spec || !*spec) {
		snprintf(path, sizeof(path), "/proc/self/ns/net");
	} else if (!strncmp(spec, "pid:", 4)) {
		char *end;
		long pid;

		errno = 0;
		pid = strtol(spec + 4, &end, 10);
		if (errno || end == spec + 4 || *end || pid <= 0) {
			snprintf(err, errlen, "netns '%s': pid:PID needs a process id", spec);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	} else if (spec[0] == '/') {
		snprintf(path, sizeof(path), "%s", spec);
	} else if (strchr(spec, '/') || !strcmp(spec, ".") || !strcmp(spec, "..")) {
		snprintf(err, errlen, "netns '%s': not a name, an absolute path or pid:PID", spec);
		return -EINVAL;
	} else {
		snprintf(path, sizeof(path), "/var/run/netns/%s", spec);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "netns '%s': cannot open %s: %s (see: ip netns list)", spec,
			 path, strerror(e));
		return -e;
	}
	return fd;
}

uint64_t netns_id(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint64_t)st.st_ino;
}

uint64_t netns_dev(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint64_t)st.st_dev;
}

/* path's namespace when it is (dev, ino), else -1. */
static int open_if(const char *path, uint64_t dev, uint64_t ino)
{
	struct stat st;
	int fd;

	if (stat(path, &st) || (uint64_t)st.st_ino != ino || (dev && (uint64_t)st.st_dev != dev))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (netns_id(fd) != ino || (dev && netns_dev(fd) != dev))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int netns_find(uint64_t dev, uint64_t ino)
{
	static const char *const dirs[] = {"/var/run/netns", "/proc"};
	char path[512];
	int fd = open_if("/proc/self/ns/net", dev, ino);

	for (int d = 0; d < 2 && fd < 0; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *e;

		while (dir && fd < 0 && (e = readdir(dir))) {
			if (e->d_name[0] == '.' ||
			    (d == 1 && (e->d_name[0] < '0' || e->d_name[0] > '9')))
				continue;
			snprintf(path, sizeof(path), d ? "/proc/%s/ns/net" : "/var/run/netns/%s",
				 e->d_name);
			fd = open_if(path, dev, ino);
		}
		if (dir)
			closedir(dir);
	}
	return fd < 0 ? -ENOENT : fd;
}

int netns_enter(int fd, int *saved)
{
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET)) {
		int e = errno;

		close(*saved);
		*saved = -1;
		return -e;
	}
	return 0;
}

void netns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET))
		fl_log("cannot return to the agent's network namespace: %s", strerror(errno));
	close(saved);
}
