// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Small helpers every part of the probe uses. */
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

static void vset(struct fl_fact_result *r, bool ok, const char *fmt, va_list ap)
{
	r->ok = ok;
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
}

void __attribute__((format(printf, 2, 3)))
flp_set_ok(struct fl_fact_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(r, true, fmt, ap);
	va_end(ap);
}

void __attribute__((format(printf, 2, 3)))
flp_set_no(struct fl_fact_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(r, false, fmt, ap);
	va_end(ap);
	if (!r->detail[0]) /* every "no" carries a reason */
		snprintf(r->detail, sizeof(r->detail), "failed");
}

void __attribute__((format(printf, 3, 4))) flp_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strnlen(buf, len);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

double flp_ms_since(uint64_t t0)
{
	return (now_mono_ns() - t0) / 1e6;
}
