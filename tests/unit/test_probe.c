// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The capability probe on the real kernel (needs root): it runs in under a
 * second, gives a reason for every "no", round-trips through JSON, picks a
 * drop backend that works, agrees with independent checks, and leaves
 * nothing behind (no process, BPF program, cgroup or iptables rule).
 * FL_VERBOSE=1 shows libbpf's messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "probe.h"
#include "registry.h"

static struct fl_facts facts;
static int probe_rc;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!getenv("FL_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Programs whose name starts with "flp_": the probe's. */
static int count_probe_progs(void)
{
	__u32 id = 0;
	int n = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue; /* gone meanwhile */
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strncmp(info.name, "flp_", 4))
			n++;
		close(fd);
	}
	return n;
}

static int count_probe_maps(void)
{
	__u32 id = 0;
	int n = 0;

	while (!bpf_map_get_next_id(id, &id)) {
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info);
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strncmp(info.name, "flp_", 4))
			n++;
		close(fd);
	}
	return n;
}

static int setup(void **state)
{
	fl_verbose = getenv("FL_VERBOSE") != NULL;
	libbpf_set_print(libbpf_print);
	if (geteuid() != 0) {
		fprintf(stderr, "test_probe needs root\n");
		return -1;
	}
	probe_rc = probe_run(&facts);
	probe_print(&facts, stderr);
	return 0;
}

/* Under a second here; FL_PROBE_MAX_MS raises it for emulated kernels
 * (qemu without KVM runs the probe some ten times slower). */
static double max_ms(void)
{
	const char *s = getenv("FL_PROBE_MAX_MS");

	return s && atof(s) > 0 ? atof(s) : 1000;
}

static void test_runs_fast(void **state)
{
	assert_int_equal(probe_rc, 0);
	assert_true(facts.elapsed_ms > 0);
	if (facts.elapsed_ms >= max_ms())
		fail_msg("probing took %.0f ms, limit %.0f", facts.elapsed_ms, max_ms());
	assert_true(facts.kernel[0]);
}

static void test_every_no_has_reason(void **state)
{
	for (int i = 0; i < FACT_MAX; i++) {
		if (!facts.r[i].ok && !facts.r[i].detail[0])
			fail_msg("fact %s is \"no\" without a reason", fact_name(i));
		assert_string_not_equal(fact_name(i), "?");
	}
}

static void test_json_round_trip(void **state)
{
	json_t *j = probe_to_json(&facts), *back, *b1, *b2;
	struct fl_facts f2;
	char *s;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	back = json_loads(s, 0, NULL);
	assert_non_null(back);
	assert_int_equal(probe_from_json(back, &f2), 0);
	assert_string_equal(f2.kernel, facts.kernel);
	assert_string_equal(f2.cgroup2_path, facts.cgroup2_path);
	assert_true(f2.elapsed_ms > facts.elapsed_ms - 0.01 &&
		    f2.elapsed_ms < facts.elapsed_ms + 0.01);
	for (int i = 0; i < FACT_MAX; i++) {
		assert_int_equal(f2.r[i].ok, facts.r[i].ok);
		assert_string_equal(f2.r[i].detail, facts.r[i].detail);
	}
	/* backends derived again from parsed facts give the same answer */
	b1 = json_object_get(j, "backends");
	b2 = json_object_get(probe_to_json(&f2), "backends");
	assert_true(json_equal(b1, b2));
	assert_true(json_is_array(json_object_get(json_object_get(b1, "drop"), "order")));
	assert_int_equal(probe_from_json(json_string("x"), &f2), -EINVAL);
	free(s);
	json_decref(j);
	json_decref(back);
}

static enum fl_fact drop_fact(const char *b)
{
	if (!strcmp(b, "tcx"))
		return FACT_TCX;
	if (!strcmp(b, "tc"))
		return FACT_TC;
	if (!strcmp(b, "xdp"))
		return FACT_XDP;
	return FACT_MAX;
}

