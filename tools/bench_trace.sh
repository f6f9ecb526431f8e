#!/usr/bin/env bash
# Benchmark of agentctl trace (`sudo FL_BIN=build/bin tools/bench_trace.sh`; results in
# docs/benchmarks.md): wrk -t1 -c32 against nginx (1 worker, `return 200`,
# access log off) on loopback, configurations interleaved round by round:
#   none      no tracing
#   trace     agentctl trace --comm nginx --json (syscalls, run queue,
#             retransmits, drops; one NDJSON document per second)
#   nosys     agentctl trace --comm nginx --no-syscalls --json (all but the
#             syscall histograms: raw_syscalls left alone)
#   idle      agentctl trace --pid of an idle process: every hook attached,
#             every program leaves at its first compare (the hooks' floor)
#   bpftrace  bpftrace with the same histograms from classic tracepoints
#             (per-syscall latency of nginx, its run-queue latency,
#             retransmits, drops by reason), printed at its end
# Reports the median requests/s of each and its ratio to "none" (goal for
# trace: >= 0.95, and above bpftrace), with the load average before the run;
# and the CPU a request costs (nginx's worker, wrk and the tracer, user and
# system), whose ratio to "none" is what the rate would be on a CPU-bound
# machine nobody else loads.
# Wall-clock rates need a quiet machine: run it when nothing else does.
#   tools/bench_trace.sh [--rounds N] [--duration SEC] [--progs]
#   FL_BIN: folder of agentctl (make bench sets it)
# --progs: a diagnostic run instead, never mixed with the rates: one wrk run
# under agentctl trace with the kernel's BPF statistics on
# (kernel.bpf_stats_enabled, put back as found), and each trace program's
# runs and ns per run from bpftool prog show. FL_AGENTCTL_OLD=PATH measures
# another agentctl the same way, after it, to compare (and, for the rates,
# adds the configuration "old": that agentctl's trace --comm nginx).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FL_BIN=${FL_BIN:-$ROOT/build/bin}
ROUNDS=${FL_BENCH_ROUNDS:-3}
DURATION=${FL_BENCH_DURATION:-5}
PORT=${FL_BENCH_PORT:-18480}
PROGS=0
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--progs) PROGS=1; shift ;;
	*) echo "usage: $0 [--rounds N] [--duration SEC] [--progs]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench_trace: needs root" >&2; exit 2; }
TMP=$(mktemp -d /tmp/fl-bench-trace.XXXXXX)
TRACER=
STATS_WAS=
cleanup() {
	[ -n "$TRACER" ] && kill -INT "$TRACER" 2>/dev/null && wait "$TRACER" 2>/dev/null
	[ -n "$STATS_WAS" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	[ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null
	[ -n "${IDLE:-}" ] && kill "$IDLE" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$TMP/nginx.conf" <<NGX
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log;
daemon on;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP; proxy_temp_path $TMP; fastcgi_temp_path $TMP;
	uwsgi_temp_path $TMP; scgi_temp_path $TMP;
	server { listen 127.0.0.1:$PORT; location / { return 200 "ok\n"; } }
}
NGX
sleep 100000 &
IDLE=$!
nginx -c "$TMP/nginx.conf" -p "$TMP" || { echo "bench_trace: nginx did not start" >&2; exit 1; }

cat >"$TMP/trace.bt" <<'BT'
tracepoint:raw_syscalls:sys_enter /comm == "nginx"/ { @start[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit /@start[tid]/ {
	@sys_us[args->id] = hist((nsecs - @start[tid]) / 1000);
	delete(@start[tid]);
}
tracepoint:sched:sched_wakeup,tracepoint:sched:sched_wakeup_new /args->comm == "nginx"/ { @qs[args->pid] = nsecs; }
tracepoint:sched:sched_switch {
	if (args->prev_state == 0 && args->prev_comm == "nginx") { @qs[args->prev_pid] = nsecs; }
	$s = @qs[args->next_pid];
	if ($s) { @runq_us = hist((nsecs - $s) / 1000); delete(@qs[args->next_pid]); }
}
tracepoint:tcp:tcp_retransmit_skb { @retransmits = count(); }
tracepoint:skb:kfree_skb { @drops[args->reason] = count(); }
BT

start_tracer() { # CONFIG: the tracer in the background, back once attached
	case $1 in
	none) TRACER= ; return 0 ;;
	trace) "${AGENTCTL:-$FL_BIN/agentctl}" trace --comm nginx --json >/dev/null 2>"$TMP/tracer.err" &
		TRACER=$!; pat="tracing on" ;;
	idle) "$FL_BIN/agentctl" trace --pid "$IDLE" --json >/dev/null 2>"$TMP/tracer.err" &
		TRACER=$!; pat="tracing on" ;;
	old) "$FL_AGENTCTL_OLD" trace --comm nginx --json >/dev/null 2>"$TMP/tracer.err" &
		TRACER=$!; pat="tracing on" ;;
	nosys) "$FL_BIN/agentctl" trace --comm nginx --no-syscalls --json >/dev/null 2>"$TMP/tracer.err" &
		TRACER=$!; pat="tracing on" ;;
	bpftrace) bpftrace "$TMP/trace.bt" >"$TMP/tracer.err" 2>&1 &
		TRACER=$!; pat="Attaching" ;;
	esac
	for ((i = 0; i < 150; i++)); do
		grep -q "$pat" "$TMP/tracer.err" && sleep 1 && return 0 # settle: bpftrace says it before it is done
		kill -0 "$TRACER" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench_trace: $1 did not start: $(cat "$TMP/tracer.err")" >&2
	exit 1
}
stop_tracer() {
	[ -n "$TRACER" ] || return 0
	kill -INT "$TRACER"
	wait "$TRACER" 2>/dev/null
	TRACER=
}
rate() { wrk -t1 -c32 -d"${DURATION}s" "http://127.0.0.1:$PORT/" | awk '/^Requests\/sec/ { print $2 }'; }
# ticks PID...: user + system CPU ticks of those processes so far
ticks() { for p in "$@"; do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null; done | awk '{ s += $1 } END { print s + 0 }'; }
# measure: "requests/s cpu_us_per_request": the CPU of nginx's worker, of wrk
# and of the tracer itself, per request. On a machine others load, the rate
# moves with their load; the CPU a request costs much less, and on a
# CPU-bound machine the rate is its inverse.
measure() {
	local workers t0 t1 out reqs w
	workers=$(pgrep -P "$(cat "$TMP/nginx.pid")")
	t0=$(ticks $workers ${TRACER:-})
	out=$(/usr/bin/time -f 'wrkticks %U %S' wrk -t1 -c32 -d"${DURATION}s" "http://127.0.0.1:$PORT/" 2>&1)
	t1=$(ticks $workers ${TRACER:-})
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	w=$(awk '/^wrkticks/ { print ($2 + $3) * 100 }' <<<"$out")
	awk -v r="$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")" -v n="$reqs" -v d=$((t1 - t0)) -v w="$w" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%s %.2f\n", r, (d + w) * 1e6 / hz / n }'
}

