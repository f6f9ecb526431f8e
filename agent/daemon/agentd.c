// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * agentd: the Faultline agent. Probes what the kernel allows, then serves
 * inject/list/clear requests on a Unix socket, keeps every fault's time to
 * live and heartbeat, writes the event log, and restores everything it
 * changed when it stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/libbpf.h>
#include "kind.h"
#include "events.h"
#include "fault.h"
#include "log.h"
#include "parse.h"
#include "probe.h"
#include "proto.h"
#include "server.h"

#define TICK_NS (250 * 1000000ULL) /* heartbeat, TTL reaper, log flush */

static const char usage[] =
    "Usage: agentd [OPTIONS]\n"
    "The Faultline agent: injects network and syscall faults with eBPF. Runs as root.\n"
    "\n"
    "  -s, --socket PATH       control socket (default " FL_DEFAULT_SOCKET ")\n"
    "  -d, --state-dir DIR     lock, state and event log (default " FL_DEFAULT_STATE ")\n"
    "  -m, --metrics-port N    Prometheus metrics on 127.0.0.1:N (default 9464, 0 = off)\n"
    "      --default-ttl DUR   time to live of a fault without --for (default 5m)\n"
    "      --max-ttl DUR       longest time to live a fault may ask for (default 1h)\n"
    "      --protect PORT      a port no network fault touches without --force\n"
    "                          (repeatable; 22 and the metrics port always are)\n"
    "  -v, --verbose           log libbpf and debug detail\n"
    "  -h, --help              this text\n"
    "\n"
    "Exit status: 0 stopped cleanly, 1 could not start, 2 bad usage.\n"
    "See agentd(8).\n";

