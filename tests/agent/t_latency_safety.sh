#!/usr/bin/env bash
# Latency faults must never be the outage:
#  - clear during traffic: every request completes, none is lost (no TCP
#    retransmission in the client), nothing stays held, no rule or bound
#    queue of ours remains;
#  - kill -9 while packets are held: new traffic flows within 3 s
#    (--queue-bypass), the rule stays until the next agent removes it at its
#    start;
#  - the time to live ends the fault and its rule;
#  - SIGTERM while packets are held: they go at once; no rule, no queue;
#  - the queue full (--queue-len 4): the packets it has no room for pass at
#    once (fail-open) and are counted as overflow;
#  - bad input (negative or too long a delay, jitter over the delay, an
#    unknown distribution, --per request on UDP, ...) is refused with a
#    one-line error, by agentctl and by the agent on its socket, and
#    nothing is applied.
. "$(dirname "$0")/../lib.sh"
need_root latency_safety
. "$(dirname "$0")/lib_latency.sh"

lat_setup latency_safety 3
queues_bound() { ip netns exec "$NS" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | wc -l; }
retrans() { ip netns exec "$NC" nstat -az TcpRetransSegs | awk '/TcpRetransSegs/ { print $2 }'; }
nr_faults() { ctl list --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }

# ---- clear during traffic ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 \
	--delay 200ms --per packet --for 60s)
[ -n "$id" ] || { fail latency_clear_inject; exit 1; }
r0=$(retrans)
urls=()
for ((i = 0; i < 20; i++)); do urls+=(-o /dev/null "http://$SRV:8080/"); done
ip netns exec "$NC" curl -s --max-time 20 -w '%{http_code} %{time_connect} %{time_total}\n' "${urls[@]}" >"$T/clear" &
CPID=$!
held() { [ "$(field "$id" held)" -ge 1 ]; }
two_done() { [ "$(wc -l <"$T/clear")" -ge 2 ]; }
wait_until 10 two_done && wait_until 2 held
ctl clear "$id" >/dev/null
wait "$CPID"
ok=$(grep -c '^200 ' "$T/clear")
slowest=$(awk '{ if ($3 - $2 > m) m = $3 - $2 } END { printf "%d", m * 1000 }' "$T/clear")
check latency_clear_all_complete test "$ok" = 20
# A request (its connect aside) whose packet the clear let go took under
# 200 ms; a lost packet costs an RTO (200 ms or more) on top.
if [ "$slowest" -lt 300 ]; then pass latency_clear_none_late; else fail latency_clear_none_late "(slowest request $slowest ms)"; fi
check latency_clear_no_retransmit test "$(retrans)" = "$r0"
check latency_clear_no_rule test "$(rules)" = 0
check latency_clear_no_queue test "$(queues_bound)" = 0

# ---- kill -9 while packets are held ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 \
	--delay 5s --per packet --for 60s)
ip netns exec "$NC" curl -s -o /dev/null --max-time 20 "http://$SRV:8080/" &
CPID=$!
at_exit "kill $CPID"
wait_until 5 held
check latency_crash_held test "$(field "$id" held)" -ge 1
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
t0=$(date +%s%N)
flows() { ip netns exec "$NC" curl -s -o /dev/null --max-time 1 "http://$SRV:8080/"; }
wait_until 3 flows
ok=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# traffic flowed again $ms ms after kill -9"
if [ $ok -eq 0 ] && [ $ms -le 3000 ]; then pass latency_crash_flows_within_3s; else fail latency_crash_flows_within_3s "(${ms} ms)"; fi
check latency_crash_rule_stays test "$(rules)" = 1
start_agentd || { fail latency_crash_restart; exit 1; }
check latency_crash_restart_removes_rule test "$(rules)" = 0
check latency_crash_no_pin bash -c "! ls /sys/fs/bpf | grep -q faultline-lat-"
kill "$CPID" 2>/dev/null

# ---- the queue full: fail-open, counted ----
cat >"$T/udp.py" <<'PY'
import os, socket, sys, time
mode, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if mode == "recv":
    s.bind((os.environ["SRV"], 9999))
    s.settimeout(4)
    open(sys.argv[3], "w").write("ready\n")
    t0, fast, got = None, 0, 0
    try:
        while got < n:
            s.recv(64)
            now = time.monotonic()
            t0 = t0 or now
            got += 1
            fast += now - t0 < 0.5
    except socket.timeout:
        pass
    print(got, fast)
else:
    for i in range(n):
        s.sendto(b"x" * 32, (os.environ["SRV"], 9999))
PY
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto udp --dport 9999 \
	--delay 1s --per packet --queue-len 4 --for 60s)
