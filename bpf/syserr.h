/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Shared between syserr.bpf.c, lsmerr.bpf.c and agent/kinds/errno_sys.c:
 * what one errno fault on any syscall matches, for the fmod_ret and lsm
 * backends. One program instance per fault; the agent fills this in before
 * load. Counters: struct fl_sockerr_counters.
 */
#ifndef FL_SYSERR_H
#define FL_SYSERR_H

#include "sockerr.h"

#define FL_SYSERR_PATH 128 /* the longest path prefix these backends match */

struct fl_syserr_cfg {
	struct fl_errno_common c; /* sockerr.h */
	__u8 has_cgroup;	  /* match the cgroup in the program's cgroup array, slot 0 */
	__s8 path_arg;		  /* fmod_ret: the argument holding the path; -1: no path match */
	__u8 lsm_mask;		  /* lsm file_permission: MAY_READ (4) or MAY_WRITE (2) */
	__u8 pad;
	__u32 path_len; /* of the prefix */
	char path[FL_SYSERR_PATH];
};

#endif
