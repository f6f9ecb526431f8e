// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Process faults: which cgroup paths and which processes a target may name
 * (kinds/proc.c), on a cgroup tree of plain folders made for the test and
 * on processes the test starts. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "proc.h"

static char mnt[64];
static pid_t child = -1;
static char child_comm[16];

static void mkcg(const char *rel)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", mnt, rel);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s/cgroup.procs", mnt, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static void write_procs(const char *rel, const pid_t *pids, int n)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/cgroup.procs", mnt, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%d\n", (int)pids[i]);
	fclose(f);
}

static int setup(void **state)
{
	int p[2];
	char c;

	(void)state;
	snprintf(mnt, sizeof(mnt), "/tmp/fl-test-proc.XXXXXX");
	if (!mkdtemp(mnt))
		return -1;
	/* A process to find: a name of its own, told to us through a pipe
	 * once it has it. */
	if (pipe(p))
		return -1;
	snprintf(child_comm, sizeof(child_comm), "flt%d", (int)getpid());
	child = fork();
	if (child == 0) {
		prctl(PR_SET_NAME, child_comm, 0, 0, 0);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		return -1;
	close(p[0]);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", mnt);
	return system(cmd) ? -1 : 0;
}

static int dir(const char *given, char *out, char *err)
{
	err[0] = '\0';
	return proc_cgroup_dir(given, mnt, "0::", out, PATH_MAX, err, 256);
}

static void test_cgroup_dir(void **state)
{
	char out[PATH_MAX], want[PATH_MAX + 8], err[256], full[PATH_MAX];
	static const char *const plain[] = {".",    "./a",   "a/..", "a/../a",
					    "a//b", "a/./b", "..",   "/a/b/.."};

	(void)state;
	mkcg("a");
	mkcg("a/b");
	snprintf(want, sizeof(want), "%s/a", mnt);
	assert_int_equal(dir("a", out, err), 0);
	assert_string_equal(out, want);
	assert_int_equal(dir("/a/", out, err), 0);
	assert_string_equal(out, want);
	snprintf(full, sizeof(full), "%s/a", mnt);
	assert_int_equal(dir(full, out, err), 0);
	assert_string_equal(out, want);
	assert_int_equal(dir("a/b", out, err), 0);

	/* the root, whichever way it is written */
	assert_int_equal(dir("", out, err), -EPERM);
	assert_non_null(strstr(err, "the root cgroup holds every process"));
	assert_int_equal(dir("/", out, err), -EPERM);
	assert_int_equal(dir(mnt, out, err), -EPERM);
	snprintf(full, sizeof(full), "%s/.", mnt);
	assert_int_equal(dir(full, out, err), -EINVAL);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (dir(plain[i], out, err) != -EINVAL || !strstr(err, "without . or .."))
			fail_msg("'%s' -> '%s'", plain[i], err);
	}
	/* missing: no folder, or a folder without cgroup.procs */
	assert_int_equal(dir("nothere", out, err), -ENOENT);
	assert_non_null(strstr(err, "no cgroup '/nothere' under"));
	snprintf(full, sizeof(full), "%s/plain", mnt);
	assert_int_equal(mkdir(full, 0700), 0);
	assert_int_equal(dir("plain", out, err), -ENOENT);
	assert_int_equal(proc_cgroup_dir("a", "", "0::", out, sizeof(out), err, sizeof(err)),
			 -ENOENT);
}

/* A cgroup holding the agent (here: this test) is refused; so is each one
 * above it. Uses the first hierarchy in which we are not in the root. */
