#!/usr/bin/env bash
# Latency through NFQUEUE, end to end on the real kernel: nginx in one
# namespace, curl in another, the fault on the server's device.
#  - 50 ms --per request (the TCP default), keep-alive client: each request
#    gains 50 ms (median within 1 ms; the agent's own p99 within 3 ms; the
#    client's p99 within 3 ms beyond what a control adds at p99, run side
#    by side: a server that answers 50 ms late by itself); another port
#    gains under 1 ms; the SYN pays nothing.
#  - --per packet, new connections: the SYN and the request each pay it.
#  - --per connection: the SYN pays it, the request on it does not.
#  - egress: the reply pays it (per request on the server's way out).
#  - the fault's counters and events say what was delayed; clear leaves no
#    rule behind.
#  - IPv6: an ip6tables rule only, IPv6 delayed, IPv4 free; a fault of no
#    family has a rule in each. A fault without ports leaves a protected
#    port (agentd --protect) undelayed, and one naming it is refused.
#    --dry-run applies nothing.
. "$(dirname "$0")/../lib.sh"
need_root latency
. "$(dirname "$0")/lib_latency.sh"

lat_setup latency 1 --protect 8081
start_nginx "$NS" 8081
slow_server 8082 50
slow_server 8083 0
# wake_extra: what an idle of 50 ms costs curl here beyond the 50 ms, with
# no agent in the way: the same requests to a server that answers 50 ms
# late, less those to one that answers at once, less 50 (0 when below, at
# most 2 ms). On a busy virtual machine waking an idle vCPU costs up to a
# millisecond (seen in CI: every delayed median 1.04 to 1.09 ms over).
# The client-side medians below leave it out; the agent's own applied
# delays are checked without it.
wake_extra() {
	times 8082 21 | tail -n +2 >"$T/w50"
	times 8083 21 | tail -n +2 >"$T/w0"
	python3 -c "print(round(min(2, max(0, $(qstat "$T/w50" 1 0.5) - 50 - $(qstat "$T/w0" 1 0.5))), 3))"
}
W=$(wake_extra)
echo "# an idle of 50 ms costs $W ms more here by itself"

# With fq (Debian's 6.1 in the kernel matrix) doctor puts edt first, which
# is egress only: the ingress faults below go on down the order to nfqueue.
want=nfqueue
kernel_has qdisc_fq && want=edt
if ! ctl doctor | grep -Eq "^latency +$want"; then
	fail "latency_doctor_$want" "($(ctl doctor | grep '^latency'))"
	exit 1
fi
pass "latency_doctor_$want"

# fresh PORT N: N requests, each on a new connection.
fresh() {
	local i
	for ((i = 0; i < $2; i++)); do times "$1" 1; done
}
no_rule() { [ "$(rules)" = 0 ]; }

# Baselines: one keep-alive connection, the first request (with the
# connect) left out.
times 8080 101 | tail -n +2 >"$T/base"
BASE=$(qstat "$T/base" 1 0.5)
times 8081 41 | tail -n +2 >"$T/base81"
BASE81=$(qstat "$T/base81" 1 0.5)
quiet_base 8080

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
med=$(python3 -c "print($(qstat "$T/req_ka" 1 0.5) - $BASE - $W)")
if within "$med" 49 51; then pass latency_request_median; else fail latency_request_median "(added $med ms beyond the idle's own $W, want 50 +- 1)"; fi
# p99 with the same Python client as the quiet baseline.
# The control: the same client against a server that itself answers 50 ms
# late, side by side, so that both wait 50 ms and wake from it the same
# way; only the agent differs. On a busy virtual machine those wake-ups
# add milliseconds at the tail by themselves.
# p99 of 100 is one sample of the tail: a stall of the machine in one of
# the two runs decides it. It must be seen in two such runs to count.
KA_RUNS=0
p99_side_by_side() {
	KA_RUNS=$((KA_RUNS + 1))
	ka 8082 100 0 >"$T/ctrl" &
	KPID=$!
	ka 8080 100 0 >"$T/req_py"
	wait "$KPID"
	CP99=$(python3 -c "print($(qstat "$T/ctrl" 1 0.99) - 50)")
	p99=$(python3 -c "print($(qstat "$T/req_py" 1 0.99) - $QBASE)")
	P99MAX=$(python3 -c "print(53 + max(0, $CP99 - $QBASE))")
	within "$p99" 49 "$P99MAX"
}
if p99_side_by_side; then
	pass latency_request_p99
else
	first="added p99 $p99 ms, control $CP99 ms"
	if p99_side_by_side; then
		echo "# p99 over the bound once ($first), within it again: added $p99 ms, control $CP99 ms"
		pass latency_request_p99
	else
		fail latency_request_p99 "(twice: $first; added p99 $p99 ms, want 50..53 + what the control added at p99, $CP99 - $QBASE ms)"
	fi
