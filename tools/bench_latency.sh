#!/usr/bin/env bash
# Benchmark of the latency path through NFQUEUE (`sudo make bench BENCH=latency`;
# results go in docs/benchmarks.md).
#
#   tools/bench_latency.sh [--rounds N] [--duration SEC] [--held-conns N]
#
# wrk -t1 -c32 from one network namespace to nginx (1 worker, `return 200`)
# in another over veth, side by side in one run, the configurations
# interleaved round by round:
#   none     no agentd running
#   nomatch  a latency fault on the server's veth ingress that matches no
#            request (TCP to port 9): its xt_bpf selector looks at every packet
#   zero     a 0 ms --per packet fault on TCP to the service port: every
#            packet wrk sends goes through the agent's queue
#   floor    no agentd; the same packets through an NFQUEUE rule (no BPF
#            match) to tools/nfq_accept.c, which accepts each one at once
#            from a blocking recv: the kernel's queue round trip alone, the
#            floor under "zero"
# The order rotates from round to round. Reports the median requests/s of
# each, its ratio to "none" and the per-round ratios (goals: nomatch >= 0.99,
# zero >= 0.6; zero / floor per round), and the agent's CPU per packet in
# "zero". The kernel's BPF
# statistics are off for those rounds; the selector's run time per packet
# is measured after them, in short runs with the statistics on.
# Then "req50": a 50 ms --per request fault with wrk -c N (--held-conns,
# default 600: about N / 50 ms requests held per second, 12k/s at 600): the
# agent's own p50/p99/max of the delays it applied (the error of the median
# delay, goal <= 1 ms at 10k packets/s held), packets held per second, wrk's
# latency with and without the fault, and the agent's CPU per delayed packet.
# The agent's CPU includes the kernel's work on each packet after its
# verdict (the rest of the receive path runs in the agent's sendmsg).
# Everything it makes is removed on exit, also on failure or Ctrl-C.
#   FL_BIN: folder of agentd and agentctl (make bench sets it)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FL_BIN=${FL_BIN:-$ROOT/build/bin}
ROUNDS=${FL_BENCH_ROUNDS:-5}
DURATION=${FL_BENCH_DURATION:-5}
HELD=600

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//p}' "$0"; }
die() { echo "bench_latency: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:-}; shift 2 ;;
	--duration) DURATION=${2:-}; shift 2 ;;
	--held-conns) HELD=${2:-}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in "$ROUNDS" "$DURATION"; do
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ] && [ "$v" -le 600 ] || die "'$v' is not a count 1-600"
done
[[ $HELD =~ ^[0-9]+$ ]] && [ "$HELD" -ge 1 ] && [ "$HELD" -le 4000 ] || die "--held-conns: '$HELD' is not 1-4000"

. "$ROOT/tests/lib.sh"
[ "$(id -u)" -eq 0 ] || die "run as root: sudo make bench BENCH=latency"
for b in agentd agentctl nfq_accept; do [ -x "$FL_BIN/$b" ] || die "$FL_BIN/$b is missing (run: make)"; done
for c in wrk nginx python3; do command -v "$c" >/dev/null || die "$c is missing (run: make deps)"; done

CLI=fl-blat-cli-$$
SRV=fl-blat-srv-$$
IF_CLI=flbc$$
IF_SRV=flbs$$
SRV_IP=10.254.200.2
URL=http://$SRV_IP:8080/
TMP=$(mktemp -d /tmp/fl-blat.XXXXXX)
at_exit "rm -rf $TMP"
make_netns "$CLI" || die "cannot make netns $CLI"
make_netns "$SRV" || die "cannot make netns $SRV"
veth_pair "$CLI" "$IF_CLI" 10.254.200.1/24 "$SRV" "$IF_SRV" "$SRV_IP/24" || die "cannot make the veth pair"
start_nginx "$SRV" 8080 || die "cannot start nginx"
ulimit -n 65536 2>/dev/null || true

echo "# Faultline latency-path benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# kernel $(uname -r), $(nproc) CPUs"
echo "# command: tools/bench_latency.sh --rounds $ROUNDS --duration $DURATION --held-conns $HELD"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