static void test_backends(void **state)
{
	char why[512];
	const char *b = probe_backend_for(&facts, "drop", why, sizeof(why));

	assert_non_null(b);
	assert_int_not_equal(drop_fact(b), FACT_MAX);
	assert_true(facts.r[drop_fact(b)].ok);
	assert_true(probe_backend_ok(&facts, "drop", b, why, sizeof(why)));

	/* the chosen backend is the first usable one in the stated order */
	for (const struct fl_kind_desc *k = fl_kinds; k->name; k++) {
		const struct fl_backend_desc *order = k->backends;
		const char *chosen = probe_backend_for(&facts, k->name, why, sizeof(why));
		const char *first = NULL;

		assert_non_null(order);
		assert_non_null(order[0].name);
		for (int i = 0; order[i].name && !first; i++) {
			char w[512];

			if (probe_backend_ok(&facts, k->name, order[i].name, w, sizeof(w)))
				first = order[i].name;
			else
				assert_true(w[0]); /* a "no" names what is missing */
		}
		if (first)
			assert_string_equal(chosen, first);
		else
			assert_null(chosen), assert_true(why[0]);
	}
	assert_null(probe_backend_for(&facts, "nonsense", why, sizeof(why)));
	assert_true(why[0]);
	assert_false(probe_backend_ok(&facts, "drop", "nonsense", why, sizeof(why)));
	assert_true(why[0]);
}

/* Debian's 6.1 as the kernel matrix found it: fq and classic tc, no tcx.
 * edt takes tcx or tc; with neither it is not chosen and says so. */
static void test_edt_without_tcx(void **state)
{
	struct fl_facts f = {0};
	char why[512];

	(void)state;
	for (int i = 0; i < FACT_MAX; i++)
		snprintf(f.r[i].detail, sizeof(f.r[i].detail), "absent");
	f.r[FACT_QDISC_FQ].ok = f.r[FACT_TC].ok = true;
	f.r[FACT_NFQUEUE].ok = f.r[FACT_XT_BPF].ok = true;
	assert_string_equal(probe_backend_for(&f, "latency", why, sizeof(why)), "edt");
	assert_string_equal(probe_backend_for(&f, "drop", why, sizeof(why)), "tc");
	f.r[FACT_TC].ok = false;
	assert_string_equal(probe_backend_for(&f, "latency", why, sizeof(why)), "nfqueue");
	assert_non_null(strstr(why, "edt needs tcx or tc"));
	f.r[FACT_TCX].ok = true;
	assert_string_equal(probe_backend_for(&f, "latency", why, sizeof(why)), "edt");
	f.r[FACT_QDISC_FQ].ok = false;
	assert_string_not_equal(probe_backend_for(&f, "latency", why, sizeof(why)), "edt");
}

static void test_print(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	probe_print(&facts, out);
	fclose(out);
	assert_non_null(strstr(buf, "tcx"));
	assert_non_null(strstr(buf, "seccomp_notify"));
	assert_non_null(strstr(buf, "syscall-latency"));
	free(buf);
}

/* Independent of the probe: /proc/self/mounts (not mountinfo) and statfs. */
static void test_cgroup2_cross_check(void **state)
{
	char line[4096], dev[256], mnt[1024], type[64];
	char found[1024] = "";
	struct statfs s;
	FILE *fp = fopen("/proc/self/mounts", "re");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "%255s %1023s %63s", dev, mnt, type) == 3 &&
		    !strcmp(type, "cgroup2") && !found[0])
			snprintf(found, sizeof(found), "%s", mnt);
	fclose(fp);
	assert_int_equal(facts.r[FACT_CGROUP2].ok, found[0] != 0);
	if (!found[0])
		return;
	assert_string_equal(facts.cgroup2_path, found);
	assert_int_equal(statfs(facts.cgroup2_path, &s), 0);
	assert_true(s.f_type == CGROUP2_SUPER_MAGIC);
}

static void test_simple_cross_checks(void **state)
{
	FILE *fp;
	char avail[512] = "";

	assert_int_equal(facts.r[FACT_BTF].ok, access("/sys/kernel/btf/vmlinux", R_OK) == 0);
	if (facts.r[FACT_KPROBE].ok)
		assert_true(access("/sys/bus/event_source/devices/kprobe", F_OK) == 0 ||
			    access("/sys/kernel/tracing/kprobe_events", F_OK) == 0);
	fp = fopen("/proc/sys/kernel/seccomp/actions_avail", "re");
	if (fp) {
		if (!fgets(avail, sizeof(avail), fp))
			avail[0] = '\0';
		fclose(fp);
		assert_int_equal(facts.r[FACT_SECCOMP_NOTIFY].ok,
				 strstr(avail, "user_notif") != NULL);
	}
}

/* A tcx link by hand, with a raw program (no skeleton, no libbpf object),
 * in a fresh netns: it attaches exactly when the probe says so. */