fi
# The first request opened the connection: its SYN went through undelayed.
c1=$(head -1 "$T/req" | awk '{print $1}')
if within "$c1" 0 20; then pass latency_request_syn_free; else fail latency_request_syn_free "(connect took $c1 ms)"; fi
times 8081 41 | tail -n +2 >"$T/other"
other=$(python3 -c "print($(qstat "$T/other" 1 0.5) - $BASE81)")
if within "$other" -1 1; then pass latency_other_port_untouched; else fail latency_other_port_untouched "(port 8081 gained $other ms)"; fi
delayed=$(field "$id" delayed)
# 101 + 101 per Python run, one data packet each in: 202 delayed, none more.
want=$((101 + 101 * KA_RUNS))
if [ "$delayed" -ge "$want" ] && [ "$delayed" -le $((want + 2)) ]; then pass latency_request_counted; else fail latency_request_counted "(delayed $delayed, want $want)"; fi
# What the agent says it applied (its histogram is exact to 0.8%).
p50=$(field "$id" delay_applied_ms.p50)
ap99=$(field "$id" delay_applied_ms.p99)
if within "$p50" 49.5 51; then pass latency_request_applied_p50; else fail latency_request_applied_p50 "($p50 ms)"; fi
# p99 of some 200 delays is their third latest: one stall of the machine
# decides it, as for the client's p99; over the bound, a second fault
# (below, once this one is cleared) must be over it too.
ap99_ok=0
within "$ap99" 49.5 53 && ap99_ok=1
check latency_request_nothing_held test "$(field "$id" held)" = 0
ctl clear "$id" >/dev/null
check latency_request_rule_removed no_rule
# Against the other port right now (the machine's load changes).
times 8080 21 | tail -n +2 >"$T/after"
times 8081 21 | tail -n +2 >"$T/after81"
after=$(python3 -c "print($(qstat "$T/after" 1 0.5) - $(qstat "$T/after81" 1 0.5))")
if within "$after" -1 1; then pass latency_request_cleared; else fail latency_request_cleared "(still $after ms added)"; fi
if [ "$ap99_ok" = 1 ]; then
	pass latency_request_applied_p99
else
	id=$(ctl inject latency --netns "$NS" --dev "$DEV" --ingress --proto tcp --dport 8080 \
		--delay 50ms --for 60s --name req2)
	times 8080 201 >/dev/null
	ap99b=$(field "$id" delay_applied_ms.p99)
	ctl clear "$id" >/dev/null
	if within "$ap99b" 49.5 53; then
		echo "# applied p99 over the bound once ($ap99 ms), within it again: $ap99b ms"
		pass latency_request_applied_p99
	else
		fail latency_request_applied_p99 "(twice: $ap99 and $ap99b ms)"
	fi
fi

# ---- per packet, new connections: the SYN and the request pay it ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 \
	--delay 50ms --per packet --for 60s)
fresh 8080 10 >"$T/pkt"
conn=$(qstat "$T/pkt" 0 0.5)
rest=$(python3 -c "import sys; v = sorted(float(l.split()[1]) - float(l.split()[0]) for l in open('$T/pkt')); print(v[len(v) // 2])")
if within "$conn" 49 "$(python3 -c "print(53 + $NOISE)")"; then pass latency_packet_syn_pays; else fail latency_packet_syn_pays "(connect $conn ms)"; fi
if within "$rest" 49 "$(python3 -c "print(53 + $NOISE)")"; then pass latency_packet_request_pays; else fail latency_packet_request_pays "(request after connect $rest ms)"; fi
ctl clear "$id" >/dev/null

# ---- per connection: the SYN pays it, requests on the connection do not ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 \
	--delay 50ms --per connection --for 60s)
times 8080 11 >"$T/conn"
c1=$(head -1 "$T/conn" | awk '{print $1}')
if within "$c1" 49 "$(python3 -c "print(53 + $NOISE)")"; then pass latency_connection_syn_pays; else fail latency_connection_syn_pays "(connect $c1 ms)"; fi
tail -n +2 "$T/conn" >"$T/conn_ka"
kam=$(python3 -c "print($(qstat "$T/conn_ka" 1 0.5) - $BASE)")
if within "$kam" -1 1; then pass latency_connection_requests_free; else fail latency_connection_requests_free "(requests gained $kam ms)"; fi
ctl clear "$id" >/dev/null

# ---- egress, per request: the reply pays it ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --egress --proto tcp --sport 8080 --backend nfqueue \
	--delay 30ms --for 60s)
