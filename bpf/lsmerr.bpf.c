// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Errno faults through BPF LSM hooks, where the kernel runs BPF LSM
 * programs (Debian's 6.1 does; not the build machines': docs/backends.md).
 * A hook covers the calls that reach it (open and openat reach file_open,
 * read and write file_permission, ...): the agent loads only the program
 * for the fault's call. A matching call gets -errno; any other gets what
 * the earlier programs on the hook said.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "event.h"
#include "sockerr.h"
#include "syserr.h"

#include "syserr_match.bpf.h"

/* The file's path: matches the prefix, or no prefix is set. */
static __always_inline bool match_file(struct file *file)
{
	char buf[FL_SYSERR_PATH] = {};

	if (cfg.path_arg < 0)
		return true;
	if (!file || bpf_d_path((struct path *)&file->f_path, buf, sizeof(buf)) <= 0)
		return false;
	return match_prefix(buf);
}

SEC("lsm/file_open")
int BPF_PROG(fl_file_open, struct file *file, int ret)
{
	char comm[FL_COMM_LEN] = {};

	if (ret || !match_task(comm) || !match_file(file))
		return ret;
	return decide(comm);
}

SEC("lsm/file_permission")
int BPF_PROG(fl_file_permission, struct file *file, int mask, int ret)
{
	char comm[FL_COMM_LEN] = {};

	if (ret || !(mask & cfg.lsm_mask) || !match_task(comm) || !match_file(file))
		return ret;
	return decide(comm);
}

SEC("lsm/mmap_file")
int BPF_PROG(fl_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	char comm[FL_COMM_LEN] = {};

	if (ret || !match_task(comm) || (cfg.path_arg >= 0 && !match_file(file)))
		return ret;
	return decide(comm);
}

SEC("lsm/socket_create")
int BPF_PROG(fl_socket_create, int family, int type, int protocol, int kern, int ret)
{
	char comm[FL_COMM_LEN] = {};

	if (ret || kern || !match_task(comm))
		return ret;
	return decide(comm);
}

SEC("lsm/socket_connect")
int BPF_PROG(fl_socket_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	char comm[FL_COMM_LEN] = {};

	if (ret || !match_task(comm))
		return ret;
	return decide(comm);
}

SEC("lsm/socket_bind")
int BPF_PROG(fl_socket_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	char comm[FL_COMM_LEN] = {};

	if (ret || !match_task(comm))
		return ret;
	return decide(comm);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(fl_bprm_check, struct linux_binprm *bprm, int ret)
{
	char comm[FL_COMM_LEN] = {};

	if (ret || !match_task(comm) || !match_file(bprm->file))
		return ret;
	return decide(comm);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