static void test_cgroup_holds_agent(void **state)
{
	char line[512], hier[128] = "", path[PATH_MAX] = "", out[PATH_MAX], err[256];
	FILE *f = fopen("/proc/self/cgroup", "re");

	(void)state;
	assert_non_null(f);
	while (!*path && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		line[strcspn(line, "\n")] = '\0';
		if (!c2 || !strcmp(c2 + 1, "/"))
			continue;
		*c2 = '\0';
		if (!strcmp(line, "0"))
			snprintf(hier, sizeof(hier), "0::");
		else
			snprintf(hier, sizeof(hier), "%.*s", (int)strcspn(c1 + 1, ","), c1 + 1);
		if (!*hier)
			continue;
		snprintf(path, sizeof(path), "%s", c2 + 1);
	}
	fclose(f);
	if (!*path)
		skip(); /* in the root of every hierarchy */
	/* make the folders of that path, and one beside it */
	for (char *s = path + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			mkcg(path + 1);
			*s = c;
		}
		if (!*s)
			break;
	}
	mkcg("beside");
	assert_int_equal(proc_cgroup_dir(path, mnt, hier, out, sizeof(out), err, sizeof(err)),
			 -EPERM);
	if (!strstr(err, "holds the agent") || !strstr(err, ": refused"))
		fail_msg("%s (%s): %s", path, hier, err);
	if (strchr(path + 1, '/')) {
		*strchr(path + 1, '/') = '\0'; /* the cgroup above */
		assert_int_equal(
		    proc_cgroup_dir(path, mnt, hier, out, sizeof(out), err, sizeof(err)), -EPERM);
	}
	assert_int_equal(proc_cgroup_dir("beside", mnt, hier, out, sizeof(out), err, sizeof(err)),
			 0);
}

static int collect(const struct fl_target *t, const char *rel, struct proc_set *set, char *err)
{
	char d[PATH_MAX] = "";

	if (rel)
		snprintf(d, sizeof(d), "%s/%s", mnt, rel);
	err[0] = '\0';
	return proc_collect(t, d, set, err, 256);
}

static void test_collect(void **state)
{
	struct proc_set *set = calloc(1, sizeof(*set));
	struct fl_target t = {};
	pid_t in[] = {1, getpid(), child};
	char err[256];

	(void)state;
	assert_non_null(set);
	mkcg("c");
	write_procs("c", in, 3);
	/* a cgroup: pid 1 and the agent are skipped, the child is taken */
	assert_int_equal(collect(&t, "c", set, err), 0);
	assert_int_equal(set->n, 1);
	assert_int_equal(set->pid[0], child);
	assert_string_equal(set->comm[0], child_comm);
	assert_true(set->pidfd[0] >= 0);
	assert_true(set->start[0] > 0);
	assert_int_equal(set->start[0], proc_start_time(child));
	proc_set_close(set);
	assert_int_equal(set->n, 0);

	/* by comm: only the child has its name */
	snprintf(t.comm, sizeof(t.comm), "%s", child_comm);
	assert_int_equal(collect(&t, NULL, set, err), 0);
	assert_int_equal(set->n, 1);
	assert_int_equal(set->pid[0], child);
	proc_set_close(set);
	snprintf(t.comm, sizeof(t.comm), "flt-none");
	assert_int_equal(collect(&t, NULL, set, err), -ESRCH);
	assert_non_null(strstr(err, "no process named 'flt-none'"));
	assert_int_equal(collect(&t, "c", set, err), 0); /* a cgroup may be empty of it */
	assert_int_equal(set->n, 0);

	/* by pid: refused by name, or for not matching the rest */
	memset(&t, 0, sizeof(t));
	t.pid = 1;
	assert_int_equal(collect(&t, NULL, set, err), -EPERM);
	assert_string_equal(err, "pid 1 is init: refused");
	t.pid = getpid();
	assert_int_equal(collect(&t, NULL, set, err), -EPERM);
	assert_non_null(strstr(err, "is the agent itself: refused"));
	t.pid = getppid();
	assert_int_equal(collect(&t, NULL, set, err), -EPERM);
	assert_non_null(strstr(err, "is an ancestor of the agent: refused"));
	t.pid = 2; /* kthreadd, where the test runs in the host's pid namespace */
	if (proc_read_line("/proc/2/comm", err, sizeof(err)) == 0 && !strcmp(err, "kthreadd")) {
		assert_int_equal(collect(&t, NULL, set, err), -EPERM);
		assert_non_null(strstr(err, "is a kernel thread"));
	}
	t.pid = child;
	snprintf(t.comm, sizeof(t.comm), "other");
	assert_int_equal(collect(&t, NULL, set, err), -ESRCH);
	assert_non_null(strstr(err, "is not named 'other'"));
	t.comm[0] = '\0';
	mkcg("d");
	assert_int_equal(collect(&t, "d", set, err), -ESRCH);
	assert_non_null(strstr(err, "is not in cgroup"));
	assert_int_equal(collect(&t, "c", set, err), 0);
	assert_int_equal(set->n, 1);
	proc_set_close(set);
	t.pid = (uint32_t)atoi("4194304"); /* at pid_max's ceiling: never a process */
	assert_int_equal(collect(&t, NULL, set, err), -ESRCH);
	assert_non_null(strstr(err, "no process with pid 4194304"));
	free(set);
}

