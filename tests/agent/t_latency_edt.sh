#!/usr/bin/env bash
# Latency by EDT (fq + a program that sets each packet's departure time), on
# a kernel with fq (the kernel matrix: Debian's 6.1; our machines have no fq
# and skip). Pings from the root namespace to two devices of one namespace,
# side by side: $DEV carries the fault, $CDEV is the control.
#  - doctor chooses edt; the agent puts fq (handle fa18:) on $DEV in place of
#    the kernel's default, and the program on tcx or, without tcx, a classic
#    tc egress filter.
#  - 100 ms on ICMP egress: the echo replies from $DEV gain 100 ms over the
#    control's (median, 90 to 140 ms); a fault on TCP leaves ping alone.
#  - clear: the old root qdisc is back, no filter of ours, RTT as the
#    control's.
#  - without tcx, a tc drop of ours on the same hook: clearing either keeps
#    the other's filter (and the clsact qdisc they share).
#  - a device whose root qdisc someone configured is refused, and kept.
#  - kill -9 of the agent during the fault: pings are undelayed within 3 s
#    (a tcx link dies with the agent; a tc filter sees the heartbeat go
#    stale), and the next agent removes fq and the filter.
. "$(dirname "$0")/../lib.sh"
need_root latency_edt

NS=${FL_TEST_ID}e
DEV=${FL_TEST_ID}b
CDEV=${FL_TEST_ID}d
start_agentd || { fail latency_edt_agentd_starts; exit 1; }
have_backend latency_edt qdisc_fq || exit 0
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.251.13.1/24 "$NS" "$DEV" 10.251.13.2/24
veth_pair "" "${FL_TEST_ID}c" 10.251.14.1/24 "$NS" "$CDEV" 10.251.14.2/24
T=$(mktemp -d /tmp/fl-edt.XXXXXX)
at_exit "rm -rf $T"

# rtts ADDR N: N pings, 0.1 s apart; one RTT in ms a line.
rtts() { ping -n -c "$2" -i 0.1 -W 2 "$1" | sed -n 's/.*time=\([0-9.]*\) ms/\1/p'; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : -1 }'; }
# added N: ms that $DEV's replies take over the control's, median of N
# pings each, run at the same time.
added() {
	rtts 10.251.14.2 "$1" >"$T/ctrl" &
	local p=$!
	rtts 10.251.13.2 "$1" >"$T/dev"
	wait "$p"
	python3 -c "print(round($(median "$T/dev") - $(median "$T/ctrl"), 1))"
}
within() { python3 -c "import sys; sys.exit(0 if $2 <= $1 <= $3 else 1)"; }
root_of() { tc -n "$NS" qdisc show dev "$1" root | head -1; }
egress_filters() { tc -n "$NS" filter show dev "$DEV" egress 2>/dev/null; }

if ctl doctor | grep -Eq '^latency +edt'; then
	pass latency_edt_doctor
else
	fail latency_edt_doctor "($(ctl doctor | grep '^latency'))"
fi
tcx=no
kernel_has tcx && tcx=yes
before=$(root_of "$DEV")
echo "# root qdisc of $DEV before: $before; tcx: $tcx"

# ---- 100 ms on ICMP egress ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --egress --proto icmp --delay 100ms \
	--backend edt --for 5m)
if [ -z "$id" ]; then
	fail latency_edt_inject
	tail -5 "$FL_RUN/agentd.log"
	exit 1
fi
pass latency_edt_inject
check latency_edt_fq_in_place bash -c "tc -n $NS qdisc show dev $DEV root | grep -q '^qdisc fq fa18:'"
if [ $tcx = yes ]; then
	check latency_edt_no_tc_filter_with_tcx test -z "$(egress_filters)"
else
	check latency_edt_tc_filter_without_tcx bash -c "tc -n $NS filter show dev $DEV egress | grep -q 'fl_latency_edt'"
