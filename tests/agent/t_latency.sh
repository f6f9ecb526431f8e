#!/usr/bin/env bash
# Latency through NFQUEUE, end to end on the real kernel: nginx in one
# namespace, curl in another, the fault on the server's device.
#  - 50 ms --per request (the TCP default), keep-alive client: each request
#    gains 50 ms (median within 1 ms; p99 within 3 ms beyond the p99 noise
#    of a request after 50 ms of quiet without a fault, which a busy virtual
#    machine adds by itself; the agent's own p99 within 3 ms); another port
#    gains under 1 ms; the SYN pays nothing.
#  - --per packet, new connections: the SYN and the request each pay it.
#  - --per connection: the SYN pays it, the request on it does not.
#  - egress: the reply pays it (per request on the server's way out).
#  - the fault's counters and events say what was delayed; clear leaves no
#    rule behind.
. "$(dirname "$0")/../lib.sh"
need_root latency

NS=${FL_TEST_ID}s
NC=${FL_TEST_ID}c
DEV=${FL_TEST_ID}b
T=$(mktemp -d /tmp/fl-lat.XXXXXX)
at_exit "rm -rf $T"
make_netns "$NS"
make_netns "$NC"
veth_pair "$NC" "${FL_TEST_ID}a" 10.254.1.1/24 "$NS" "$DEV" 10.254.1.2/24
start_nginx "$NS" 8080
start_nginx "$NS" 8081
start_agentd || { fail latency_agentd_starts; exit 1; }

if ! ctl doctor | grep -Eq '^latency +nfqueue'; then
	fail latency_doctor_nfqueue "($(ctl doctor | grep '^latency'))"
	exit 1
fi
pass latency_doctor_nfqueue

# times PORT N: N requests on one keep-alive connection; one line each,
# "connect total" in ms (connect is 0 once the connection is open).
times() {
	local urls=() i
	for ((i = 0; i < $2; i++)); do urls+=(-o /dev/null "http://10.254.1.2:$1/"); done
	ip netns exec "$NC" curl -s --max-time 30 \
		-w '%{time_connect} %{time_total}\n' "${urls[@]}" |
		awk '{ printf "%.3f %.3f\n", $1 * 1000, $2 * 1000 }'
}
# fresh PORT N: N requests, each on a new connection.
fresh() {
	local i
	for ((i = 0; i < $2; i++)); do times "$1" 1; done
}
# stat FILE COL Q: the Q quantile (0.5, 0.99, 1 = max, 0 = min) of column COL.
stat() {
	python3 - "$@" <<'PY'
import sys
f, col, q = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
v = sorted(float(l.split()[col]) for l in open(f) if l.strip())
if not v: print("nan"); sys.exit()
i = min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))
print("%.3f" % v[i])
PY
}
# within X LO HI: LO <= X <= HI
within() { python3 -c "import sys; x, lo, hi = map(float, sys.argv[1:]); sys.exit(0 if lo <= x <= hi else 1)" "$@"; }
field() { ctl list --json | python3 -c "
import json, sys
f = [f for f in json.load(sys.stdin) if f['id'] == $1][0]
v = f
for k in '$2'.split('.'): v = v[k]
print(v)"; }
no_rule() { ! ip netns exec "$NS" iptables -t mangle -S | grep -q faultline-latency; }

# Baselines: one keep-alive connection, the first request (with the
# connect) left out.
times 8080 101 | tail -n +2 >"$T/base"
BASE=$(stat "$T/base" 1 0.5)
times 8081 41 | tail -n +2 >"$T/base81"
BASE81=$(stat "$T/base81" 1 0.5)
# What this machine adds at p99 to a request that follows 50 ms of quiet
# (idle CPUs wake late on a busy virtual machine): the same client, with a
# 50 ms pause before each request instead of a fault.
cat >"$T/ka.py" <<'PY'
import http.client, sys, time
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
c.request("GET", "/"); c.getresponse().read()
for i in range(int(sys.argv[3])):
    time.sleep(float(sys.argv[4]) / 1000)
    t = time.monotonic()
    c.request("GET", "/"); c.getresponse().read()
    print("0 %.3f" % ((time.monotonic() - t) * 1000))
PY
ip netns exec "$NC" python3 "$T/ka.py" 10.254.1.2 8080 100 50 >"$T/quiet"
NOISE=$(python3 -c "print($(stat "$T/quiet" 1 0.99) - $(stat "$T/quiet" 1 0.5))")
QBASE=$(stat "$T/quiet" 1 0.5)

# ---- per request, ingress: the request pays 50 ms once ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --ingress --proto tcp --dport 8080 \
	--delay 50ms --for 60s --name req)
if [ -z "$id" ]; then
	fail latency_request_inject
	cat "$FL_RUN/agentd.log"
	exit 1
fi
pass latency_request_inject
check latency_request_per_default test "$(field "$id" params.per)" = request
check latency_request_rule_in_place bash -c "ip netns exec $NS iptables -t mangle -S | grep -q 'faultline-latency.*NFQUEUE.*--queue-bypass'"
times 8080 101 >"$T/req"
tail -n +2 "$T/req" >"$T/req_ka"
med=$(python3 -c "print($(stat "$T/req_ka" 1 0.5) - $BASE)")
if within "$med" 49 51; then pass latency_request_median; else fail latency_request_median "(added $med ms, want 50 +- 1)"; fi
# p99 with the same Python client as the quiet baseline.
ip netns exec "$NC" python3 "$T/ka.py" 10.254.1.2 8080 100 0 >"$T/req_py"
p99=$(python3 -c "print($(stat "$T/req_py" 1 0.99) - $QBASE)")
P99MAX=$(python3 -c "print(53 + $NOISE)")
if within "$p99" 49 "$P99MAX"; then
	pass latency_request_p99