# progs_run LABEL: one wrk run under the trace; runs and ns per run of each
# of its programs (the statistics count only while enabled: a difference).
progs_stats() {
	bpftool -j prog show | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("fl_tr_"):
        print(p["name"], p.get("run_cnt", 0), p.get("run_time_ns", 0))'
}
progs_run() {
	start_tracer trace
	progs_stats >"$TMP/before"
	v=$(rate)
	progs_stats >"$TMP/after"
	stop_tracer
	echo "# $1: $v requests/s (statistics on: not a rate to compare)"
	python3 - "$TMP/before" "$TMP/after" <<'PY'
import sys
b = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1])}
for l in open(sys.argv[2]):
    n, c, t = l.split()
    c0, t0 = map(int, b.get(n, ["0", "0"]))
    runs, ns = int(c) - c0, int(t) - t0
    if runs:
        print(f"  {n:24} {runs:10} runs {ns / runs:8.0f} ns/run {ns / 1e6:8.1f} ms")
PY
}
if [ "$PROGS" = 1 ]; then
	echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg); wrk -t1 -c32 -d${DURATION}s"
	STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	progs_run "agentctl trace --comm nginx ($FL_BIN/agentctl)"
	if [ -n "${FL_AGENTCTL_OLD:-}" ]; then
		AGENTCTL=$FL_AGENTCTL_OLD progs_run "agentctl trace --comm nginx ($FL_AGENTCTL_OLD)"
	fi
	exit 0
fi

# The rates are measured with the kernel's BPF statistics off: on, every
# program run reads sched_clock twice (a pvclock read on this KVM guest:
# a quarter of a traced syscall's cost under perf). Switched off for the
# run if something left it on, and put back as found.
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
if [ "$STATS_WAS" != 0 ]; then
	echo "# kernel.bpf_stats_enabled was $STATS_WAS: off for the rates, restored after"
	sysctl -qw kernel.bpf_stats_enabled=0
fi
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; kernel $(uname -r)"
echo "# wrk -t1 -c32 -d${DURATION}s against nginx on 127.0.0.1, $ROUNDS rounds"
CONFIGS="none trace nosys idle bpftrace${FL_AGENTCTL_OLD:+ old}"
for ((r = 1; r <= ROUNDS; r++)); do
	for c in $CONFIGS; do
		start_tracer "$c"
		read -r v cpu < <(measure)
		stop_tracer
		echo "$v" >>"$TMP/$c"
		echo "$cpu" >>"$TMP/$c.cpu"
		eval "r_$c=$v; c_$c=$cpu"
		echo "round $r $c $v requests/s, $cpu CPU us per request"
	done
	# The ratios within the round: the rounds' neighbours share its load.
	# cpu ratio: the untraced CPU per request over this one's.
	for c in $CONFIGS; do
		[ "$c" = none ] && continue
		eval "v=\$r_$c; cpu=\$c_$c"
		echo "$v / $r_none" | bc -l >>"$TMP/$c.ratio"
		echo "$c_none / $cpu" | bc -l >>"$TMP/$c.cpuratio"
	done
	echo "round $r ratios (rate, cpu): $(for c in $CONFIGS; do [ "$c" = none ] || printf '%s %.3f %.3f  ' "$c" "$(tail -1 "$TMP/$c.ratio")" "$(tail -1 "$TMP/$c.cpuratio")"; done)"
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
base=$(median "$TMP/none")
for c in $CONFIGS; do
	m=$(median "$TMP/$c")
	if [ "$c" = none ]; then
		printf '%-9s median %10.0f requests/s  ratio 1.000\n' "$c" "$m"
	else
		printf '%-9s median %10.0f requests/s  ratio of medians %.3f  median of round ratios %.3f\n' \
			"$c" "$m" "$(echo "$m / $base" | bc -l)" "$(median "$TMP/$c.ratio")"
	fi
	if [ "$c" = none ]; then
		printf '%-9s median %8.2f CPU us per request\n' "$c" "$(median "$TMP/$c.cpu")"
	else
		printf '%-9s median %8.2f CPU us per request  cpu ratio (none/this): median of rounds %.3f\n' \
			"$c" "$(median "$TMP/$c.cpu")" "$(median "$TMP/$c.cpuratio")"
	fi
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
