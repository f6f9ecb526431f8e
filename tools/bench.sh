#!/usr/bin/env bash
# Benchmarks of the drop path (`sudo make bench`; results go in docs/benchmarks.md).
#
#   tools/bench.sh [--rounds N] [--duration SEC] [--step SEC] [http] [events]
#
# http:   wrk -t1 -c32 from one network namespace to nginx (1 worker, `return
#         200`) in another over veth, side by side in one run, configurations
#         interleaved round by round (the order rotates):
#           none      no agentd running
#           nomatch   agentd with a drop fault on the path that matches no
#                     request (TCP to port 9; the program parses every packet
#                     and tests the rule)
#           prob0     agentd with a fault that matches every packet of the
#                     service (TCP to port 8080) at probability 0 (counters and
#                     a random draw per packet, no drop)
#         The faults sit on ingress of the server's veth, inside its netns:
#         every packet wrk sends passes through them. Reports the median
#         requests/s of each and its ratio to "none" (goal: >= 0.99).
# events: a UDP flood from one namespace into another at rising rates, each
#         for --step seconds, all dropped by a 100% fault (one event each):
#         events the agent took from the ring buffer, and events lost
#         (events_lost in `agentctl status --json`).
# With no part named, runs both (about 4 minutes with the defaults: 10 rounds
# of 5 s, steps of 4 s).
# The drop program's run time per packet comes from the kernel's BPF
# statistics: kernel.bpf_stats_enabled is switched on for the run and
# restored on exit. Everything it makes is removed on exit, also on failure
# or Ctrl-C.
#   FL_BIN: folder of agentd and agentctl (make bench sets it)
#   FL_BENCH_ROUNDS, FL_BENCH_DURATION, FL_BENCH_STEP: defaults for the options
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FL_BIN=${FL_BIN:-$ROOT/build/bin}
ROUNDS=${FL_BENCH_ROUNDS:-10}
DURATION=${FL_BENCH_DURATION:-5}
STEP=${FL_BENCH_STEP:-4}
RATES=(25000 50000 75000 100000 125000 150000 200000 0) # packets/s; 0 = as fast as one sender can
PARTS=()

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//p}' "$0"; }
die() { echo "bench: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:-}; shift 2 ;;
	--duration) DURATION=${2:-}; shift 2 ;;
	--step) STEP=${2:-}; shift 2 ;;
	http | events) PARTS+=("$1"); shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in "$ROUNDS" "$DURATION" "$STEP"; do
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ] && [ "$v" -le 600 ] || die "'$v' is not a count 1-600"
done
[ ${#PARTS[@]} -gt 0 ] || PARTS=(http events)

. "$ROOT/tests/lib.sh"
[ "$(id -u)" -eq 0 ] || die "run as root: sudo make bench (agentd loads BPF programs)"
for b in agentd agentctl; do [ -x "$FL_BIN/$b" ] || die "$FL_BIN/$b is missing (run: make)"; done
for c in wrk nginx python3 gcc; do command -v "$c" >/dev/null || die "$c is missing (run: make deps)"; done

CLI=fl-bench-cli-$$
SRV=fl-bench-srv-$$
IF_CLI=flbc$$
IF_SRV=flbs$$
SRV_IP=10.249.0.2
PORT=8080
TMP=$(mktemp -d /tmp/fl-bench.XXXXXX)
at_exit "rm -rf $TMP"

make_netns "$CLI" || die "cannot make netns $CLI"
make_netns "$SRV" || die "cannot make netns $SRV"
veth_pair "$CLI" "$IF_CLI" 10.249.0.1/24 "$SRV" "$IF_SRV" "$SRV_IP/24" || die "cannot make the veth pair"

echo "# Faultline drop-path benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# kernel $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "# command: tools/bench.sh --rounds $ROUNDS --duration $DURATION --step $STEP ${PARTS[*]}"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# load average at start: $(loadavg) (other work on the machine makes requests/s noisy;"
echo "#   the program's run time per packet, from the kernel's BPF statistics, is not affected much)"

agent_up() { [ -n "${AGENT_PID:-}" ] || start_agentd || die "agentd did not start"; }
agent_down() { stop_agentd; }
# inject ARGS...: a fault on the server's veth ingress; prints its id
inject() {
	ctl inject drop --netns "$SRV" --dev "$IF_SRV" --ingress --for 30m "$@" || die "inject $* failed"
}
fault_field() { # ID FIELD
	ctl list --json | python3 -c '
import json, sys
print([f for f in json.load(sys.stdin) if f["id"] == int(sys.argv[1])][0][sys.argv[2]])' "$1" "$2"
}
status_field() { ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Per-packet run time of the drop program, from the kernel's BPF statistics
# (sysctl kernel.bpf_stats_enabled, switched on for the run and restored).
OLD_STATS=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo)
if [ -n "$OLD_STATS" ] && echo 1 >/proc/sys/kernel/bpf_stats_enabled 2>/dev/null; then
	at_exit "echo $OLD_STATS >/proc/sys/kernel/bpf_stats_enabled"
	HAVE_STATS=1
else
	HAVE_STATS=0
fi
# prog_cost [raw]: "N packets, X ns/packet" (raw: "N TIME_NS") for the newest
# fl_drop program whose read-only data names the ifindex of $IF_SRV.
prog_cost() {
	if [ "$HAVE_STATS" != 1 ]; then
		if [ -n "${1:-}" ]; then echo "0 0"; else echo "(no bpf stats)"; fi
		return
	fi
	python3 - "$(ip netns exec "$SRV" cat /sys/class/net/"$IF_SRV"/ifindex)" "${1:-}" <<'PY'
import json, subprocess, sys
def bt(*a):
    d = json.loads(subprocess.run(["bpftool", "-j", *a], capture_output=True, text=True).stdout or "[]")
    return d if isinstance(d, list) else [d]
want, best = int(sys.argv[1]), None
for p in bt("prog", "show"):
    if p.get("name") != "fl_drop":
        continue
    for m in p.get("map_ids", []):
        info = bt("map", "show", "id", str(m))
        if not info or not info[0].get("name", "").endswith(".rodata"):
            continue
        for e in bt("map", "dump", "id", str(m)):
            ro = {k: v for d in e.get("formatted", {}).get("value", {}).get(".rodata", []) for k, v in d.items()}
            if ro.get("ifindex") == want and (best is None or p["id"] > best["id"]):
                best = p
if sys.argv[2] == "raw":
    print("%d %d" % (best.get("run_cnt", 0), best.get("run_time_ns", 0)) if best else "0 0")
elif not best or not best.get("run_cnt"):
    print("(program not found)")
else:
    print("%d packets, %.1f ns/packet" % (best["run_cnt"], best["run_time_ns"] / best["run_cnt"]))
PY
}

bench_http() {
	local r i cfg id rps out order cost cost_ns notes
	local -a cfgs=(none nomatch prob0)
	start_nginx "$SRV" "$PORT" || die "cannot start nginx"
	for ((i = 0; i < 30; i++)); do
		ip netns exec "$CLI" bash -c "exec 3<>/dev/tcp/$SRV_IP/$PORT" 2>/dev/null && break
		sleep 0.1
	done
	# A short warm-up, not counted.
	ip netns exec "$CLI" wrk -t1 -c32 -d2s "http://$SRV_IP:$PORT/" >/dev/null 2>&1
	echo
	echo "## http: wrk -t1 -c32 -d${DURATION}s http://$SRV_IP:$PORT/ (from netns $CLI to nginx in $SRV)"
	printf '%-6s %-8s %12s %s\n' round config "requests/s" "notes"
	: >"$TMP/http.txt"
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < 3; i++)); do
			cfg=${cfgs[$(((i + r) % 3))]}
			id=
			case $cfg in
			none) agent_down ;;
			nomatch) agent_up; id=$(inject --proto tcp --dport 9 --name nomatch) ;;
			prob0) agent_up; id=$(inject --proto tcp --dport "$PORT" --prob 0 --name prob0) ;;
			esac
			out=$(ip netns exec "$CLI" wrk -t1 -c32 -d"${DURATION}s" "http://$SRV_IP:$PORT/" 2>&1)
			rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
			[ -n "$rps" ] || die "wrk gave no result: $out"
			notes=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' ' | tr '\n' ' ')
			if [ -n "$id" ]; then
				cost=$(prog_cost)
				cost_ns=${cost##*, }
				echo "$cfg-ns ${cost_ns%% *} $r" >>"$TMP/http.txt"
				notes+="fault matched $(fault_field "$id" matched), dropped $(fault_field "$id" dropped); program: $cost"
				ctl clear "$id" >/dev/null || die "clear $id failed"
			fi
			printf '%-6s %-8s %12s %s\n' "$((r + 1))" "$cfg" "$rps" "$notes"
			echo "$cfg $rps $r" >>"$TMP/http.txt"
		done
	done
	agent_down
	echo "load average at the end: $(loadavg)"
	python3 - "$TMP/http.txt" <<'EOF'
import statistics, sys
runs, by_round = {}, {}
for line in open(sys.argv[1]):
    cfg, val, rnd = line.split()[:3]
    try:
        runs.setdefault(cfg, []).append(float(val))
        by_round.setdefault(rnd, {})[cfg] = float(val)
    except ValueError:
        pass
base = statistics.median(runs["none"])
print()
print("ratio: median of the config over median of none; per-round ratio: median over the rounds of")
print("the config's run over the none run of the same round (less sensitive to load that drifts)")
print("%-8s %14s %8s %16s   %s" % ("config", "median req/s", "ratio", "per-round ratio", "all runs"))
for cfg in ("none", "nomatch", "prob0"):
    m = statistics.median(runs[cfg])
    pr = statistics.median(r[cfg] / r["none"] for r in by_round.values() if cfg in r and "none" in r)
    print("%-8s %14.0f %8.3f %16.3f   %s" % (cfg, m, m / base, pr, " ".join("%.0f" % x for x in runs[cfg])))
for cfg in ("nomatch", "prob0"):
    ns = runs.get(cfg + "-ns")
    if ns:
        print("drop program run time with the %s fault: median %.1f ns/packet (%s)" %
              (cfg, statistics.median(ns), " ".join("%.1f" % x for x in ns)))
EOF
}

