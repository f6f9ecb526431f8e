#!/usr/bin/env bash
# Benchmark of agentctl trace requests and its join (`sudo FL_BIN=build/bin
# tools/bench_trace_requests.sh`; results in docs/benchmarks.md):
#  1. wrk -t1 -c32 against nginx (1 worker, `return 200`, access log off) on
#     loopback, configurations interleaved round by round:
#       none      no tracing
#       requests  agentctl trace requests --comm wrk (a record per request,
#                 zlib NDJSON on disk)
#     the median requests/s of each and the ratio (goal >= 0.9), with the
#     records written and lost per round, the per-round ratios, and what
#     tracing costs in CPU per request, which a loaded machine does not
#     blur: the tracer's own CPU (reading the ring buffer, writing zlib
#     NDJSON) in those rounds, and the fl_rq_* programs' run time, each
#     program's and all, from a run after them with the kernel's BPF
#     statistics on (kernel.bpf_stats_enabled: two clock reads a program
#     run, so off for the rates, and restored at the end).
#  2. the join: loadgen at a fixed rate against the same nginx, traced, then
#     agentctl reconcile with and without --traces: the time the join adds
#     per request, and how many requests it joined.
# Wall-clock rates need a quiet machine: the load average is printed.
#   tools/bench_trace_requests.sh [--rounds N] [--duration SEC]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FL_BIN=${FL_BIN:-$ROOT/build/bin}
ROUNDS=${FL_BENCH_ROUNDS:-5}
DURATION=${FL_BENCH_DURATION:-5}
PORT=${FL_BENCH_PORT:-18490}
JOIN_RATE=${FL_BENCH_JOIN_RATE:-5000}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	*) echo "usage: $0 [--rounds N] [--duration SEC]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench_trace_requests: needs root" >&2; exit 2; }
TMP=$(mktemp -d /tmp/fl-bench-treq.XXXXXX)
TRACER=
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
sysctl -qw kernel.bpf_stats_enabled=0
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	[ -n "$TRACER" ] && kill -INT "$TRACER" 2>/dev/null && wait "$TRACER" 2>/dev/null
	[ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null
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
nginx -c "$TMP/nginx.conf" -p "$TMP" || { echo "bench_trace_requests: nginx did not start" >&2; exit 1; }

start_tracer() { # COMM OUT: the trace in the background, back once attached
	"$FL_BIN/agentctl" trace requests --comm "$1" --port "$PORT" --out "$2" 2>"$TMP/tracer.err" &
	TRACER=$!
	for ((i = 0; i < 150; i++)); do
		grep -q "tracing requests on" "$TMP/tracer.err" && return 0
		kill -0 "$TRACER" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench_trace_requests: the trace did not start: $(cat "$TMP/tracer.err")" >&2
	exit 1
}
bpf_progs() { # "NAME RUN_TIME_NS RUN_CNT" of each fl_rq_* program loaded now
	bpftool prog show 2>/dev/null | awk '/ name fl_rq_/ {
		for (i = 1; i <= NF; i++) { if ($i == "name") n = $(i + 1); if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) }
		print n, t + 0, c + 0; n = ""; t = 0; c = 0 }'
}
tracer_ticks() { awk '{ print $14 + $15 }' "/proc/$TRACER/stat"; }
stop_tracer() { # prints "RECORDS LOST"
	kill -INT "$TRACER"
	wait "$TRACER" 2>/dev/null
	TRACER=
	sed -n 's/.*: \([0-9]*\) records (.*), \([0-9]*\) lost,.*/\1 \2/p' "$TMP/tracer.err"
}
rate() { wrk -t1 -c32 -d"${DURATION}s" "http://127.0.0.1:$PORT/" | awk '/^Requests\/sec/ { print $2 }'; }

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; kernel $(uname -r)"
echo "# wrk -t1 -c32 -d${DURATION}s against nginx on 127.0.0.1, $ROUNDS rounds"
for ((r = 1; r <= ROUNDS; r++)); do
	v=$(rate)
	echo "$v" >>"$TMP/none"
	start_tracer wrk "$TMP/wrk.gz"
	c0=$(tracer_ticks)
	w=$(rate)
	c1=$(tracer_ticks)
	stop_tracer >"$TMP/stop"
	read -r recs lost <"$TMP/stop"
	echo "$w" >>"$TMP/requests"
	echo "$w / $v" | bc -l >>"$TMP/ratios"
	cus=$(echo "($c1 - $c0) * 1000000 / $(getconf CLK_TCK) / $recs" | bc -l)
	printf '%s\n' "$cus" >>"$TMP/cpu_us"
	printf 'round %d none %s requests/s; requests %s requests/s (ratio %.3f), %s records, %s lost, %s bytes; per request: %.2f us in the tracer\n' \
		"$r" "$v" "$w" "$(echo "$w / $v" | bc -l)" "$recs" "$lost" "$(stat -c %s "$TMP/wrk.gz")" "$cus"
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
base=$(median "$TMP/none")
for c in none requests; do
	m=$(median "$TMP/$c")
	printf '%-9s median %10.0f requests/s  ratio %.3f\n' "$c" "$m" "$(echo "$m / $base" | bc -l)"
