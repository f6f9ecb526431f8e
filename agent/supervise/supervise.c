// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * agentctl exec, setting up: read the fault files, register with agentd as
 * a supervisor (a connection of its own), add the faults, then start CMD
 * under a seccomp filter that traps only the syscalls some fault names (or
 * --trap adds); every other call never leaves the kernel.
 *
 * Start-up, without a call the filter might trap before the supervisor
 * holds the listener: the child loads the filter, tells the listener's fd
 * number with a write-like call the filter does not trap, waits for the go
 * with a read-like one, and execs. The supervisor takes the listener with
 * pidfd_getfd. Faults apply once the exec has closed the child's end of the
 * start-up socket (it is close-on-exec); until then every call goes on.
 *
 * When agentd dies, the supervisor drops every fault and lets every call go
 * on. When the supervisor dies, the kernel would fail each trapped call
 * with ENOSYS, so CMD gets SIGKILL instead (PR_SET_PDEATHSIG): it never
 * runs on with calls failing at random.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <seccomp.h>
#include "client.h"
#include "errno_names.h"
#include "event.h"
#include "log.h"
#include "sup.h"
#include "supervise.h"

#define MAX_FAULT_FILES 32
#define EXIT_SETUP	125
#define EX_REFUSED	1 /* agentctl's exit codes */
#define EX_NOAGENT	3

struct setup {
	uint64_t trap[FL_TRAP_WORDS];
	json_t *faults[MAX_FAULT_FILES];
	uint32_t ids[MAX_FAULT_FILES]; /* as agentd numbered them */
	int nfaults;
};

static bool trapped(const struct setup *st, int nr)
{
	return st->trap[nr / 64] >> (nr % 64) & 1;
}

static int add_trap(struct setup *st, const char *name)
{
	int nr = fl_syscall_nr(name);

	if (nr < 0 || nr >= FL_TRAP_WORDS * 64) {
		fl_err("exec: '%s' is not a syscall on this machine", name);
		return -EINVAL;
	}
	st->trap[nr / 64] |= 1ULL << (nr % 64);
	return 0;
}

/* A fault file: one fault as the protocol's JSON; its pid, when it names
 * none, is ours (the whole supervised tree), its backend seccomp. */
static int load_fault(struct setup *st, const char *path)
{
	struct fl_fault_spec spec;
	json_error_t jerr;
	json_t *j, *t;
	char err[512];

	if (st->nfaults == MAX_FAULT_FILES) {
		fl_err("exec: at most %d --fault files", MAX_FAULT_FILES);
		return -E2BIG;
	}
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		fl_err("exec: %s: %s (line %d)", path, jerr.text, jerr.line);
		return -EINVAL;
	}
	t = json_object_get(j, "target");
	if (json_is_object(j) && !t)
		json_object_set_new(j, "target", t = json_object());
	if (json_is_object(t) && !json_object_get(t, "pid"))
		json_object_set_new(t, "pid", json_integer(getpid()));
	if (json_is_object(j) && !json_object_get(j, "backend"))
		json_object_set_new(j, "backend", json_string("seccomp"));
	if (fault_spec_from_json(j, &spec, err, sizeof(err))) {
		fl_err("exec: %s: %s", path, err);
		json_decref(j);
		return -EINVAL;
	}
	if (spec.kind != FL_KIND_ERRNO && spec.kind != FL_KIND_SYSCALL_LATENCY) {
		fl_err("exec: %s: a %s fault does not go through the supervisor (errno and "
		       "syscall-latency do)",
		       path, json_string_value(json_object_get(j, "kind")));
		json_decref(j);
		return -EINVAL;
	}
	st->trap[spec.sys.nr / 64] |= 1ULL << (spec.sys.nr % 64);
	st->faults[st->nfaults++] = j;
	return 0;
}

/* A call of each group the filter does not trap, for the child's start-up. */
static int pick_untrapped(const struct setup *st, const int *nrs, int n)
{
	for (int i = 0; i < n; i++)
		if (!trapped(st, nrs[i]))
			return nrs[i];
	return -1;
}

