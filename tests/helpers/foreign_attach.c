// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A test's stand-in for someone else's tooling: attaches one program of a
 * BPF object to a device as a classic tc filter (which stays when this
 * exits) or as a tcx link at the head of the chain (held until SIGTERM).
 * Writes "ready" to stdout once attached.
 *
 *   foreign_attach OBJ PROG DEV ingress|egress tc PRIO
 *   foreign_attach OBJ PROG DEV ingress|egress tcx
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct tcx_link_create { /* union bpf_attr, link_create, kernel 6.6+ */
	__u32 prog_fd, target_ifindex, attach_type, flags, relative_fd, pad;
	__u64 expected_revision;
};

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int ifindex, egress, fd, ret = 1;
	sigset_t set;

	if (argc < 6 || (strcmp(argv[5], "tc") && strcmp(argv[5], "tcx")) ||
	    (!strcmp(argv[5], "tc") && argc != 7)) {
		fprintf(stderr, "usage: %s OBJ PROG DEV ingress|egress tc PRIO | tcx\n", argv[0]);
		return 2;
	}
	ifindex = if_nametoindex(argv[3]);
	egress = !strcmp(argv[4], "egress");
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!ifindex || !prog) {
		fprintf(stderr, "no device %s or program %s\n", argv[3], argv[2]);
		goto out;
	}
	fd = bpf_program__fd(prog);
	if (!strcmp(argv[5], "tc")) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd, .handle = 1,
				    .priority = atoi(argv[6]));
		int e = bpf_tc_hook_create(&hook);

		if ((e && e != -EEXIST) || bpf_tc_attach(&hook, &opts)) {
			fprintf(stderr, "cannot attach a tc filter\n");
			goto out;
		}
		printf("ready\n");
		ret = 0;
		goto out;
	}
	{
		struct tcx_link_create a = {.prog_fd = fd,
					    .target_ifindex = ifindex,
					    .attach_type = egress ? 47 : 46,
					    .flags = 1U << 3 /* BPF_F_BEFORE */};
		int link = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));

		if (link < 0) {
			fprintf(stderr, "cannot attach a tcx link: %s\n", strerror(errno));
			goto out;
		}
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigprocmask(SIG_BLOCK, &set, NULL);
		printf("ready\n");
		fflush(stdout);
		sigwaitinfo(&set, NULL);
		close(link);
		ret = 0;
	}
out:
	bpf_object__close(obj);
	return ret;
}
