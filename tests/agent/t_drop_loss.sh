#!/usr/bin/env bash
# Loss models of a drop, on 20,000 numbered UDP datagrams each: independent
# 10% loss, Gilbert-Elliott ge:p=2%,r=18% (bad 10% of the time: the same
# average) and correlation 90% at 10%. The receiver (in a namespace) finds
# the runs of missing numbers. Independent runs are geometric (mean
# 1/(1-p), nine in ten of length 1); the GE and correlated runs are far
# longer (more than twice the independent mean, near 1/r and
# 1/((1-c)(1-p))); every average lies within about 5 standard deviations of
# the model's (the chains' wider spread included); the datagrams missing are
# exactly the ones the fault dropped, and its runs are the agent's count.
# The sender is pinned to one CPU: each CPU runs its own chain (drop.h).
# Then bad input, refused with a reason, and the agent still up.
. "$(dirname "$0")/../lib.sh"
need_root drop_loss

NS=${FL_TEST_ID}l
DEV=${FL_TEST_ID}b
ADDR=10.249.1.2
PORT=47001 # the fault's; PORT+1 carries the end marker, which no fault matches
N=20000
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.249.1.1/24 "$NS" "$DEV" $ADDR/24
start_agentd
CPU=$(taskset -pc $$ | sed 's/.*: //; s/[-,].*//') # the first CPU this test may use
ping -c 2 -W 1 $ADDR >/dev/null # neighbour resolved before counting

OUT=$(mktemp /tmp/fl-loss.XXXXXX)
at_exit "rm -f $OUT"

# receive: numbers 0..N-1 on PORT until "end" on PORT+1; prints
# "lost runs mean_run share_of_runs_of_1 longest complete|timeout".
receive() {
	ip netns exec "$NS" python3 - $ADDR $PORT $N >"$OUT" <<'PY' &
import select, socket, struct, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE: no loss of our own
a.bind((addr, port))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind((addr, port + 1))
seen = bytearray(n)
print("ready", flush=True)
done = False
def take(d):
    if len(d) == 4 and (i := struct.unpack("!I", d)[0]) < n:
        seen[i] = 1
while not done:
    r, _, _ = select.select([a, b], [], [], 10)
    if not r:
        break
    for s in r:
        d = s.recv(64)
        if s is b:
            done = d == b"end"
        else:
            take(d)
a.setblocking(False)
try:
    while True:
        take(a.recv(64))
except BlockingIOError:
    pass
runs, cur = [], 0
for x in seen:
    if not x:
        cur += 1
    elif cur:
        runs.append(cur)
        cur = 0
if cur:
    runs.append(cur)
lost = n - sum(seen)
k = len(runs) or 1
print(lost, len(runs), lost / k, sum(1 for r in runs if r == 1) / k, max(runs, default=0),
      "complete" if done else "timeout", flush=True)
PY
	RECV_PID=$!
	at_exit "kill $RECV_PID"
	wait_until 5 grep -q ready "$OUT"
}

send() {
	taskset -c "$CPU" python3 - $ADDR $PORT $N <<'PY'
import socket, struct, sys, time
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(struct.pack("!I", i), (addr, port))
    if i % 200 == 199:
        time.sleep(0.001)  # bursts well under the 1,000 packets a CPU's backlog takes
s.sendto(b"end", (addr, port + 1))
PY
}

# fault_field ID EXPR: a Python expression over the fault f of `list --json`.
fault_field() {
	ctl list --json | python3 -c "
import json, sys
f = [f for f in json.load(sys.stdin) if f['id'] == int(sys.argv[1])][0]
print($2)" "$1"
}
# holds NAME PYTHON-CONDITION: check a condition over the numbers below.
holds() { check "$1" python3 -c "import sys; sys.exit(0 if ($2) else 1)"; }

# Datagrams lost on the way but not by the fault: the namespace's UDP
# receive errors (InErrors, RcvbufErrors, MemErrors), the CPUs' backlog
# drops (softnet_stat, column 2) and the sending veth's.
env_drops() {
	local udp backlog
	udp=$(ip netns exec "$NS" awk '/^Udp:/ && $2 ~ /^[0-9]/ { print $4 + $6 + $10 }' /proc/net/snmp)
	backlog=$(python3 -c "print(sum(int(l.split()[1], 16) for l in open('/proc/net/softnet_stat')))")
	echo "$((udp + backlog + $(cat "/sys/class/net/${FL_TEST_ID}a/statistics/tx_dropped")))"
}

# stream NAME PARAMS...: one fault, one stream; sets LOST RUNS MEAN ONES
# LONGEST DONE, the agent's MATCHED DROPPED AGENT_RUNS PARAMS, and ENV (the
# datagrams the host lost outside the fault meanwhile).
stream() {
	local name=$1 id env0
	shift
	id=$(ctl inject drop --dev "$DEV" --netns "$NS" --proto udp --dport $PORT --for 5m "$@")
	[ -n "$id" ] || return 1
	env0=$(env_drops)
	receive
	send
	wait "$RECV_PID" 2>/dev/null
	ENV=$(($(env_drops) - env0))
	read -r LOST RUNS MEAN ONES LONGEST DONE < <(tail -n 1 "$OUT")
	read -r MATCHED DROPPED AGENT_RUNS PARAMS < <(fault_field "$id" \
		"f['matched'], f['dropped'], f.get('loss', {}).get('runs', -1), json.dumps(f['params'], separators=(',', ':'))")
	ctl clear "$id" >/dev/null
	echo "# $name: lost $LOST of $N in $RUNS runs, mean run $MEAN, runs of 1 $ONES, longest $LONGEST ($DONE); agent: matched $MATCHED dropped $DROPPED runs $AGENT_RUNS params $PARAMS; host drops outside the fault $ENV"
}