static long tell(int nr, int fd, void *buf, size_t len)
{
	struct iovec iov = {buf, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	switch (nr) {
	case SYS_write:
	case SYS_read:
		return syscall(nr, fd, buf, len);
	case SYS_writev:
	case SYS_readv:
		return syscall(nr, fd, &iov, 1);
	case SYS_sendto:
	case SYS_recvfrom:
		return syscall(nr, fd, buf, len, 0, NULL, NULL);
	default: /* sendmsg, recvmsg */
		return syscall(nr, fd, &mh, 0);
	}
}

static void __attribute__((noreturn)) child(const struct setup *st, int sock, pid_t parent,
					    const sigset_t *mask, char **argv, int wr, int rd)
{
	scmp_filter_ctx ctx;
	int fd = -1, ret = 0;
	char go;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(EXIT_SETUP);
	sigprocmask(SIG_SETMASK, mask, NULL);
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	/* Keep speculative store bypass as it was: the kernel's default for a
	 * seccomp'd task (disabling it) slows every call, trapped or not. */
	if (ctx)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
	/* Root may load a filter without no_new_privs: setuid programs and
	 * file capabilities under CMD then work as they do without us. */
	if (ctx && !geteuid())
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (int nr = 0; ctx && !ret && nr < FL_TRAP_WORDS * 64; nr++)
		if (trapped(st, nr))
			ret = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
	if (!ctx || ret || (ret = seccomp_load(ctx)) || (fd = seccomp_notify_fd(ctx)) < 0)
		fd = -(ret ? -ret : EINVAL) - 1000; /* < 0: the error, for the parent */
	/* From here on every call but wr and rd may be trapped. */
	if (tell(wr, sock, &fd, sizeof(fd)) != sizeof(fd) || fd < 0 || tell(rd, sock, &go, 1) != 1)
		_exit(EXIT_SETUP);
	execvp(argv[0], argv);
	fprintf(stderr, "agentctl: exec: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* The supervise connection: registered, with the trap set. */
static int register_sup(const char *sock, const struct setup *st)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	json_t *trap = json_array(), *req, *r;
	char *line, buf[4096];
	ssize_t n;
	int fd;

	for (int nr = 0; nr < FL_TRAP_WORDS * 64; nr++)
		if (trapped(st, nr))
			json_array_append_new(trap, json_string(fl_syscall_name(nr)));
	req = json_pack("{s:s,s:i,s:o}", "cmd", "supervise", "pid", (int)getpid(), "trap", trap);
	line = proto_reply_line(req);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		fl_err("cannot reach agentd at %s: %s (is it running? start it with: agentd)", sock,
		       strerror(errno));
		free(line);
		if (fd >= 0)
			close(fd);
		return -EX_NOAGENT;
	}
	free(line);
	/* The reply is the first line; nothing is pushed before it. */
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	r = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	if (!json_is_true(json_object_get(r, "ok"))) {
		fl_err("agentd refused the supervisor: %s",
		       json_string_value(json_object_get(r, "error")) ?: "no answer");
		json_decref(r);
		close(fd);
		return -EX_REFUSED;
	}
	json_decref(r);
	return fd;
}

/* Inject a fault file's fault, and take agentd's push of it. */
static int add_fault(const char *sock, struct sup *s, json_t *fault, uint32_t *idp)
{
	json_t *r = NULL;
	char err[512];
	uint32_t id;
	int ret = client_call(sock, json_pack("{s:s,s:O}", "cmd", "inject", "fault", fault), &r,
			      err, sizeof(err));

	if (ret) {
		fl_err("exec: %s", err);
		json_decref(r);
		return ret == -EREMOTEIO ? -EX_REFUSED : -EX_NOAGENT;
	}
	*idp = id = json_integer_value(json_object_get(json_object_get(r, "fault"), "id"));
	json_decref(r);
	fprintf(stderr, "agentctl: exec: fault %u\n", id);
	/* agentd wrote the push before its reply: it is on our connection. */
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd p = {.fd = s->agent, .events = POLLIN};

		for (int i = 0; i < s->rules.n; i++)
			if (s->rules.r[i].id == id)
				return 0;
		if (poll(&p, 1, 100) > 0 && sup_agent_read(s) < 0)
			break;
	}
	fl_err("exec: agentd did not hand fault %u to the supervisor", id);
	return -EX_REFUSED;
}

static int usage(const char *msg)
{
	fl_err("exec: %s (see agentctl --help)", msg);
	return 2;
}

