// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Syscall and errno names (errno_names.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <seccomp.h>
#include "errno_names.h"

/* Calls with something to say: a path or file argument, a socket hook, or the
 * errnos their man page lists (besides EINTR, EFAULT and ENOMEM, which
 * nearly every call can return). Calls not here are still accepted. */
static const struct {
	const char *name;
	int path_arg; /* the argument holding a path */
	int fd_arg;   /* the argument holding a file descriptor of a file */
	enum fl_sock_call sock;
	const char *errnos;
} calls[] = {
    {"open", 0, -1, 0,
     "EACCES EEXIST EISDIR ELOOP EMFILE ENAMETOOLONG ENFILE ENOENT ENOSPC ENOTDIR EPERM EROFS "
     "ETXTBSY EDQUOT EIO EFBIG EOVERFLOW ENXIO ENODEV EWOULDBLOCK EAGAIN"},
    {"openat", 1, -1, 0,
     "EACCES EEXIST EISDIR ELOOP EMFILE ENAMETOOLONG ENFILE ENOENT ENOSPC ENOTDIR EPERM EROFS "
     "ETXTBSY EDQUOT EIO EFBIG EOVERFLOW ENXIO ENODEV EWOULDBLOCK EAGAIN EBADF"},
    {"openat2", 1, -1, 0,
     "EACCES EEXIST EISDIR ELOOP EMFILE ENAMETOOLONG ENFILE ENOENT ENOSPC ENOTDIR EPERM EROFS "
     "ETXTBSY EDQUOT EIO EXDEV EAGAIN E2BIG EBADF"},
    {"creat", 0, -1, 0,
     "EACCES EEXIST EISDIR ELOOP EMFILE ENAMETOOLONG ENFILE ENOENT ENOSPC ENOTDIR EPERM EROFS "
     "EDQUOT EIO"},
    {"stat", 0, -1, 0, "EACCES ELOOP ENAMETOOLONG ENOENT ENOTDIR EOVERFLOW EIO"},
    {"lstat", 0, -1, 0, "EACCES ELOOP ENAMETOOLONG ENOENT ENOTDIR EOVERFLOW EIO"},
    {"newfstatat", 1, -1, 0, "EACCES ELOOP ENAMETOOLONG ENOENT ENOTDIR EOVERFLOW EBADF EIO"},
    {"statx", 1, -1, 0, "EACCES ELOOP ENAMETOOLONG ENOENT ENOTDIR EBADF EIO"},
    {"access", 0, -1, 0, "EACCES ELOOP ENAMETOOLONG ENOENT ENOTDIR EROFS ETXTBSY EIO EPERM"},
    {"faccessat", 1, -1, 0,
     "EACCES ELOOP ENAMETOOLONG ENOENT ENOTDIR EROFS ETXTBSY EIO EPERM EBADF"},
    {"faccessat2", 1, -1, 0,
     "EACCES ELOOP ENAMETOOLONG ENOENT ENOTDIR EROFS ETXTBSY EIO EPERM EBADF"},
    {"unlink", 0, -1, 0, "EACCES EBUSY EIO EISDIR ELOOP ENAMETOOLONG ENOENT ENOTDIR EPERM EROFS"},
    {"unlinkat", 1, -1, 0,
     "EACCES EBUSY EIO EISDIR ELOOP ENAMETOOLONG ENOENT ENOTDIR EPERM EROFS EBADF"},
    {"mkdir", 0, -1, 0,
     "EACCES EDQUOT EEXIST ELOOP EMLINK ENAMETOOLONG ENOENT ENOSPC ENOTDIR EPERM EROFS"},
    {"mkdirat", 1, -1, 0,
     "EACCES EDQUOT EEXIST ELOOP EMLINK ENAMETOOLONG ENOENT ENOSPC ENOTDIR EPERM EROFS EBADF"},
    {"rename", 0, -1, 0,
     "EACCES EBUSY EDQUOT EISDIR ELOOP EMLINK ENAMETOOLONG ENOENT ENOSPC ENOTDIR ENOTEMPTY EEXIST "
     "EPERM EROFS EXDEV"},
    {"renameat", 1, -1, 0,
     "EACCES EBUSY EDQUOT EISDIR ELOOP EMLINK ENAMETOOLONG ENOENT ENOSPC ENOTDIR ENOTEMPTY EEXIST "
     "EPERM EROFS EXDEV EBADF"},
    {"renameat2", 1, -1, 0,
     "EACCES EBUSY EDQUOT EISDIR ELOOP EMLINK ENAMETOOLONG ENOENT ENOSPC ENOTDIR ENOTEMPTY EEXIST "
     "EPERM EROFS EXDEV EBADF EINVAL"},
    {"truncate", 0, -1, 0,
     "EACCES EFBIG EIO EISDIR ELOOP ENAMETOOLONG ENOENT ENOTDIR EPERM EROFS ETXTBSY"},
    {"chdir", 0, -1, 0, "EACCES EIO ELOOP ENAMETOOLONG ENOENT ENOTDIR"},
    {"execve", 0, -1, 0,
     "E2BIG EACCES EAGAIN EINVAL EIO EISDIR ELIBBAD ELOOP EMFILE ENAMETOOLONG ENFILE ENOENT "
     "ENOEXEC ENOTDIR EPERM ETXTBSY"},
    {"read", -1, 0, 0, "EAGAIN EWOULDBLOCK EBADF EINVAL EIO EISDIR"},
    {"pread64", -1, 0, 0, "EAGAIN EWOULDBLOCK EBADF EINVAL EIO EISDIR ENXIO EOVERFLOW ESPIPE"},
    {"readv", -1, 0, 0, "EAGAIN EWOULDBLOCK EBADF EINVAL EIO EISDIR"},
    {"write", -1, 0, 0,
     "EAGAIN EWOULDBLOCK EBADF EDESTADDRREQ EDQUOT EFBIG EINVAL EIO ENOSPC EPERM EPIPE ECONNRESET"},
    {"pwrite64", -1, 0, 0,
     "EAGAIN EWOULDBLOCK EBADF EDQUOT EFBIG EINVAL EIO ENOSPC EPERM ENXIO EOVERFLOW ESPIPE"},
    {"writev", -1, 0, 0,
     "EAGAIN EWOULDBLOCK EBADF EDESTADDRREQ EDQUOT EFBIG EINVAL EIO ENOSPC EPERM EPIPE"},
    {"fsync", -1, 0, 0, "EBADF EIO ENOSPC EROFS EINVAL EDQUOT"},
    {"fdatasync", -1, 0, 0, "EBADF EIO ENOSPC EROFS EINVAL EDQUOT"},
    {"close", -1, 0, 0, "EBADF EIO ENOSPC EDQUOT"},
    {"fallocate", -1, 0, 0,
     "EBADF EFBIG EINVAL EIO ENODEV ENOSPC ENOSYS EOPNOTSUPP EPERM ESPIPE ETXTBSY"},
    {"ftruncate", -1, 0, 0, "EBADF EFBIG EINVAL EIO EISDIR EPERM EROFS ETXTBSY"},
    {"mmap", -1, 4, 0, "EACCES EAGAIN EBADF EEXIST EINVAL ENFILE ENODEV EOVERFLOW EPERM ETXTBSY"},
    {"munmap", -1, -1, 0, "EINVAL"},
    {"mprotect", -1, -1, 0, "EACCES EINVAL"},
    {"brk", -1, -1, 0, ""},
    {"clone", -1, -1, 0, "EAGAIN EINVAL ENOSPC EPERM EUSERS"},
    {"clone3", -1, -1, 0, "EAGAIN EINVAL ENOSPC EPERM EUSERS E2BIG EBUSY EEXIST"},
    {"fork", -1, -1, 0, "EAGAIN ENOSYS"},
    {"socket", -1, -1, FL_SOCK_CREATE,
     "EACCES EAFNOSUPPORT EINVAL EMFILE ENFILE ENOBUFS EPROTONOSUPPORT EPERM"},
    {"connect", -1, -1, FL_SOCK_CONNECT,
     "EACCES EPERM EADDRINUSE EADDRNOTAVAIL EAFNOSUPPORT EAGAIN EALREADY EBADF ECONNREFUSED "
     "ECONNRESET EHOSTUNREACH EINPROGRESS EISCONN ENETUNREACH ENETDOWN ENOTSOCK EPROTOTYPE "
     "ETIMEDOUT ENOBUFS"},
    {"bind", -1, -1, FL_SOCK_BIND,
     "EACCES EADDRINUSE EBADF EINVAL ENOTSOCK EADDRNOTAVAIL EAFNOSUPPORT EPERM"},
    {"sendto", -1, -1, FL_SOCK_SENDMSG,
     "EACCES EAGAIN EWOULDBLOCK EALREADY EBADF ECONNRESET EDESTADDRREQ EINVAL EISCONN EMSGSIZE "
     "ENOBUFS ENOTCONN ENOTSOCK EOPNOTSUPP EPIPE EPERM ENETUNREACH EHOSTUNREACH ECONNREFUSED"},
    {"sendmsg", -1, -1, FL_SOCK_SENDMSG,
     "EACCES EAGAIN EWOULDBLOCK EALREADY EBADF ECONNRESET EDESTADDRREQ EINVAL EISCONN EMSGSIZE "
     "ENOBUFS ENOTCONN ENOTSOCK EOPNOTSUPP EPIPE EPERM ENETUNREACH EHOSTUNREACH ECONNREFUSED"},
    {"recvfrom", -1, -1, 0,
     "EAGAIN EWOULDBLOCK EBADF ECONNREFUSED ECONNRESET EINVAL ENOTCONN ENOTSOCK ETIMEDOUT"},
    {"recvmsg", -1, -1, 0,
     "EAGAIN EWOULDBLOCK EBADF ECONNREFUSED ECONNRESET EINVAL ENOTCONN ENOTSOCK ETIMEDOUT"},
    {"getsockopt", -1, -1, FL_SOCK_GETSOCKOPT, "EBADF EINVAL ENOPROTOOPT ENOTSOCK EPERM"},
    {"setsockopt", -1, -1, FL_SOCK_SETSOCKOPT, "EBADF EINVAL ENOPROTOOPT ENOTSOCK EPERM"},
    {"accept", -1, -1, 0,
     "EAGAIN EWOULDBLOCK EBADF ECONNABORTED EINVAL EMFILE ENFILE ENOBUFS ENOTSOCK EOPNOTSUPP EPERM "
     "EPROTO"},
    {"accept4", -1, -1, 0,
     "EAGAIN EWOULDBLOCK EBADF ECONNABORTED EINVAL EMFILE ENFILE ENOBUFS ENOTSOCK EOPNOTSUPP EPERM "
     "EPROTO"},
    {"listen", -1, -1, 0, "EADDRINUSE EBADF ENOTSOCK EOPNOTSUPP"},
    {"nanosleep", -1, -1, 0, "EINVAL"},
    {"clock_nanosleep", -1, -1, 0, "EINVAL ENOTSUP"},
    {"epoll_wait", -1, -1, 0, "EBADF EINVAL"},
    {"poll", -1, -1, 0, "EINVAL"},
    {"futex", -1, -1, 0, "EAGAIN EDEADLK EINVAL ENOSYS EPERM ESRCH ETIMEDOUT"},
};