struct opts {
	const char *sock;
	const char *state_dir;
	uint16_t metrics_port;
	uint64_t default_ttl, max_ttl;
	uint16_t protect[FL_MAX_PROTECTED];
	int nr_protect;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !fl_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int add_protected(struct opts *o, uint16_t port)
{
	for (int i = 0; i < o->nr_protect; i++)
		if (o->protect[i] == port)
			return 0;
	if (o->nr_protect == FL_MAX_PROTECTED)
		return -ENOSPC;
	o->protect[o->nr_protect++] = port;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"state-dir", required_argument, NULL, 'd'},
	    {"metrics-port", required_argument, NULL, 'm'},
	    {"default-ttl", required_argument, NULL, 'T'},
	    {"max-ttl", required_argument, NULL, 'M'},
	    {"protect", required_argument, NULL, 'P'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	uint16_t lo, hi;
	uint64_t v;
	int c;

	*o = (struct opts){
	    .sock = FL_DEFAULT_SOCKET,
	    .state_dir = FL_DEFAULT_STATE,
	    .metrics_port = FL_DEFAULT_METRICS,
	    .default_ttl = 5 * 60 * 1000000000ULL,
	    .max_ttl = 3600 * 1000000000ULL,
	};
	while ((c = getopt_long(argc, argv, "s:d:m:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->sock = optarg;
			break;
		case 'd':
			o->state_dir = optarg;
			break;
		case 'm':
			if (parse_u64(optarg, &v, false) || v > 65535) {
				fl_err("--metrics-port: '%s' is not a port 0-65535", optarg);
				return -EINVAL;
			}
			o->metrics_port = v;
			break;
		case 'T':
		case 'M':
			if (parse_duration_ns(optarg, &v) || !v) {
				fl_err("--%s: '%s' is not a duration (like 30s, 5m, 1h)",
				       c == 'T' ? "default-ttl" : "max-ttl", optarg);
				return -EINVAL;
			}
			*(c == 'T' ? &o->default_ttl : &o->max_ttl) = v;
			break;
		case 'P':
			if (parse_port_range(optarg, &lo, &hi) || lo != hi) {
				fl_err("--protect: '%s' is not a port 1-65535", optarg);
				return -EINVAL;
			}
			if (o->nr_protect == FL_MAX_PROTECTED - 2 || add_protected(o, lo)) {
				fl_err(
				    "--protect: at most %d ports besides 22 and the metrics port",
				    FL_MAX_PROTECTED - 2);
				return -EINVAL;
			}
			break;
		case 'v':
			fl_verbose = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'agentd --help'.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fl_err("unexpected argument '%s' (see agentd --help)", argv[optind]);
		return -EINVAL;
	}
	if (o->default_ttl > o->max_ttl) {
		fl_err("--default-ttl is longer than --max-ttl");
		return -EINVAL;
	}
	/* SSH and our own port are protected whatever else is: they take two
	 * of the slots, which --protect leaves free. */
	if (add_protected(o, 22) || (o->metrics_port && add_protected(o, o->metrics_port))) {
		fl_err("--protect: at most %d ports besides 22 and the metrics port",
		       FL_MAX_PROTECTED - 2);
		return -EINVAL;
	}
	return 0;
}

/* Mount a pseudo filesystem the agent needs when it is missing. It stays
 * mounted when the agent stops: others (bpftool, perf, another agent) may
 * use it by then, and unmounting it under them would break them. */
static void ensure_mounted(const char *path, const char *type, long magic)
{
	struct statfs st;

	if (!statfs(path, &st) && st.f_type == magic)
		return;
	if (mount(type, path, type, 0, NULL)) {
		fl_log("cannot mount %s on %s: %s (features that need it will be refused)", type,
		       path, strerror(errno));
		return;
	}
	fl_log("mounted %s on %s (it stays mounted)", type, path);
}

static int take_lock(const char *dir)
{
	char path[512], pid[32];
	int fd;

	snprintf(path, sizeof(path), "%s/agent.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fl_err("cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);

		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fl_err("another agentd (pid %s) holds %s; stop it first (agentctl status)",
		       *pid ? pid : "?", path);
		close(fd);
		return -EBUSY;
	}
	if (ftruncate(fd, 0) == 0) {
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

		if (pwrite(fd, pid, n, 0) != n)
			fl_debug("cannot write the pid into %s", path);
	}
	return fd;
}

static int make_timer(void)
{
	struct itimerspec its = {
	    .it_interval = {0, TICK_NS},
	    .it_value = {0, TICK_NS},
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int watch(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void tick(uint64_t *lost_seen)
{
	uint64_t now = now_mono_ns(), lost;

	kinds_heartbeat(now);
	faults_reap(now);
	server_reap(now);
	events_poll();
	lost = kinds_events_lost();
	if (lost > *lost_seen) {
		fl_log("lost %llu fault events: the ring buffer was full (they are still counted)",
		       (unsigned long long)(lost - *lost_seen));
		events_lost(lost - *lost_seen);
		*lost_seen = lost;
	}
	events_flush();
}

static int run(int epfd, int sigfd, int timerfd, int rbfd)
{
	uint64_t lost_seen = 0;

	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(epfd, evs, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sigfd) {
				struct signalfd_siginfo si;

				if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
					fl_log("got %s; restoring everything and stopping",
					       strsignal(si.ssi_signo));
					return 0;
				}
			} else if (fd == timerfd) {
				uint64_t x;

				if (read(timerfd, &x, sizeof(x)) > 0)
					tick(&lost_seen);
			} else if (fd == rbfd) {
				events_poll();
			} else {
				server_handle(epfd, fd, evs[i].events);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct fl_facts facts = {};
	struct opts o;
	char err[512], path[PATH_MAX], event_log[PATH_MAX + 32];
	int lockfd = -1, epfd = -1, sigfd = -1, timerfd = -1, ret = 1;
	sigset_t mask;

	fl_prog = "agentd";
	if (parse_args(argc, argv, &o))
		return 2;
	if (geteuid() != 0) {
		fl_err("must run as root: it loads BPF programs and changes network devices (try: "
		       "sudo agentd)");
		return 1;
	}
	libbpf_set_print(libbpf_print);
	if (mkdir(o.state_dir, 0700) && errno != EEXIST) {
		fl_err("cannot create %s: %s", o.state_dir, strerror(errno));
		return 1;
	}
	lockfd = take_lock(o.state_dir);
	if (lockfd < 0)
		return 1;
	/* The lock covers one state folder; a live socket means another agent,
	 * whose socket listen_unix() would unlink. */
	if (server_socket_in_use(o.sock)) {
		fl_err("another agentd serves on %s; stop it first (agentctl status) or give this "
		       "one its own --socket",
		       o.sock);
		snprintf(path, sizeof(path), "%s/agent.lock", o.state_dir);
		unlink(path);
		close(lockfd);
		return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	ensure_mounted("/sys/fs/bpf", "bpf", BPF_FS_MAGIC);
	ensure_mounted("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC);

	ret = probe_run(&facts);
	if (ret) {
		fl_err("cannot probe the kernel: %s", strerror(-ret));
		ret = 1;
		goto out;
	}
	{
		char why[256];
		const char *b = probe_backend_for(&facts, "drop", why, sizeof(why));

		fl_log("kernel %s probed in %.0f ms; drops by %s", facts.kernel, facts.elapsed_ms,
		       b ? b : why);
	}

	if (!realpath(o.state_dir, path))
		snprintf(path, sizeof(path), "%s", o.state_dir);
	snprintf(event_log, sizeof(event_log), "%s/events.ndjson.gz", path);
	if (events_open(event_log, err, sizeof(err))) {
		fl_err("%s", err);
		ret = 1;
		goto out;
	}
	events_set_callback(faults_count_event, NULL);
	{
		struct kind_env env = {
		    .ringbuf_fd = events_ringbuf_fd(),
		    .protected_ports = o.protect,
		    .nr_protected = o.nr_protect,
		    .state_dir = o.state_dir,
		    .facts = &facts,
		};
		struct fault_config fc = {
		    .default_ttl_ns = o.default_ttl,
		    .max_ttl_ns = o.max_ttl,
		    .protected_ports = o.protect,
		    .nr_protected = o.nr_protect,
		    .facts = &facts,
		    .event_log = event_log,
		};

		kinds_cleanup_leftovers(&env);
		if (kinds_init(&env, err, sizeof(err))) {
			fl_err("%s", err);
			ret = 1;
			goto out;
		}
		faults_init(&fc);
	}

	epfd = epoll_create1(EPOLL_CLOEXEC);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	timerfd = make_timer();
	if (epfd < 0 || sigfd < 0 || timerfd < 0 || watch(epfd, sigfd) || watch(epfd, timerfd) ||
	    watch(epfd, events_epoll_fd())) {
		fl_err("cannot set up the event loop: %s", strerror(errno));
		ret = 1;
		goto out;
	}
	if (server_open(epfd, o.sock, o.metrics_port, err, sizeof(err))) {
		fl_err("%s", err);
		ret = 1;
		goto out;
	}
	fl_log("serving on %s%s%s", o.sock, o.metrics_port ? ", metrics on 127.0.0.1:" : "",
	       o.metrics_port ? (snprintf(err, sizeof(err), "%u", o.metrics_port), err) : "");
	ret = run(epfd, sigfd, timerfd, events_epoll_fd()) ? 1 : 0;
out:
	faults_clear_all("agent stopped");
	kinds_shutdown();
	events_close();
	server_close();
	if (epfd >= 0)
		close(epfd);
	if (sigfd >= 0)
		close(sigfd);
	if (timerfd >= 0)
		close(timerfd);
	snprintf(path, sizeof(path), "%s/agent.lock", o.state_dir);
	unlink(path);
	close(lockfd);
	return ret;
}