# run NAME PARAMS...: stream, once more if the host itself lost datagrams
# (a busy shared machine: the receiver cannot tell those from the fault's).
run() {
	local name=$1
	stream "$@" || { fail "drop_loss_${name}_inject"; return 1; }
	if [ "$LOST" != "$DROPPED" ] && [ "$ENV" -gt 0 ]; then
		echo "# $name: the host lost $ENV datagrams outside the fault; once more"
		stream "$@" || { fail "drop_loss_${name}_inject"; return 1; }
	fi
	check "drop_loss_${name}_complete" test "$DONE" = complete
	check "drop_loss_${name}_matched_all" test "$MATCHED" -eq $N
	check "drop_loss_${name}_missing_is_dropped" test "$LOST" -eq "$DROPPED"
}

# Independent 10%: binomial count (sd 42), geometric runs: mean 1/(1-p) =
# 1.111 (sd about 0.008 over 1,800 runs), share of runs of length 1 = 0.9.
if run indep --prob 10%; then
	IND_MEAN=$MEAN
	holds drop_loss_indep_rate "1788 <= $LOST <= 2212"
	holds drop_loss_indep_mean_run "1.07 <= $MEAN <= 1.16"
	holds drop_loss_indep_runs_of_one "0.865 <= $ONES <= 0.935"
	check drop_loss_indep_no_chain test "$AGENT_RUNS" -eq -1
fi

# ge:p=2%,r=18% (h=0, k=1): bad a tenth of the time, runs of 1/r = 5.56.
# The count's sd is sqrt(N p(1-p) (1+l)/(1-l)), l = 1-p-r = 0.8: 127;
# the mean run's about 0.27 over 360 runs.
if run ge --model ge:p=2%,r=18%; then
	holds drop_loss_ge_rate "1364 <= $LOST <= 2636"
	holds drop_loss_ge_mean_run "4.2 <= $MEAN <= 6.9"
	holds drop_loss_ge_bursts "$MEAN > 2 * ${IND_MEAN:-1.11}"
	holds drop_loss_ge_runs_of_one "$ONES < 0.4"
	check drop_loss_ge_agent_runs test "$AGENT_RUNS" -eq "$RUNS"
	check drop_loss_ge_model_as_given test "$PARAMS" = '{"model":"ge:p=2%,r=18%"}'
fi

# Correlation 0.9 at 10%: a chain p' = 0.01, r' = 0.09: the average stays
# 10% (sd 185), runs of 1/((1-c)(1-p)) = 11.1 (sd about 0.8 over 180 runs).
if run corr --prob 10% --correlation 90%; then
	holds drop_loss_corr_rate "1075 <= $LOST <= 2925"
	holds drop_loss_corr_mean_run "7.2 <= $MEAN <= 15.0"
	holds drop_loss_corr_bursts "$MEAN > 2 * ${IND_MEAN:-1.11}"
	check drop_loss_corr_agent_runs test "$AGENT_RUNS" -eq "$RUNS"
fi

# Bad input: agentctl refuses with the reason (exit 2), nothing is applied.
refused() {
	local name=$1 says=$2 err rc
	shift 2
	err=$(ctl inject "$@" 2>&1 >/dev/null)
	rc=$?
	echo "# $name: $err"
	check "drop_loss_refuses_$name" test "$rc" -eq 2 -a "$(echo "$err" | wc -l)" -eq 1
	check "drop_loss_refuses_${name}_says" grep -qF -- "$says" <<<"$err"
}
D=(drop --dev "$DEV" --netns "$NS")
refused p_over_1 "p=150% is outside 0..1" "${D[@]}" --model ge:p=150%
refused unknown_model "'gilbert:p=1%' is not a loss model" "${D[@]}" --model gilbert:p=1%
refused unknown_key "'x=1%' is not p=, r=, h= or k=" "${D[@]}" --model ge:p=1%,x=1%
refused corr_prob_1 "needs a prob below 1" "${D[@]}" --correlation 50%
refused corr_1 "1 would repeat" "${D[@]}" --prob 10% --correlation 1
refused model_and_prob "prob: not with a model" "${D[@]}" --prob 10% --model ge:p=1%
refused model_and_corr "not with a model" "${D[@]}" --model ge:p=1% --correlation 0.5
refused model_twice "--model given twice" "${D[@]}" --model ge:p=1% --model ge:p=2%
refused model_on_latency "--model is for drop only" latency --dev "$DEV" --netns "$NS" \
	--delay 5ms --model ge:p=1%
refused corr_on_kill "--correlation is for drop and latency only" kill \
	--comm "${FL_TEST_ID}none" --correlation 0.5

# The agent's own check, past agentctl: one line back, the agent stays up.
reply=$(python3 - "$FL_SOCK" "$DEV" "$NS" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = {"cmd": "inject", "fault": {"kind": "drop", "target": {"dev": sys.argv[2], "netns": sys.argv[3]},
       "params": {"prob": 1, "correlation": "25%"}}}
s.sendall((json.dumps(req) + "\n").encode())
r = json.loads(s.makefile().readline())
print(r["ok"], r.get("error", ""))
PY
)
echo "# agent: $reply"
check drop_loss_agent_refuses test "${reply%% *}" = False
check drop_loss_agent_says grep -qF "fault.params.correlation: needs a prob below 1" <<<"$reply"
check drop_loss_nothing_applied test "$(ctl list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 0
check drop_loss_agent_up ctl status
exit $_failed
