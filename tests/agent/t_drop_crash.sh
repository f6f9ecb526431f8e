#!/usr/bin/env bash
# kill -9 of agentd during a 100% drop: traffic flows again within 3 s on
# both backends (tcx: the link dies with the agent; classic tc: the program
# sees the heartbeat go stale), and the next agentd start leaves no filter or
# qdisc of ours on the device.
. "$(dirname "$0")/../lib.sh"
need_root drop_crash

NS=${FL_TEST_ID}c
DEV=${FL_TEST_ID}b
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.251.3.1/24 "$NS" "$DEV" 10.251.3.2/24
pings() { ping -c 1 -W 0.2 10.251.3.2 >/dev/null 2>&1; }
# Ids of loaded fl_drop programs: those of this test are the ones that came
# with its fault (other suites on the machine may have their own).
drop_ids() { bpftool prog show name fl_drop 2>/dev/null | sed -n 's/^\([0-9]*\): .*/\1/p' | sort; }
ours_gone() {
	local i
	for i in $ours; do bpftool prog show id "$i" >/dev/null 2>&1 && return 1; done
	return 0
}

for backend in tcx tc; do
	start_agentd
	# A kernel before 6.6 has no tcx (Debian's 6.1 in the kernel matrix).
	have_backend drop_crash "$backend" || { stop_agentd; continue; }
	before=$(drop_ids)
	id=$(ctl inject drop --dev "$DEV" --netns "$NS" --proto icmp --backend "$backend" --for 5m)
	[ -n "$id" ] || { fail "drop_crash_${backend}_inject"; stop_agentd; continue; }
	if pings; then fail "drop_crash_${backend}_drops"; else pass "drop_crash_${backend}_drops"; fi
	ours=$(comm -13 <(echo "$before") <(drop_ids))
	check "drop_crash_${backend}_program_seen" test -n "$ours"

	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	t0=$(date +%s%N)
	wait_until 3 pings
	ok=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "# $backend: traffic flowed again $ms ms after kill -9"
	if [ $ok -eq 0 ] && [ $ms -le 3000 ]; then
		pass "drop_crash_${backend}_flows_within_3s"
	else
		fail "drop_crash_${backend}_flows_within_3s" "(${ms} ms)"
	fi

	start_agentd
	filters=$(tc -n "$NS" filter show dev "$DEV" ingress)
	qdiscs=$(tc -n "$NS" qdisc show dev "$DEV")
	if [ -z "$filters" ] && ! grep -q clsact <<<"$qdiscs"; then
		pass "drop_crash_${backend}_restart_cleans"
	else
		fail "drop_crash_${backend}_restart_cleans" "(filters: $filters; qdiscs: $qdiscs)"
	fi
	# The kernel frees a program shortly after its last reference (RCU).
	check "drop_crash_${backend}_no_program_left" wait_until 5 ours_gone
	stop_agentd
done