ip netns exec "$NS" python3 "$T/udp.py" recv 50 "$T/ready" >"$T/udp.out" &
RPID=$!
at_exit "kill $RPID"
wait_until 5 test -s "$T/ready"
ip netns exec "$NC" python3 "$T/udp.py" send 50
wait "$RPID"
read -r got fast <"$T/udp.out"
over=$(field "$id" overflow)
delayed=$(field "$id" delayed)
ctl clear "$id" >/dev/null
check latency_overflow_nothing_lost test "$got" = 50
# 4 held for 1 s; the 46 the queue had no room for came at once.
check latency_overflow_passed_at_once test "$fast" = 46
check latency_overflow_counted test "$over" = 46
check latency_overflow_delayed_4 test "$delayed" = 4

# ---- bad input: refused, nothing applied ----
bad() { # NAME WORDS-IN-ERROR ARGS...
	local name=$1 want=$2 rc
	shift 2
	ctl inject latency --netns "$NS" --dev "$DEV" --for 10s "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -ne 2 ] || ! grep -qi -- "$want" "$T/err" || [ "$(wc -l <"$T/err")" != 1 ]; then
		fail "latency_bad_$name" "(exit $rc: $(cat "$T/err"))"
	elif [ "$(rules)" != 0 ] || [ "$(nr_faults)" != 0 ]; then
		fail "latency_bad_$name" "(something was applied)"
	else
		pass "latency_bad_$name"
	fi
}
bad negative_delay "not a duration" --proto tcp --delay -5ms
bad no_delay "delay: missing" --proto tcp
bad over_max "over the maximum" --proto tcp --delay 11s
bad jitter_over_delay "larger than the delay" --proto tcp --delay 10ms --jitter 20ms
bad unknown_distribution "not uniform, normal or pareto" --proto tcp --delay 50ms --jitter 5ms --distribution zipf
bad request_on_udp "needs proto tcp" --proto udp --delay 50ms --per request
bad request_any_proto "needs proto tcp" --delay 50ms --per request
bad unknown_per "not packet, connection or request" --proto tcp --delay 50ms --per flow
bad correlation_range "outside 0..1" --proto tcp --delay 50ms --jitter 5ms --correlation 150%
bad queue_len_zero "queue_len" --proto tcp --delay 50ms --queue-len 0
# The agent itself refuses the same on its socket (agentctl's checks aside).
raw() {
	python3 - "$FL_SOCK" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
r = json.loads(s.makefile().readline())
print(r.get("error", "ok"))
sys.exit(1 if r.get("ok") else 0)
PY
}
T1='"target":{"dev":"'$DEV'","netns":"'$NS'","proto":"udp","dport":9}'
if raw '{"cmd":"inject","fault":{"kind":"latency",'"$T1"',"params":{"delay":"50ms","per":"request"}}}' >"$T/raw" &&
	grep -q "needs proto tcp" "$T/raw" && [ "$(rules)" = 0 ] && [ "$(nr_faults)" = 0 ]; then
	pass latency_bad_raw_request_on_udp
else
	fail latency_bad_raw_request_on_udp "($(cat "$T/raw"))"
fi
if raw '{"cmd":"inject","fault":{"kind":"latency",'"$T1"',"params":{"delay":-1}}}' >"$T/raw" &&
	grep -q "not a number of seconds" "$T/raw" && [ "$(rules)" = 0 ]; then
	pass latency_bad_raw_negative
else
	fail latency_bad_raw_negative "($(cat "$T/raw"))"
fi
check latency_bad_agent_alive ctl status

# ---- time to live: the fault ends by itself, its rule with it ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 --delay 10ms --for 1s)
check latency_ttl_rule_in_place test "$(rules)" = 1
gone() { [ "$(rules)" = 0 ] && [ "$(nr_faults)" = 0 ]; }
if wait_until 4 gone; then pass latency_ttl_expires; else fail latency_ttl_expires "($(rules) rules, $(nr_faults) faults)"; fi

# ---- SIGTERM while packets are held: they go at once, nothing remains ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 \
	--delay 5s --per packet --for 60s)
ip netns exec "$NC" curl -s -o /dev/null --max-time 20 -w '%{http_code} %{time_total}\n' \
	"http://$SRV:8080/" >"$T/term" &
CPID=$!
wait_until 5 held
t0=$(date +%s%N)
stop_agentd
wait "$CPID"
ms=$((($(date +%s%N) - t0) / 1000000))
code=$(awk '{ print $1 }' "$T/term")
check latency_sigterm_request_completes test "$code" = 200
# Held for 5 s each way (SYN, request); SIGTERM let them go: well under that.
if [ "$ms" -lt 2500 ]; then pass latency_sigterm_releases; else fail latency_sigterm_releases "(request done $ms ms after SIGTERM)"; fi
check latency_sigterm_no_rule test "$(rules)" = 0
check latency_sigterm_no_queue test "$(queues_bound)" = 0
check latency_sigterm_state_empty bash -c "[ ! -s $FL_RUN/latency-rules.json ] || [ \"\$(cat $FL_RUN/latency-rules.json)\" = '[]' ]"
exit 0