# A UDP sender paced to a rate (0 = unpaced): sendmmsg in batches of 64.
build_flood() {
	cat >"$TMP/flood.c" <<'EOF'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
	if (argc != 5) { fprintf(stderr, "usage: flood IP PORT RATE SECONDS\n"); return 2; }
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
	double rate = atof(argv[3]), secs = atof(argv[4]), t0, t;
	char payload[32] = "faultline bench";
	struct mmsghdr m[64];
	struct iovec iov = {payload, sizeof(payload)};
	unsigned long long sent = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) { perror("flood"); return 1; }
	memset(m, 0, sizeof(m));
	for (int i = 0; i < 64; i++) { m[i].msg_hdr.msg_iov = &iov; m[i].msg_hdr.msg_iovlen = 1; }
	t0 = now();
	while ((t = now() - t0) < secs) {
		int n = 64;
		if (rate > 0) {
			double allowed = rate * t - sent;
			if (allowed < 1) { usleep(50); continue; }
			if (allowed < n) n = (int)allowed;
		}
		int k = sendmmsg(fd, m, n, 0);
		if (k > 0) sent += k;
	}
	printf("%llu %.3f\n", sent, now() - t0);
	return 0;
}
EOF
	gcc -O2 -o "$TMP/flood" "$TMP/flood.c" || die "cannot build the UDP sender"
}