static void test_check_target(void **state)
{
	struct fl_fault_spec s = {.kind = FL_KIND_PAUSE};
	char err[256];

	(void)state;
	assert_int_equal(proc_check_target(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a pause fault needs a pid, a comm or a cgroup"));
	s.target.pid = 7;
	assert_int_equal(proc_check_target(&s, err, sizeof(err)), 0);
	snprintf(s.target.dev, sizeof(s.target.dev), "eth0");
	assert_int_equal(proc_check_target(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fault.target.dev: a pause fault chooses processes"));
	s.target.dev[0] = '\0';
	s.target.match.dport_lo = s.target.match.dport_hi = 80;
	assert_int_equal(proc_check_target(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fault.target.dport"));
	s.target.match.dport_lo = s.target.match.dport_hi = 0;
	snprintf(s.target.path, sizeof(s.target.path), "/srv");
	assert_int_equal(proc_check_target(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fault.target.path"));
}

extern const struct fault_kind cpu_kind;

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", mnt, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get(const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", mnt, rel);
	assert_int_equal(proc_read_line(path, buf, len), 0);
	return buf;
}

static bool alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

/* The cpu kind on plain files standing for a cgroup's: what it writes,
 * that it restores at remove, by its watchdog when its process dies, and
 * from the state file. Both backends. */
static void test_cpu_on_files(void **state)
{
	struct fl_facts facts = {};
	struct kind_env env = {.state_dir = mnt, .facts = &facts};
	struct fl_fault_spec s = {.kind = FL_KIND_CPU, .proc.quota = 0.1};
	char plan[512], err[256], buf[128], path[PATH_MAX + 32];
	const struct proc_change *pc;
	void *st = NULL;
	pid_t wd, pid;
	int status;

	(void)state;
	signal(SIGPIPE, SIG_IGN); /* as agentd */
	snprintf(facts.cgroup2_path, sizeof(facts.cgroup2_path), "%s", mnt);
	snprintf(facts.r[FACT_CGROUP1_CPU].detail, sizeof(facts.r[0].detail), "%s", mnt);
	assert_int_equal(proc_init(&env), 0);
	mkcg("cpu1");
	put("cpu1/cpu.max", "max 100000\n");
	snprintf(s.target.cgroup, sizeof(s.target.cgroup), "cpu1");
	assert_int_equal(cpu_kind.check(&s, "cpu_max", err, sizeof(err)), 0);

	/* dry run: the plan, nothing written */
	assert_int_equal(
	    cpu_kind.add(&s, "cpu_max", 1, true, &st, plan, sizeof(plan), err, sizeof(err)), 0);
	assert_null(st);
	snprintf(path, sizeof(path), "write '10000 100000' to %s/cpu1/cpu.max (now 'max 100000'",
		 mnt);
	if (!strstr(plan, path))
		fail_msg("plan: %s", plan);
	assert_string_equal(get("cpu1/cpu.max", buf, sizeof(buf)), "max 100000");

	/* add, then remove */
	assert_int_equal(
	    cpu_kind.add(&s, "cpu_max", 2, false, &st, plan, sizeof(plan), err, sizeof(err)), 0);
	assert_non_null(st);
	pc = st;
	wd = pc->watchdog;
	assert_true(wd > 0 && alive(wd));
	assert_string_equal(get("cpu1/cpu.max", buf, sizeof(buf)), "10000 100000");
	assert_non_null(
	    strstr(get("proc-changes.json", buf, sizeof(buf)), "\"set\":\"10000 100000\""));
	cpu_kind.remove(st);
	assert_string_equal(get("cpu1/cpu.max", buf, sizeof(buf)), "max 100000");
	assert_int_equal(kill(wd, 0), -1); /* reaped */
	assert_string_equal(get("proc-changes.json", buf, sizeof(buf)), "[]");

	/* the least quota is 1 ms */
	s.proc.quota = 0.001;
	assert_int_equal(
	    cpu_kind.add(&s, "cpu_max", 3, true, &st, plan, sizeof(plan), err, sizeof(err)), 0);
	assert_non_null(strstr(plan, "write '1000 100000'"));
	s.proc.quota = 0.1;

	/* the process that made the change dies: its watchdog restores */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		void *st2 = NULL;

		_exit(cpu_kind.add(&s, "cpu_max", 4, false, &st2, plan, sizeof(plan), err,
				   sizeof(err))
			  ? 1
			  : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < 200 && strcmp(get("cpu1/cpu.max", buf, sizeof(buf)), "max 100000"); i++)
		usleep(10000);
	assert_string_equal(get("cpu1/cpu.max", buf, sizeof(buf)), "max 100000");

	/* ... and when the watchdog is gone too, the state file does, once:
	 * a value someone else set since is left alone */
	{
		char j[PATH_MAX + 256];

		snprintf(j, sizeof(j),
			 "[{\"fault_id\":5,\"kind\":\"cpu\",\"file\":\"%s/cpu1/cpu.max\","
			 "\"set\":\"10000 100000\",\"restore\":\"max 100000\",\"stopped\":[]}]",
			 mnt);
		put("proc-changes.json", j);
		put("cpu1/cpu.max", "10000 100000\n");
		assert_int_equal(proc_change_cleanup_leftovers(&env), 0);
		assert_string_equal(get("cpu1/cpu.max", buf, sizeof(buf)), "max 100000");
		snprintf(path, sizeof(path), "%s/proc-changes.json", mnt);
		assert_int_equal(access(path, F_OK), -1);
		put("proc-changes.json", j);
		put("cpu1/cpu.max", "50000 100000\n");
		assert_int_equal(proc_change_cleanup_leftovers(&env), 0);
		assert_string_equal(get("cpu1/cpu.max", buf, sizeof(buf)), "50000 100000");
	}

	/* cgroup v1: cpu.cfs_quota_us with the period kept */
	mkcg("cpu2");
	put("cpu2/cpu.cfs_period_us", "50000\n");
	put("cpu2/cpu.cfs_quota_us", "-1\n");
	snprintf(s.target.cgroup, sizeof(s.target.cgroup), "cpu2");
	assert_int_equal(
	    cpu_kind.add(&s, "cfs_quota", 6, false, &st, plan, sizeof(plan), err, sizeof(err)), 0);
	assert_string_equal(get("cpu2/cpu.cfs_quota_us", buf, sizeof(buf)), "5000");
	cpu_kind.remove(st);
	assert_string_equal(get("cpu2/cpu.cfs_quota_us", buf, sizeof(buf)), "-1");

	/* a cpu cap takes a cgroup alone */
	s.target.pid = 7;
	assert_int_equal(cpu_kind.check(&s, "cpu_max", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "applies to a whole cgroup"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroup_dir),	 cmocka_unit_test(test_cgroup_holds_agent),
	    cmocka_unit_test(test_collect),	 cmocka_unit_test(test_check_target),
	    cmocka_unit_test(test_cpu_on_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
