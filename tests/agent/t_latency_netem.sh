#!/usr/bin/env bash
# Latency by netem (a prio root qdisc of ours, a netem qdisc in a band per
# fault, a program that puts the selected packets in that band), on a
# kernel with netem (the kernel matrix: Debian's 6.1; our machines have no
# netem and skip). Pings from the root namespace to two devices of one
# namespace, side by side: $DEV carries the fault, $CDEV is the control.
#  - the agent puts prio (handle fa19:) on $DEV in place of the kernel's
#    default and netem in band 4; the program on tcx or, without tcx, a
#    classic tc egress filter.
#  - 100 ms on ICMP egress: the echo replies gain 100 ms over the
#    control's (median, 90 to 140 ms); a fault on TCP leaves ping alone;
#    jitter is netem's own (its qdisc says so).
#  - ingress is refused (netem there needs ifb), and so is a device whose
#    root qdisc someone configured (kept).
#  - clear: the old root qdisc is back, no filter of ours.
#  - kill -9 during the fault: undelayed within 3 s, and the next agent
#    removes the prio root and the filter.
. "$(dirname "$0")/../lib.sh"
need_root latency_netem

NS=${FL_TEST_ID}n
DEV=${FL_TEST_ID}b
CDEV=${FL_TEST_ID}d
FAULT_ADDR=10.251.15.2 CTRL_ADDR=10.251.16.2
start_agentd || { fail latency_netem_agentd_starts; exit 1; }
have_backend latency_netem qdisc_netem || exit 0
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.251.15.1/24 "$NS" "$DEV" 10.251.15.2/24
veth_pair "" "${FL_TEST_ID}c" 10.251.16.1/24 "$NS" "$CDEV" 10.251.16.2/24
T=$(mktemp -d /tmp/fl-netem.XXXXXX)
at_exit "rm -rf $T"
. "$(dirname "$0")/lib_ping_latency.sh"
netem() { # NETEM ARGS: inject on $DEV egress with --backend netem
	ctl inject latency --netns "$NS" --dev "$DEV" --backend netem --for 5m "$@"
}

tcx=no
kernel_has tcx && tcx=yes
before=$(root_of "$DEV")
echo "# root qdisc of $DEV before: $before; tcx: $tcx"

# ---- the plan, then 100 ms on ICMP egress ----
plan=$(netem --egress --proto icmp --delay 100ms --dry-run)
check latency_netem_dry_run_says_prio grep -q 'prio' <<<"$plan"
check latency_netem_dry_run_changes_nothing test "$(root_of "$DEV")" = "$before"
id=$(netem --egress --proto icmp --delay 100ms)
if [ -z "$id" ]; then
	fail latency_netem_inject
	tail -5 "$FL_RUN/agentd.log"
	exit 1
fi
pass latency_netem_inject
check latency_netem_prio_root bash -c "tc -n $NS qdisc show dev $DEV root | grep -q '^qdisc prio fa19:'"
check latency_netem_in_band bash -c "tc -n $NS qdisc show dev $DEV | grep -Eq '^qdisc netem fa24: parent fa19:4 .*delay 100ms'"
if [ $tcx = yes ]; then
	check latency_netem_no_tc_filter_with_tcx test -z "$(egress_filters)"
else
	check latency_netem_tc_filter_without_tcx bash -c "tc -n $NS filter show dev $DEV egress | grep -q 'fl_lat_netem'"
fi
a=$(added 20)
echo "# 100 ms fault: $a ms over the control"
if within "$a" 90 140; then pass latency_netem_delays; else fail latency_netem_delays "(added $a ms, want 90 to 140)"; fi
got=$(ctl list --json | python3 -c 'import json,sys; f = json.load(sys.stdin)[0]; print(f["backend"], f["injected"])')
if [ "${got% *}" = netem ] && [ "${got#* }" -ge 20 ]; then pass latency_netem_counts; else fail latency_netem_counts "(backend, injected: $got)"; fi
ctl clear "$id" >/dev/null
check latency_netem_clear_restores_qdisc test "$(root_of "$DEV")" = "$before"
check latency_netem_clear_no_filter test -z "$(egress_filters)"
a=$(added 10)
if within "$a" -20 20; then pass latency_netem_clear_undelays; else fail latency_netem_clear_undelays "(added $a ms after clear)"; fi

