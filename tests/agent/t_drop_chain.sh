#!/usr/bin/env bash
# A drop fault shares its hook with other people's programs: packets it does
# not drop go on to the next program or filter (TCX_NEXT / TC_ACT_UNSPEC),
# on tcx and on classic tc. Its tcx link goes to the head of the chain, and
# when a foreign program that ends the chain runs before it anyway, `list`
# says so instead of showing a fault that silently does nothing.
. "$(dirname "$0")/../lib.sh"
need_root drop_chain

NS=${FL_TEST_ID}k
DEV=${FL_TEST_ID}k
OBJ=$FL_BIN/foreign.bpf.o
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}j" 10.251.30.1/24 "$NS" "$DEV" 10.251.30.2/24
HERE=$(cd "$(dirname "$0")" && pwd)

# Someone else's filters on the same device and direction: one before ours
# (pref 10) drops UDP to 5001, one after ours (pref 65000) drops UDP to 5002.
ip netns exec "$NS" "$FL_BIN/foreign_attach" "$OBJ" foreign_drop5001 "$DEV" ingress tc 10 >/dev/null ||
	fail drop_chain_setup "(foreign tc filter)"
ip netns exec "$NS" "$FL_BIN/foreign_attach" "$OBJ" foreign_drop5002 "$DEV" ingress tc 65000 >/dev/null ||
	fail drop_chain_setup "(foreign tc filter)"

# udp_counts: 50 datagrams to each of 5001, 5002 and 5003, then "end" on
# 5003; prints "N5001 N5002 N5003" as the namespace received them.
udp_counts() {
	local out=$FL_RUN/udp.$RANDOM
	ip netns exec "$NS" python3 "$HERE/../helpers/udp_count.py" 10.251.30.2 5 5001 5002 5003 \
		>"$out" 2>&1 3>"$out.ready" &
	local pid=$!
	wait_until 5 grep -q ready "$out" || { echo "receiver did not start" >&2; return 1; }
	python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in (5001, 5002, 5003):
    for i in range(50):
        s.sendto(b"x", ("10.251.30.2", port))
s.sendto(b"end", ("10.251.30.2", 5003))
PY
	wait "$pid"
	awk '$1 ~ /^500[123]$/ {printf "%s ", $2} /^complete/ {c=1} END {if (!c) printf "incomplete"}' "$out"
}

# A SYN to port 9 (nothing listens: without the fault it is answered with a
# reset at once); returns the fault's dropped count.
dropped_after_syn() {
	timeout 2 bash -c 'exec 3<>/dev/tcp/10.251.30.2/9' 2>/dev/null
	ctl list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["dropped"])'
}
chain_field() {
	ctl list --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['chain']['$1'])"
}

FL_RUN=$(mktemp -d /tmp/fl-run.XXXXXX)
at_exit "rm -rf $FL_RUN"
at_exit "stop_agentd"
base=$(udp_counts)
check drop_chain_foreign_filters_work_alone test "$base" = "0 0 50 "

for backend in tcx tc; do
	start_agentd
	# A kernel before 6.6 has no tcx (Debian's 6.1 in the kernel matrix).
	have_backend drop_chain "$backend" || { stop_agentd; continue; }
	id=$(ctl inject drop --dev "$DEV" --netns "$NS" --ingress --proto tcp --dport 9 --backend "$backend")
	got=$(udp_counts)
	check "drop_chain_${backend}_foreign_filters_still_work" test "$got" = "0 0 50 "
	d=$(dropped_after_syn)
	check "drop_chain_${backend}_fault_still_drops" test "${d:-0}" -ge 1
	if [ "$backend" = tcx ]; then
		check drop_chain_tcx_first test "$(chain_field first)" = True
	else
		# Classic filters of lower pref (the one at 10) run before ours: said.
		check drop_chain_tc_says_who_runs_first test "$(chain_field ahead)" = 1
		check drop_chain_tc_list_warns grep -q 'run before it' <<<"$(ctl list)"
	fi
	ctl clear "$id" >/dev/null
	stop_agentd
done

# A foreign tcx program that ends the chain (TCX_PASS), already there: our
# link goes before it, and the fault works.
start_agentd
have_backend drop_chain_foreign tcx || exit 0
stop_agentd
rdy=$FL_RUN/foreign.out
ip netns exec "$NS" "$FL_BIN/foreign_attach" "$OBJ" foreign_pass "$DEV" ingress tcx >"$rdy" 2>&1 &
fpid=$!
at_exit "kill $fpid"
wait_until 5 grep -q ready "$rdy" || fail drop_chain_setup "(foreign tcx: $(cat "$rdy"))"
start_agentd
ctl inject drop --dev "$DEV" --netns "$NS" --ingress --proto tcp --dport 9 >/dev/null
d=$(dropped_after_syn)
check drop_chain_tcx_before_foreign_pass_drops test "${d:-0}" -ge 1
check drop_chain_tcx_before_foreign_pass_first test "$(chain_field first)" = True
kill "$fpid"; wait "$fpid" 2>/dev/null

# One attached before ours after the fault was made: the fault cannot see
# packets any more, and list says so.
ip netns exec "$NS" "$FL_BIN/foreign_attach" "$OBJ" foreign_pass "$DEV" ingress tcx >"$rdy" 2>&1 &
fpid=$!
at_exit "kill $fpid"
wait_until 5 grep -q ready "$rdy" || fail drop_chain_setup "(foreign tcx: $(cat "$rdy"))"
check drop_chain_tcx_behind_foreign_not_first test "$(chain_field first)" = False
check drop_chain_tcx_behind_foreign_ahead test "$(chain_field ahead)" = 1
check drop_chain_tcx_behind_foreign_list_warns grep -q 'run before it' <<<"$(ctl list)"
check drop_chain_tcx_behind_foreign_logged grep -q 'run before it' "$FL_RUN/agentd.log"
kill "$fpid"; wait "$fpid" 2>/dev/null
ctl clear --all >/dev/null
stop_agentd