fi
a=$(added 20)
echo "# 100 ms fault: $a ms over the control"
if within "$a" 90 140; then pass latency_edt_delays; else fail latency_edt_delays "(added $a ms, want 90 to 140)"; fi
# Every echo reply of the 20 was delayed, and the fault says by what.
got=$(ctl list --json | python3 -c 'import json,sys; f = json.load(sys.stdin)[0]; print(f["backend"], f["injected"])')
if [ "${got% *}" = edt ] && [ "${got#* }" -ge 20 ]; then pass latency_edt_counts; else fail latency_edt_counts "(backend, injected: $got)"; fi
ctl clear "$id" >/dev/null
check latency_edt_clear_restores_qdisc test "$(root_of "$DEV")" = "$before"
check latency_edt_clear_no_filter test -z "$(egress_filters)"
a=$(added 10)
if within "$a" -20 20; then pass latency_edt_clear_undelays; else fail latency_edt_clear_undelays "(added $a ms after clear)"; fi

# ---- a fault on TCP leaves ICMP alone ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --egress --proto tcp --delay 100ms \
	--backend edt --for 5m)
a=$(added 10)
if [ -n "$id" ] && within "$a" -20 20; then pass latency_edt_other_proto_free; else fail latency_edt_other_proto_free "(id '$id', added $a ms)"; fi
[ -n "$id" ] && ctl clear "$id" >/dev/null

# ---- a tc drop of ours beside the EDT filter (no tcx): clearing one keeps the other ----
if [ $tcx = no ]; then
	filter_has() { tc -n "$NS" filter show dev "$DEV" egress | grep -q "handle $1"; }
	id=$(ctl inject latency --netns "$NS" --dev "$DEV" --egress --proto icmp --delay 100ms \
		--backend edt --for 5m)
	did=$(ctl inject drop --netns "$NS" --dev "$DEV" --egress --proto udp --dport 9 --backend tc --for 5m)
	ctl clear "$did" >/dev/null
	check latency_edt_drop_cleared_edt_kept filter_has 0xfa18
	did=$(ctl inject drop --netns "$NS" --dev "$DEV" --egress --proto udp --dport 9 --backend tc --for 5m)
	ctl clear "$id" >/dev/null
	check latency_edt_edt_cleared_drop_kept filter_has 0xfa17
	ctl clear "$did" >/dev/null
	check latency_edt_both_cleared_nothing_left bash -c "[ -z \"\$(tc -n $NS filter show dev $DEV egress)\" ] && ! tc -n $NS qdisc show dev $DEV | grep -q clsact"
fi

# ---- someone's root qdisc: refused, kept ----
tc -n "$NS" qdisc add dev "$CDEV" root handle 1: pfifo limit 100
err=$(ctl inject latency --netns "$NS" --dev "$CDEV" --egress --proto icmp --delay 100ms \
	--backend edt --for 5m 2>&1 >/dev/null)
rc=$?
if [ $rc -ne 0 ] && grep -q 'root qdisc of someone' <<<"$err" && root_of "$CDEV" | grep -q '^qdisc pfifo 1:'; then
	pass latency_edt_foreign_qdisc_refused
else
	fail latency_edt_foreign_qdisc_refused "(rc $rc: $err; $(root_of "$CDEV"))"
fi
tc -n "$NS" qdisc del dev "$CDEV" root

# ---- kill -9 during the fault ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --egress --proto icmp --delay 300ms \
	--backend edt --for 5m)
slow() { ping -n -c 1 -W 2 10.251.13.2 | grep -Eq 'time=[0-9]{3}'; }
fast() { ping -n -c 1 -W 2 10.251.13.2 | grep -Eq 'time=[0-9]{1,2}(\.[0-9]+)? ms'; }
if [ -n "$id" ] && wait_until 5 slow; then pass latency_edt_crash_delays_first; else fail latency_edt_crash_delays_first; fi
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
t0=$(date +%s%N)
wait_until 4 fast
ok=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# kill -9: pings undelayed $ms ms later"
if [ $ok -eq 0 ] && [ $ms -le 3000 ]; then pass latency_edt_crash_undelays_within_3s; else fail latency_edt_crash_undelays_within_3s "(${ms} ms)"; fi
start_agentd || { fail latency_edt_agentd_restarts; exit 1; }
check latency_edt_restart_removes_fq test "$(root_of "$DEV")" = "$before"
check latency_edt_restart_removes_filter test -z "$(egress_filters)"
check latency_edt_restart_no_clsact bash -c "! tc -n $NS qdisc show dev $DEV | grep -q clsact"
stop_agentd