static void test_tcx_cross_check(void **state)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpf_insn insns[] = {
		    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		    {.code = BPF_JMP | BPF_EXIT},
		};
		int fd, lfd;

		if (unshare(CLONE_NEWNET))
			_exit(2);
		fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "flt_tcx", "GPL", insns, 2, NULL);
		if (fd < 0)
			_exit(3);
		lfd = bpf_link_create(fd, 1 /* lo */, 46 /* BPF_TCX_INGRESS */, NULL);
		_exit(lfd >= 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_true(WEXITSTATUS(status) <= 1);
	assert_int_equal(facts.r[FACT_TCX].ok, WEXITSTATUS(status) == 0);
}

/* Qdiscs by another tool: iproute2's tc in a fresh netns of its own. */
static void test_qdisc_cross_check(void **state)
{
	static const struct {
		enum fl_fact fact;
		const char *cmd;
	} q[] = {
	    {FACT_QDISC_FQ, "unshare -n tc qdisc add dev lo root fq"},
	    {FACT_QDISC_NETEM, "unshare -n tc qdisc add dev lo root netem delay 1ms"},
	    {FACT_QDISC_HTB, "unshare -n tc qdisc add dev lo root handle 1: htb"},
	};

	if (system("command -v tc >/dev/null && command -v unshare >/dev/null") != 0)
		skip();
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		char cmd[256];
		int rc;

		snprintf(cmd, sizeof(cmd), "%s >/dev/null 2>&1", q[i].cmd);
		rc = system(cmd);
		if (facts.r[q[i].fact].ok != (rc == 0))
			fail_msg("%s: probe says %s (%s), \"%s\" exits %d", fact_name(q[i].fact),
				 facts.r[q[i].fact].ok ? "yes" : "no", facts.r[q[i].fact].detail,
				 q[i].cmd, rc);
	}
}

/* Not root: refused at once, with -EPERM. */
static void test_refuses_non_root(void **state)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct fl_facts f;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(100);
		_exit(probe_run(&f) == -EPERM ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_nothing_left_behind(void **state)
{
	char path[1200], line[512];
	int progs = -1, maps = -1, status;
	FILE *fp;

	/* no helper process (and so no netns of ours) outlives probe_run */
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);

	/* programs are freed after their last fd closes: allow a moment (and
	 * for a probe that another agent may be running right now) */
	for (int i = 0; i < 100; i++) {
		progs = count_probe_progs();
		maps = count_probe_maps();
		if (!progs && !maps)
			break;
		usleep(20000);
	}
	assert_int_equal(progs, 0);
	assert_int_equal(maps, 0);

	if (facts.cgroup2_path[0]) {
		snprintf(path, sizeof(path), "%s/faultline-probe.%d", facts.cgroup2_path, getpid());
		assert_int_not_equal(access(path, F_OK), 0);
	}

	/* the probe's rules (NFQUEUE 65531, xt_bpf "ret #0") lived in its own
	 * netns only; others' rules on the host are none of our business */
	fp = popen("iptables-save 2>/dev/null", "r");
	if (fp) {
		while (fgets(line, sizeof(line), fp))
			if (strstr(line, "--queue-num 65531") || strstr(line, "1,6 0 0 0"))
				fail_msg("probe rule left on the host: %s", line);
		pclose(fp);
	}
}

/* A second run gives the same facts: probing changes nothing it tests. */
static void test_second_run_same(void **state)
{
	struct fl_facts again;

	assert_int_equal(probe_run(&again), 0);
	if (again.elapsed_ms >= max_ms())
		fail_msg("probing took %.0f ms, limit %.0f", again.elapsed_ms, max_ms());
	for (int i = 0; i < FACT_MAX; i++)
		if (again.r[i].ok != facts.r[i].ok)
			fail_msg("fact %s changed between runs: %s / %s", fact_name(i),
				 facts.r[i].detail, again.r[i].detail);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runs_fast),		cmocka_unit_test(test_every_no_has_reason),
	    cmocka_unit_test(test_json_round_trip),	cmocka_unit_test(test_backends),
	    cmocka_unit_test(test_edt_without_tcx),	cmocka_unit_test(test_print),
	    cmocka_unit_test(test_cgroup2_cross_check), cmocka_unit_test(test_simple_cross_checks),
	    cmocka_unit_test(test_tcx_cross_check),	cmocka_unit_test(test_qdisc_cross_check),
	    cmocka_unit_test(test_refuses_non_root),	cmocka_unit_test(test_nothing_left_behind),
	    cmocka_unit_test(test_second_run_same),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
