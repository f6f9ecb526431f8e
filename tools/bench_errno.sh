#!/usr/bin/env bash
# Benchmark of the errno paths (`sudo make bench BENCH=errno`; results go in
# docs/benchmarks.md): connects per second of one tight C loop (socket,
# connect to a listener on 127.0.0.1, accept, close both) in a cgroup of its
# own, configurations interleaved round by round:
#   none       no fault
#   cgnomatch  a cgroup errno fault on connect in the loop's cgroup that
#              matches no connect (another port): the hook runs every time
#   scother    under agentctl exec with a fault on a syscall the loop does
#              not make (fsync): the filter traps nothing the loop does
#   sctrap     under agentctl exec with a fault on connect at probability 0:
#              every connect goes to the supervisor, matches, draws, and is
#              let go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE): the bare round
#              trip (a comm, pid or path match adds reads of /proc)
#   strace     strace --seccomp-bpf -e inject=connect:error=EIO:when=65535
#              (traps every connect, fails none), for comparison
# Reports the median rate of each, its ratio to "none" (goal for cgnomatch
# and scother: >= 0.98), the wall-clock cost per connect over "none"
# (1/rate - 1/none), and the loop's own CPU time per connect (user +
# system, which another load on the machine disturbs less than the rate);
# and the cgroup/connect4 program's own run time per connect from the
# kernel's BPF statistics (kernel.bpf_stats_enabled, restored on exit).
# Wall-clock rates need a quiet machine: run it when nothing else does.
#   tools/bench_errno.sh [--rounds N] [--duration SEC]
#   FL_BIN: folder of agentd and agentctl (make bench sets it)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FL_BIN=${FL_BIN:-$ROOT/build/bin}
ROUNDS=${FL_BENCH_ROUNDS:-5}
DURATION=${FL_BENCH_DURATION:-3}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	*) echo "usage: $0 [--rounds N] [--duration SEC]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench_errno: needs root" >&2; exit 2; }
TMP=$(mktemp -d /tmp/fl-bench-errno.XXXXXX)
AGENT=
CG=
cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$TMP/loop.c" <<'C'
/* For DURATION seconds: prints connects per second of wall-clock time and
 * the loop's own CPU time (user + system) per connect, in ns. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double cpu(void) { struct rusage u; getrusage(RUSAGE_SELF, &u); return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6; }
int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
	double d = atof(argv[1]), t0, c0, t;
	long n = 0;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (void *)&a, sizeof(a)) || listen(l, 64) || getsockname(l, (void *)&a, &len))
		return perror("listen"), 1;
	t0 = now();
	c0 = cpu();
	do {
		int c = socket(AF_INET, SOCK_STREAM, 0), s;
		struct linger lg = {1, 0};
		if (connect(c, (void *)&a, sizeof(a)))
			return perror("connect"), 1;
		s = accept(l, NULL, NULL);
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* RST: no TIME_WAIT pile-up */
		close(c);
		close(s);
		n++;
	} while ((t = now()) - t0 < d);
	printf("%.0f %.0f\n", n / (t - t0), (cpu() - c0) / n * 1e9);
	return 0;
}
C
cc -O2 -o "$TMP/connloop" "$TMP/loop.c" || exit 1
"$FL_BIN/agentd" --socket "$TMP/s" --state-dir "$TMP" --metrics-port 0 >"$TMP/agentd.log" 2>&1 &
AGENT=$!
for ((i = 0; i < 50; i++)); do "$FL_BIN/agentctl" -s "$TMP/s" status >/dev/null 2>&1 && break; sleep 0.1; done
ctl() { "$FL_BIN/agentctl" -s "$TMP/s" "$@"; }
CG2=$(ctl doctor --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cgroup2_path"])')
CG=$CG2/faultline-bench-errno-$$
mkdir "$CG"
echo '{"kind":"errno","params":{"syscall":"fsync","errno":"EIO"}}' >"$TMP/fsync.json"
echo '{"kind":"errno","params":{"syscall":"connect","errno":"EIO","prob":0}}' >"$TMP/conn.json"
inloop() { sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG" "$@"; }
run() { # CONFIG: one rate
	case $1 in
	none) inloop "$TMP/connloop" "$DURATION" ;;
	cgnomatch)
		local id
		id=$(ctl inject errno --syscall connect --errno ECONNREFUSED --cgroup "$CG" --dport 9 --for 5m)
		inloop "$TMP/connloop" "$DURATION"
		bpftool prog show name fl_connect4 --json 2>/dev/null | python3 -c "
import json, sys
p = json.load(sys.stdin)
p = p[0] if isinstance(p, list) else p
print(p.get('run_time_ns', 0), p.get('run_cnt', 0))" >>"$TMP/bpfstats"
		ctl clear "$id" >/dev/null ;;
	scother) inloop "$FL_BIN/agentctl" -s "$TMP/s" exec --fault "$TMP/fsync.json" -- "$TMP/connloop" "$DURATION" 2>/dev/null ;;
	sctrap) inloop "$FL_BIN/agentctl" -s "$TMP/s" exec --fault "$TMP/conn.json" -- "$TMP/connloop" "$DURATION" 2>/dev/null ;;
	strace) inloop strace -qq -f --seccomp-bpf -o /dev/null -e trace=connect \
		-e inject=connect:error=EIO:when=65535 "$TMP/connloop" "$DURATION" ;;
	esac
}
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
trap 'sysctl -qw kernel.bpf_stats_enabled=$OLD_STATS; cleanup' EXIT
CONFIGS=(none cgnomatch scother sctrap strace)
declare -A R C
for ((r = 0; r < ROUNDS; r++)); do
	for ((k = 0; k < ${#CONFIGS[@]}; k++)); do
		c=${CONFIGS[$(((k + r) % ${#CONFIGS[@]}))]}
		read -r rate ns < <(run "$c")
		R[$c]+="$rate "
		C[$c]+="$ns "
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
base=$(echo "${R[none]}" | median)
cbase=$(echo "${C[none]}" | median)
echo "connects/s, median of $ROUNDS rounds of ${DURATION}s (kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-10s %9s %6s %12s %12s %8s   %s\n" config rate ratio "us/conn +" "cpu ns/conn" "cpu +ns" "rates"
for c in "${CONFIGS[@]}"; do
	m=$(echo "${R[$c]}" | median)
	cm=$(echo "${C[$c]}" | median)
	awk -v c="$c" -v m="$m" -v b="$base" -v cm="$cm" -v cb="$cbase" -v all="${R[$c]}" 'BEGIN {
		printf "%-10s %9.0f %6.3f %12.2f %12.0f %8.0f   %s\n", c, m, m / b, (1 / m - 1 / b) * 1e6, cm, cm - cb, all }'
done
awk '{ t += $1; n += $2 } END { if (n) printf "cgroup/connect4 program (no match): %.0f ns per connect over %d runs (kernel BPF statistics)\n", t / n, n }' "$TMP/bpfstats"
