/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Syscall and errno names for the errno and syscall-latency kinds: the
 * strict parsers the protocol uses, which calls take a path (and in which
 * argument), which are socket calls that the cgroup hooks can fail, and the
 * errnos each call is documented to return (for a warning, not a refusal).
 * Syscall numbers are this machine's native ABI (libseccomp knows them).
 */
#ifndef FL_ERRNO_NAMES_H
#define FL_ERRNO_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Socket calls a cgroup v2 hook can fail with bpf_set_retval. The values
 * are bits: a fault names one call; a hook serves a set. */
enum fl_sock_call {
	FL_SOCK_NONE = 0,
	FL_SOCK_CONNECT = 1 << 0,    /* cgroup/connect4, connect6 */
	FL_SOCK_BIND = 1 << 1,	     /* cgroup/bind4, bind6 */
	FL_SOCK_SENDMSG = 1 << 2,    /* cgroup/sendmsg4, sendmsg6: UDP with an address */
	FL_SOCK_CREATE = 1 << 3,     /* cgroup/sock_create */
	FL_SOCK_GETSOCKOPT = 1 << 4, /* cgroup/getsockopt */
	FL_SOCK_SETSOCKOPT = 1 << 5, /* cgroup/setsockopt */
};

/* The syscall's number, or -ENOENT for a name this machine does not know. */
int fl_syscall_nr(const char *name);
/* Its name ("?" when unknown); a static string. */
const char *fl_syscall_name(int nr);
/* The argument (0-based) holding a path the call opens or names; -1: none. */
int fl_syscall_path_arg(const char *name);
/* The argument holding a file descriptor whose file a --path matches
 * (write, fsync, ...); -1: none. */
int fl_syscall_fd_arg(const char *name);
/* The socket call a cgroup hook can fail, FL_SOCK_NONE if none. */
enum fl_sock_call fl_syscall_sock_call(const char *name);
/* The socket calls, for messages ("connect, bind, ..."). */
const char *fl_sock_call_names(void);

/* "ECONNREFUSED" -> 111; -ENOENT when unknown. Names only, upper case. */
int fl_errno_nr(const char *name);
const char *fl_errno_name(int err); /* "?" when unknown */
/* Whether the call is documented to return err. Calls the table does not
 * describe return true. */
bool fl_syscall_may_return(const char *name, int err);

#endif
