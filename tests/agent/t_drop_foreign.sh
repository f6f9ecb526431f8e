#!/usr/bin/env bash
# A qdisc and filters that were on the device before the agent came survive
# inject, clear and a crash of the agent unchanged: the agent never deletes
# or replaces what it did not create.
. "$(dirname "$0")/../lib.sh"
need_root drop_foreign

NS=${FL_TEST_ID}f
DEV=${FL_TEST_ID}b
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.251.5.1/24 "$NS" "$DEV" 10.251.5.2/24
tc -n "$NS" qdisc add dev "$DEV" root handle 1: htb
tc -n "$NS" qdisc add dev "$DEV" clsact
tc -n "$NS" filter add dev "$DEV" ingress prio 7 protocol all u32 match u32 0 0
tc -n "$NS" filter add dev "$DEV" egress prio 9 protocol all bpf bytecode '1,6 0 0 0'
snapshot() {
	{
		tc -n "$NS" qdisc show dev "$DEV"
		tc -n "$NS" filter show dev "$DEV" ingress
		tc -n "$NS" filter show dev "$DEV" egress
	} | grep -v 'handle 0xfa17\|pref 64023 bpf chain 0 $' | sed 's/direct_packets_stat [0-9]*//'
}
before=$(snapshot)
pings() { ping -c 1 -W 0.3 10.251.5.2 >/dev/null 2>&1; }

for backend in tc tcx; do
	start_agentd
	have_backend drop_foreign "$backend" || { stop_agentd; continue; }
	id=$(ctl inject drop --dev "$DEV" --netns "$NS" --proto icmp --backend "$backend")
	if pings; then fail "drop_foreign_${backend}_drops"; else pass "drop_foreign_${backend}_drops"; fi
	check "drop_foreign_${backend}_kept_on_inject" test "$(snapshot)" = "$before"
	ctl clear "$id" >/dev/null
	check "drop_foreign_${backend}_kept_on_clear" test "$(snapshot)" = "$before"
	check "drop_foreign_${backend}_flows" pings

	ctl inject drop --dev "$DEV" --netns "$NS" --proto icmp --backend "$backend" --egress >/dev/null
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	check "drop_foreign_${backend}_kept_on_crash" test "$(snapshot)" = "$before"
	start_agentd # removes its own leftovers, and only those
	after=$(tc -n "$NS" filter show dev "$DEV" egress; tc -n "$NS" qdisc show dev "$DEV")
	check "drop_foreign_${backend}_kept_on_restart" test "$(snapshot)" = "$before"
	if grep -q 0xfa17 <<<"$after"; then
		fail "drop_foreign_${backend}_own_filter_removed" "($after)"
	else
		pass "drop_foreign_${backend}_own_filter_removed"
	fi
	stop_agentd
done