int cmd_exec(const char *sock, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"fault", required_argument, NULL, 'f'},
	    {"trap", required_argument, NULL, 't'},
	    {},
	};
	static const int wr_calls[] = {SYS_write, SYS_writev, SYS_sendto, SYS_sendmsg};
	static const int rd_calls[] = {SYS_read, SYS_readv, SYS_recvfrom, SYS_recvmsg};
	static struct sup s = {.listener = -1, .agent = -1, .exec_fd = -1, .sigfd = -1};
	struct setup st = {};
	sigset_t mask, old;
	int sv[2] = {-1, -1}, c, fdnum = -1, pidfd = -1, ret = EXIT_SETUP, wr, rd;
	char go = 'g';

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (c == 'f' && load_fault(&st, optarg))
			return 2;
		if (c == 't') {
			char *list = strdup(optarg), *save = NULL;

			for (char *n = strtok_r(list, ",", &save); n;
			     n = strtok_r(NULL, ",", &save))
				if (add_trap(&st, n)) {
					free(list);
					return 2;
				}
			free(list);
		}
		if (c == '?')
			return usage("unknown or incomplete option");
	}
	if (optind >= argc)
		return usage("no command given (agentctl exec [--fault F.json] -- CMD ARGS...)");
	if (!st.trap[0] && !memcmp(st.trap, st.trap + 1, sizeof(st.trap) - sizeof(st.trap[0])))
		return usage("nothing to trap: give a --fault file or --trap NAME,...");
	wr = pick_untrapped(&st, wr_calls, 4);
	rd = pick_untrapped(&st, rd_calls, 4);
	if (wr < 0 || rd < 0)
		return usage("cannot trap all of write, writev, sendto and sendmsg (or of read, "
			     "readv, recvfrom and recvmsg): the supervisor needs one of each");
	s.rules.root = getpid();
	s.agent = register_sup(sock, &st);
	if (s.agent < 0) {
		ret = -s.agent;
		goto out;
	}
	for (int i = 0; i < st.nfaults; i++) {
		int r = add_fault(sock, &s, st.faults[i], &st.ids[i]);

		if (r) {
			ret = -r;
			goto out;
		}
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	s.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.sigfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		fl_err("exec: cannot set up: %s", strerror(errno));
		goto out;
	}
	s.child = fork();
	if (s.child < 0) {
		fl_err("exec: cannot fork: %s", strerror(errno));
		goto out;
	}
	if (!s.child)
		child(&st, sv[1], getppid(), &old, argv + optind, wr, rd);
	close(sv[1]);
	sv[1] = -1;
	if (read(sv[0], &fdnum, sizeof(fdnum)) != sizeof(fdnum) || fdnum < 0) {
		fl_err("exec: cannot load the seccomp filter%s%s", fdnum < -1000 ? ": " : "",
		       fdnum < -1000 ? strerror(-(fdnum + 1000)) : "");
		goto out;
	}
	pidfd = syscall(SYS_pidfd_open, s.child, 0);
	s.listener = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, fdnum, 0);
	if (s.listener < 0 || write(sv[0], &go, 1) != 1) {
		fl_err("exec: cannot take the seccomp listener from the child: %s",
		       strerror(errno));
		goto out;
	}
	fcntl(s.listener, F_SETFD, FD_CLOEXEC);
	s.exec_fd = sv[0];
	sv[0] = -1;
	srand48(now_mono_ns());
	sup_loop(&s);
	ret = WIFEXITED(s.status) ? WEXITSTATUS(s.status) : 128 + WTERMSIG(s.status);
out:
	/* The faults of the fault files end with the command. */
	for (int i = 0; i < st.nfaults && s.agent >= 0; i++) {
		json_t *r = NULL;
		char err[256];

		if (st.ids[i])
			client_call(
			    sock,
			    json_pack("{s:s,s:I}", "cmd", "clear", "id", (json_int_t)st.ids[i]), &r,
			    err, sizeof(err));
		json_decref(r);
	}
	if (s.child > 0 && !s.child_done && ret == EXIT_SETUP)
		kill(s.child, SIGKILL);
	{
		int fds[] = {sv[0], sv[1], pidfd, s.listener, s.agent, s.exec_fd, s.sigfd};

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	for (int i = 0; i < st.nfaults; i++)
		json_decref(st.faults[i]);
	return ret;
}