agent_up() { [ -n "${AGENT_PID:-}" ] || start_agentd || die "agentd did not start"; }
inject() { ctl inject latency --netns "$SRV" --dev "$IF_SRV" --ingress --for 30m "$@" || die "inject $* failed"; }
field() { ctl list --json | python3 -c '
import json, sys
v = [f for f in json.load(sys.stdin) if f["id"] == int(sys.argv[1])][0]
for k in sys.argv[2].split("."): v = v[k]
print(v)' "$1" "$2"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; }
# wrk_run CONNS SECONDS: "requests/s p50_ms p99_ms"
wrk_run() {
	ip netns exec "$CLI" wrk -t1 -c"$1" -d"$2"s --latency "$URL" >"$TMP/wrk" 2>&1
	python3 - "$TMP/wrk" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
def ms(p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, t, re.M)
    if not m: return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
print(rps.group(1) if rps else "0", ms(50), ms(99))
PY
}
HZ=$(getconf CLK_TCK)
# The selector's run time per packet comes from the kernel's BPF statistics
# (kernel.bpf_stats_enabled), which cost two clock reads a run: they are off
# for the throughput rounds and on only for the selector's own runs after
# them, then put back as found.
OLD_STATS=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo)
[ -n "$OLD_STATS" ] && at_exit "echo $OLD_STATS >/proc/sys/kernel/bpf_stats_enabled"
stats() { [ -n "$OLD_STATS" ] && echo "$1" >/proc/sys/kernel/bpf_stats_enabled 2>/dev/null; }
stats 0
# sel_cost: "RUNS NS" summed over the fl_latency programs loaded now.
sel_cost() {
	bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
d = [p for p in json.load(sys.stdin) if p.get("name") == "fl_latency"]
print(sum(p.get("run_cnt", 0) for p in d), sum(p.get("run_time_ns", 0) for p in d))'
}
# The floor's queue: a number the agent's faults (from 0 up) do not reach.
FLOOR_Q=65000
FLOOR_RULE=(PREROUTING -i "$IF_SRV" -p tcp --dport 8080 -j NFQUEUE --queue-num $FLOOR_Q --queue-bypass)
floor_pid=
floor_stop() {
	ip netns exec "$SRV" iptables -w 5 -t mangle -D "${FLOOR_RULE[@]}" 2>/dev/null
	[ -n "$floor_pid" ] && kill "$floor_pid" 2>/dev/null && wait "$floor_pid" 2>/dev/null
	floor_pid=
}
at_exit floor_stop
floor_start() {
	rm -f "$TMP/floor.ready"
	ip netns exec "$SRV" "$FL_BIN/nfq_accept" $FLOOR_Q "$TMP/floor.ready" &
	floor_pid=$!
	wait_until 5 test -e "$TMP/floor.ready" || die "nfq_accept did not bind its queue in 5 s"
	ip netns exec "$SRV" iptables -w 5 -t mangle -A "${FLOOR_RULE[@]}" || die "cannot add the floor's NFQUEUE rule"
}
# start CFG: what the configuration needs before wrk; sets id (the fault).
start() {
	floor_stop
	case $1 in
	none) stop_agentd; id= ;;
	floor) stop_agentd; id=; floor_start ;;
	nomatch) agent_up; id=$(inject --proto tcp --dport 9 --delay 10ms) ;;
	zero) agent_up; id=$(inject --proto tcp --dport 8080 --delay 0ms --per packet) ;;
	esac
}