done
printf 'per-round ratios: %s(median %.3f)\n' "$(xargs printf '%.3f ' <"$TMP/ratios")" "$(median "$TMP/ratios")"
printf 'tracer CPU per request, median: %.2f us\n' "$(median "$TMP/cpu_us")"

# ---- the programs' own run time: one more traced run, statistics on ----
sysctl -qw kernel.bpf_stats_enabled=1
start_tracer wrk "$TMP/wrk.gz"
bpf_progs >"$TMP/p0"
rate >/dev/null
bpf_progs >"$TMP/p1"
stop_tracer >"$TMP/stop"
sysctl -qw kernel.bpf_stats_enabled=0
read -r recs lost <"$TMP/stop"
awk -v recs="$recs" 'NR == FNR { t0[$1] = $2; c0[$1] = $3; next }
	{ dt = $2 - t0[$1]; dc = $3 - c0[$1]; all += dt
	  if (dc) printf "  %-22s %6.2f runs, %5.0f ns a run, %.3f us per request\n", $1, dc / recs, dt / dc, dt / 1000 / recs }
	END { printf "BPF per request (statistics on, %d records): %.2f us\n", recs, all / 1000 / recs }' "$TMP/p0" "$TMP/p1"

# ---- the join ----
start_tracer loadgen "$TMP/lg.gz"
"$FL_BIN/loadgen" "http://127.0.0.1:$PORT/" --rate "$JOIN_RATE" --duration "${DURATION}s" -c 64 \
	--ledger "$TMP/lg.fll" -q >/dev/null 2>&1
stop_tracer >"$TMP/stop"
read -r recs lost <"$TMP/stop"
cpu_ms() { # ARGS: the CPU time (user + system, ms) agentctl reconcile takes: wall time
	# on a loaded machine says more about the others
	/usr/bin/time -f '%U %S' -o "$TMP/time" "$FL_BIN/agentctl" reconcile --ledger "$TMP/lg.fll" \
		--receipts ndjson:/dev/null --out "$TMP/rc" "$@" >"$TMP/rc.out" 2>&1
	tail -1 "$TMP/time" | awk '{ printf "%d\n", ($1 + $2) * 1000 }'
}
best() { # the least of 5 runs
	local i v m=
	for i in 1 2 3 4 5; do
		v=$(cpu_ms "$@")
		if [ -z "$m" ] || [ "$v" -lt "$m" ]; then m=$v; fi
	done
	echo "$m"
}
plain=$(best)
joined=$(best --traces "$TMP/lg.gz")
n=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["traces"]; print(t["requests"], t["matched"])' "$TMP/rc/report.json")
read -r nreq nmatch <<<"$n"
echo "join: loadgen --rate $JOIN_RATE for ${DURATION}s: $nreq requests, $recs records ($lost lost, $(stat -c %s "$TMP/lg.gz") bytes); reconcile CPU ${plain} ms, with --traces ${joined} ms (least of 5): $(((joined - plain) * 1000000 / (nreq ? nreq : 1))) ns per request; $nmatch joined"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