bench_events() {
	local rate id l0 e0 d0 c0 t0 l1 e1 d1 c1 t1 sent secs i prev label
	build_flood
	agent_up
	id=$(inject --proto udp --dport 9999 --name flood)
	echo
	echo "## events: UDP to $SRV_IP:9999 from netns $CLI, all dropped on $IF_SRV ingress (tcx); ${STEP} s per rate"
	printf '%-9s %10s %8s %11s %11s %9s %10s  %s\n' "rate" "sent" "seconds" "dropped" "events" "lost" "taken/s" "program"
	for rate in "${RATES[@]}"; do
		e0=$(fault_field "$id" events)
		d0=$(fault_field "$id" dropped)
		l0=$(status_field events_lost)
		read -r c0 t0 < <(prog_cost raw)
		read -r sent secs < <(ip netns exec "$CLI" "$TMP/flood" "$SRV_IP" 9999 "$rate" "$STEP")
		# Let the agent drain the ring buffer: until the count stops moving (at most 5 s).
		prev=-1
		for ((i = 0; i < 50; i++)); do
			e1=$(fault_field "$id" events)
			[ "$e1" = "$prev" ] && break
			prev=$e1
			sleep 0.1
		done
		d1=$(fault_field "$id" dropped)
		l1=$(status_field events_lost)
		read -r c1 t1 < <(prog_cost raw)
		label=$rate
		[ "$rate" = 0 ] && label=unpaced
		printf '%-9s %10d %8s %11d %11d %9d %10.0f  %s\n' "$label" "$sent" "$secs" \
			$((d1 - d0)) $((e1 - e0)) $((l1 - l0)) "$(python3 -c "print(($e1-$e0)/$secs)")" \
			"$(python3 -c "print('%.0f ns/packet' % (($t1-$t0)/max($c1-$c0,1)))")"
	done
	echo "(rate: packets/s asked of the sender; sent: packets it sent in that many seconds; dropped:"
	echo " the fault's counter: packets the program saw and dropped (fewer than sent when the"
	echo " receiving side's backlog overflowed before the program); events: records the agent took from the ring buffer and wrote to its"
	echo " log; lost: reservations that failed because the 8 MiB ring buffer was full (events_lost);"
	echo " taken/s: events / seconds; program: the drop program's run time per packet in this step,"
	echo " including the ring buffer reservation, the record and the wake-up of the agent)"
	ctl clear "$id" >/dev/null
	agent_down
	echo "load average at the end: $(loadavg)"
}

for p in "${PARTS[@]}"; do "bench_$p"; done