#define NCALLS (sizeof(calls) / sizeof(calls[0]))

static int find(const char *name)
{
	for (size_t i = 0; name && i < NCALLS; i++)
		if (!strcmp(calls[i].name, name))
			return i;
	return -1;
}

int fl_syscall_nr(const char *name)
{
	int nr;

	if (!name || !*name || strlen(name) > 31)
		return -ENOENT;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return -ENOENT;
	nr = seccomp_syscall_resolve_name(name);
	return nr < 0 ? -ENOENT : nr;
}

const char *fl_syscall_name(int nr)
{
	static char cache[512][24];
	char *s;

	if (nr < 0 || nr >= 512)
		return "?";
	if (!cache[nr][0]) {
		s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		snprintf(cache[nr], sizeof(cache[nr]), "%s", s ? s : "?");
		free(s);
	}
	return cache[nr];
}

int fl_syscall_path_arg(const char *name)
{
	int i = find(name);

	return i < 0 ? -1 : calls[i].path_arg;
}

int fl_syscall_fd_arg(const char *name)
{
	int i = find(name);

	return i < 0 ? -1 : calls[i].fd_arg;
}

enum fl_sock_call fl_syscall_sock_call(const char *name)
{
	int i = find(name);

	return i < 0 ? FL_SOCK_NONE : calls[i].sock;
}