# ---- jitter is netem's; another protocol goes through a band of its own ----
id=$(netem --egress --proto icmp --delay 100ms --jitter 20ms)
check latency_netem_jitter_in_qdisc bash -c "tc -n $NS qdisc show dev $DEV | grep -Eq '^qdisc netem .*delay 100ms +20ms'"
a=$(added 20)
if [ -n "$id" ] && within "$a" 80 150; then pass latency_netem_jitter_delays; else fail latency_netem_jitter_delays "(id '$id', added $a ms)"; fi
[ -n "$id" ] && ctl clear "$id" >/dev/null
id=$(netem --egress --proto tcp --delay 100ms)
a=$(added 10)
if [ -n "$id" ] && within "$a" -20 20; then pass latency_netem_other_proto_free; else fail latency_netem_other_proto_free "(id '$id', added $a ms)"; fi
[ -n "$id" ] && ctl clear "$id" >/dev/null

# ---- refused: ingress, someone's root qdisc ----
err=$(netem --ingress --proto icmp --delay 100ms 2>&1 >/dev/null)
rc=$?
if [ $rc -ne 0 ] && grep -q 'egress only' <<<"$err" && [ "$(root_of "$DEV")" = "$before" ]; then
	pass latency_netem_ingress_refused
else
	fail latency_netem_ingress_refused "(rc $rc: $err)"
fi
tc -n "$NS" qdisc add dev "$CDEV" root handle 1: pfifo limit 100
err=$(ctl inject latency --netns "$NS" --dev "$CDEV" --egress --proto icmp --delay 100ms \
	--backend netem --for 5m 2>&1 >/dev/null)
rc=$?
if [ $rc -ne 0 ] && grep -q 'root qdisc of someone' <<<"$err" && root_of "$CDEV" | grep -q '^qdisc pfifo 1:'; then
	pass latency_netem_foreign_qdisc_refused
else
	fail latency_netem_foreign_qdisc_refused "(rc $rc: $err; $(root_of "$CDEV"))"
fi
tc -n "$NS" qdisc del dev "$CDEV" root

# ---- kill -9 during the fault ----
id=$(netem --egress --proto icmp --delay 300ms)
if [ -n "$id" ] && wait_until 5 slow; then pass latency_netem_crash_delays_first; else fail latency_netem_crash_delays_first; fi
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
t0=$(date +%s%N)
# Pings 0.1 s apart for 5 s: when was the first one sent that came back
# undelayed (its reply's time stamp less its RTT)?
ping -n -D -c 50 -i 0.1 -W 1 "$FAULT_ADDR" >"$T/crash" 2>&1
ms=$(awk -v t0="$t0" -F'[][ =]+' '/time=/ { for (i = 1; i < NF; i++) if ($i == "time") rtt = $(i + 1);
	if (rtt < 100) { printf "%d", $2 * 1000 - rtt - t0 / 1e6; exit } }' "$T/crash")
echo "# kill -9: the first ping undelayed was sent ${ms:-never} ms later"
if [ -n "$ms" ] && [ "$ms" -le 3000 ]; then pass latency_netem_crash_undelays_within_3s; else fail latency_netem_crash_undelays_within_3s "(${ms:-never} ms)"; fi
start_agentd || { fail latency_netem_agentd_restarts; exit 1; }
check latency_netem_restart_removes_prio test "$(root_of "$DEV")" = "$before"
check latency_netem_restart_removes_filter test -z "$(egress_filters)"
check latency_netem_restart_no_clsact bash -c "! tc -n $NS qdisc show dev $DEV | grep -q clsact"
stop_agentd