# Rounds: the four side by side, the order rotating from round to round.
CFGS=(none nomatch zero floor)
declare -A RPS RATIOS
for ((r = 0; r < ROUNDS; r++)); do
	declare -A THIS=()
	for ((k = 0; k < ${#CFGS[@]}; k++)); do
		cfg=${CFGS[$(((r + k) % ${#CFGS[@]}))]}
		start "$cfg"
		[ "$cfg" = zero ] && c0=$(cpu_ticks)
		read -r rps _ _ < <(wrk_run 32 "$DURATION")
		RPS[$cfg]+="$rps "
		THIS[$cfg]=$rps
		if [ "$cfg" = zero ]; then
			c1=$(cpu_ticks)
			q=$(field "$id" queued)
			echo "# round $r zero: $q packets through the queue, agent CPU $(((c1 - c0) * 1000 / HZ)) ms"
			ZQ=$((${ZQ:-0} + q)) ZC=$((${ZC:-0} + c1 - c0))
		fi
		[ -n "$id" ] && ctl clear "$id" >/dev/null
		echo "# round $r $cfg: $rps requests/s"
	done
	for cfg in nomatch zero floor; do
		RATIOS[$cfg]+="$(python3 -c "print('%.3f' % (${THIS[$cfg]} / max(1, ${THIS[none]})))") "
	done
	RATIOS[zero/floor]+="$(python3 -c "print('%.3f' % (${THIS[zero]} / max(1, ${THIS[floor]})))") "
done
floor_stop
med() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
none=$(echo "${RPS[none]}" | med)
echo
echo "| configuration | median requests/s | ratio of medians | per-round ratios (median) | goal |"
echo "|---|---|---|---|---|"
echo "| none (no agentd) | $none | 1.000 | | |"
for cfg in nomatch zero floor; do
	m=$(echo "${RPS[$cfg]}" | med)
	case $cfg in nomatch) goal=">= 0.99" ;; zero) goal=">= 0.6" ;; *) goal= ;; esac
	echo "| $cfg | $m | $(python3 -c "print('%.3f' % ($m / $none))") | ${RATIOS[$cfg]}($(echo "${RATIOS[$cfg]}" | med)) | $goal |"
done
echo
echo "zero / floor per round: ${RATIOS[zero/floor]}(median $(echo "${RATIOS[zero/floor]}" | med))"
echo
echo "agent CPU per packet through the queue (zero): $(python3 -c "print('%.2f us' % (${ZC:-0} / $HZ * 1e6 / max(1, ${ZQ:-0})))") (${ZQ:-0} packets)"

# The selector's own cost, BPF statistics on (not a throughput run).
if stats 1; then
	for cfg in nomatch zero; do
		start "$cfg"
		read -r runs0 ns0 < <(sel_cost)
		wrk_run 32 2 >/dev/null
		read -r runs ns < <(sel_cost)
		runs=$((runs - runs0)) ns=$((ns - ns0))
		ctl clear "$id" >/dev/null
		echo "selector ($cfg): $(python3 -c "print('%.0f ns per packet' % ($ns / max(1, $runs)))") over $runs packets"
	done
	stats 0
else
	echo "selector: no BPF statistics on this kernel"
fi

# ---- 50 ms per request, many requests held ----
stop_agentd
read -r _ b50 _ < <(wrk_run "$HELD" "$DURATION")
agent_up
id=$(inject --proto tcp --dport 8080 --delay 50ms --queue-len 65536)
c0=$(cpu_ticks)
read -r rps p50 p99 < <(wrk_run "$HELD" "$DURATION")
c1=$(cpu_ticks)
d=$(field "$id" delayed)
a50=$(field "$id" delay_applied_ms.p50)
a99=$(field "$id" delay_applied_ms.p99)
amax=$(field "$id" delay_applied_ms.max)
over=$(field "$id" overflow)
ctl clear "$id" >/dev/null
echo
echo "req50 (wrk -c$HELD, $DURATION s): $rps requests/s, $(python3 -c "print('%.0f' % ($d / $DURATION))") packets held per second, overflow $over"
echo "  wrk median $p50 ms, p99 $p99 ms (without the fault, same -c: median $b50 ms; at this -c nginx's own queue"
echo "    sets wrk's latency, so the delay's error is the agent's, below)"
echo "  agent applied: p50 $a50 ms, p99 $a99 ms, max $amax ms (histogram buckets 0.8%: 50 ms reads 49.938 or 50.201)"
echo "  agent CPU per delayed packet: $(python3 -c "print('%.2f us' % (($c1 - $c0) / $HZ * 1e6 / max(1, $d)))")"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