times 8080 21 | tail -n +2 >"$T/egr"
med=$(python3 -c "print($(qstat "$T/egr" 1 0.5) - $BASE - $W)")
echo "# egress: client median $(qstat "$T/egr" 1 0.5) ms, base $BASE, agent applied p50 $(field "$id" delay_applied_ms.p50) ms over $(field "$id" delayed) packets"
# The agent's own p50 of the delay is 30.08 ms here; the client sees 0.2 to
# 1.0 ms more beyond the idle's own cost (the reply's way from nginx into the
# queue and from its release on to curl, all on the client's clock): half a
# millisecond more room above than below.
if within "$med" 29 31.5; then pass latency_egress_reply_pays; else fail latency_egress_reply_pays "(added $med ms beyond the idle's own $W, want 29 to 31.5)"; fi
ap50=$(field "$id" delay_applied_ms.p50)
if within "$ap50" 29.5 30.5; then pass latency_egress_applied_p50; else fail latency_egress_applied_p50 "($ap50 ms)"; fi
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

# ---- IPv6: an ip6tables rule only; IPv4 to the same port goes free ----
ip -n "$NC" addr add fd25:4::1/64 dev "${FL_TEST_ID}a" nodad
ip -n "$NS" addr add fd25:4::2/64 dev "$DEV" nodad
times6() {
	local urls=() i
	for ((i = 0; i < $1; i++)); do urls+=(-o /dev/null "http://[fd25:4::2]:8080/"); done
	ip netns exec "$NC" curl -s -g --max-time 30 -w '%{time_connect} %{time_total}\n' "${urls[@]}" |
		awk '{ printf "%.3f %.3f\n", $1 * 1000, $2 * 1000 }'
}
times6 21 | tail -n +2 >"$T/base6"
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dst fd25:4::2 --dport 8080 \
	--delay 40ms --for 60s)
v6=$(ip netns exec "$NS" ip6tables -t mangle -S | grep -c faultline-latency)
check latency_ipv6_rule test "$v6" = 1
check latency_ipv6_no_ipv4_rule test "$(rules)" = 0
times6 21 | tail -n +2 >"$T/v6"
med=$(python3 -c "print($(qstat "$T/v6" 1 0.5) - $(qstat "$T/base6" 1 0.5) - $W)")
if within "$med" 39 41; then pass latency_ipv6_delayed; else fail latency_ipv6_delayed "(added $med ms beyond the idle's own $W, want 40 +- 1)"; fi
times 8080 21 | tail -n +2 >"$T/v4"
v4=$(python3 -c "print($(qstat "$T/v4" 1 0.5) - $BASE)")
if within "$v4" -1 1; then pass latency_ipv6_ipv4_free; else fail latency_ipv6_ipv4_free "(IPv4 gained $v4 ms)"; fi
ctl clear "$id" >/dev/null
check latency_ipv6_rule_removed test "$(ip netns exec "$NS" ip6tables -t mangle -S | grep -c faultline-latency)" = 0
# A fault of no family: one rule in each.
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 --delay 1ms --for 60s)
check latency_any_family_both_rules test "$(rules)+$(ip netns exec "$NS" ip6tables -t mangle -S | grep -c faultline-latency)" = "1+1"
ctl clear "$id" >/dev/null
check latency_any_family_removed test "$(rules)+$(ip netns exec "$NS" ip6tables -t mangle -S | grep -c faultline-latency)" = "0+0"

# ---- protected ports (8081 here): a fault without ports leaves them be ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --delay 50ms --per packet --for 60s)
times 8081 11 | tail -n +2 >"$T/prot"
times 8080 11 | tail -n +2 >"$T/unprot"
prot=$(python3 -c "print($(qstat "$T/prot" 1 0.5) - $BASE81)")
unprot=$(python3 -c "print($(qstat "$T/unprot" 1 0.5) - $BASE)")
if within "$prot" -1 1; then pass latency_protected_port_free; else fail latency_protected_port_free "(port 8081 gained $prot ms)"; fi
if within "$unprot" 49 "$(python3 -c "print(53 + $NOISE)")"; then pass latency_unprotected_delayed; else fail latency_unprotected_delayed "(port 8080 gained $unprot ms)"; fi
ctl clear "$id" >/dev/null
if ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8081 --delay 5ms 2>"$T/perr"; then
	fail latency_protected_port_refused "(injected)"
	ctl clear --all >/dev/null
else
	check latency_protected_port_refused grep -q "protected" "$T/perr"
fi

# ---- dry run: the plan, nothing applied ----
plan=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 --delay 50ms --dry-run)
if grep -q "NFQUEUE" <<<"$plan" && [ "$(rules)" = 0 ] &&
	[ "$(ctl list --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" = 0 ]; then
	pass latency_dry_run
else
	fail latency_dry_run "($plan)"
fi
exit 0