const char *fl_sock_call_names(void)
{
	return "connect, bind, sendto, sendmsg (UDP), socket, getsockopt, setsockopt";
}

int fl_errno_nr(const char *name)
{
	if (!name || name[0] != 'E')
		return -ENOENT;
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	/* glibc names one of each alias pair; the other spellings: */
	if (!strcmp(name, "EWOULDBLOCK"))
		return EWOULDBLOCK;
	if (!strcmp(name, "EDEADLOCK"))
		return EDEADLOCK;
	if (!strcmp(name, "ENOTSUP"))
		return ENOTSUP;
	return -ENOENT;
}

const char *fl_errno_name(int err)
{
	const char *n = err > 0 ? strerrorname_np(err) : NULL;

	return n ? n : "?";
}

bool fl_syscall_may_return(const char *name, int err)
{
	static const int common[] = {EINTR, EFAULT, ENOMEM};
	const char *list, *p;
	const char *en = fl_errno_name(err);
	size_t n = strlen(en);
	int i = find(name);

	if (i < 0)
		return true;
	for (size_t k = 0; k < sizeof(common) / sizeof(common[0]); k++)
		if (err == common[k])
			return true;
	list = calls[i].errnos;
	for (p = strstr(list, en); p; p = strstr(p + 1, en))
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	/* An alias spelled the other way (EAGAIN is EWOULDBLOCK). */
	if ((err == EAGAIN && strstr(list, "EWOULDBLOCK")) ||
	    (err == ENOTSUP && strstr(list, "EOPNOTSUPP")))
		return true;
	return false;
}