else
	fail latency_request_p99 "(added p99 $p99 ms, want 50..53 + $NOISE, the p99 noise of a request after 50 ms of quiet here)"
fi
# The first request opened the connection: its SYN went through undelayed.
c1=$(head -1 "$T/req" | awk '{print $1}')
if within "$c1" 0 20; then pass latency_request_syn_free; else fail latency_request_syn_free "(connect took $c1 ms)"; fi
times 8081 41 | tail -n +2 >"$T/other"
other=$(python3 -c "print($(stat "$T/other" 1 0.5) - $BASE81)")
if within "$other" -1 1; then pass latency_other_port_untouched; else fail latency_other_port_untouched "(port 8081 gained $other ms)"; fi
delayed=$(field "$id" delayed)
# 101 + 101 requests, one data packet each in: 202 delayed, none more.
if [ "$delayed" -ge 202 ] && [ "$delayed" -le 204 ]; then pass latency_request_counted; else fail latency_request_counted "(delayed $delayed, want 202)"; fi
# What the agent says it applied (its histogram is exact to 0.8%).
p50=$(field "$id" delay_applied_ms.p50)
ap99=$(field "$id" delay_applied_ms.p99)
if within "$p50" 49.5 51; then pass latency_request_applied_p50; else fail latency_request_applied_p50 "($p50 ms)"; fi
if within "$ap99" 49.5 53; then pass latency_request_applied_p99; else fail latency_request_applied_p99 "($ap99 ms)"; fi
check latency_request_nothing_held test "$(field "$id" held)" = 0
ctl clear "$id" >/dev/null
check latency_request_rule_removed no_rule
times 8080 11 | tail -n +2 >"$T/after"
after=$(python3 -c "print($(stat "$T/after" 1 0.5) - $BASE)")
if within "$after" -1 1; then pass latency_request_cleared; else fail latency_request_cleared "(still $after ms added)"; fi

# ---- per packet, new connections: the SYN and the request pay it ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 \
	--delay 50ms --per packet --for 60s)
fresh 8080 10 >"$T/pkt"
conn=$(stat "$T/pkt" 0 0.5)
rest=$(python3 -c "import sys; v = sorted(float(l.split()[1]) - float(l.split()[0]) for l in open('$T/pkt')); print(v[len(v) // 2])")
if within "$conn" 49 55; then pass latency_packet_syn_pays; else fail latency_packet_syn_pays "(connect $conn ms)"; fi
if within "$rest" 49 55; then pass latency_packet_request_pays; else fail latency_packet_request_pays "(request after connect $rest ms)"; fi
ctl clear "$id" >/dev/null

# ---- per connection: the SYN pays it, requests on the connection do not ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 \
	--delay 50ms --per connection --for 60s)
times 8080 11 >"$T/conn"
c1=$(head -1 "$T/conn" | awk '{print $1}')
if within "$c1" 49 55; then pass latency_connection_syn_pays; else fail latency_connection_syn_pays "(connect $c1 ms)"; fi
tail -n +2 "$T/conn" >"$T/conn_ka"
ka=$(python3 -c "print($(stat "$T/conn_ka" 1 0.5) - $BASE)")
if within "$ka" -1 1; then pass latency_connection_requests_free; else fail latency_connection_requests_free "(requests gained $ka ms)"; fi
ctl clear "$id" >/dev/null

# ---- egress, per request: the reply pays it ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --egress --proto tcp --sport 8080 \
	--delay 30ms --for 60s)
times 8080 21 | tail -n +2 >"$T/egr"
med=$(python3 -c "print($(stat "$T/egr" 1 0.5) - $BASE)")
if within "$med" 29 31; then pass latency_egress_reply_pays; else fail latency_egress_reply_pays "(added $med ms, want 30 +- 1)"; fi
check latency_egress_rule_postrouting bash -c "ip netns exec $NS iptables -t mangle -S POSTROUTING | grep -q faultline-latency"
# Events: one per delayed packet, with the delay applied.
# The agent writes the queue's events on its 250 ms tick.
ev_ok() { [ "$(field "$id" events)" -ge 20 ]; }
if wait_until 3 ev_ok; then pass latency_events; else fail latency_events "($(field "$id" events) events for $(field "$id" delayed) delayed)"; fi
ctl clear "$id" >/dev/null
check latency_nothing_left no_rule
ev_logged() {
	zcat -f "$FL_RUN/events.ndjson.gz" 2>/dev/null | grep '"delay_ns"' |
		grep "\"fault_id\":$id," | tail -1 >"$T/ev1"
	[ -s "$T/ev1" ]
}
wait_until 3 ev_logged
if grep -q '"delay_ns":[0-9]' "$T/ev1" && python3 -c "
import json; e = json.load(open('$T/ev1')); assert 29e6 <= e['delay_ns'] <= 32e6, e" 2>/dev/null; then
	pass latency_event_delay
else
	fail latency_event_delay "($(cat "$T/ev1"))"
fi
exit 0
