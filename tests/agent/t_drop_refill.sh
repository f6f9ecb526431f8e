#!/usr/bin/env bash
# A rule slot freed by one fault and filled by the next, while the first
# fault's traffic floods the device: the new fault starts with zero counters,
# gets no events of the old one, and the old fault's events all carry the old
# fault's id (the slot's generation, bpf/drop.h; the agent's wait before it
# reuses a slot, agent/kinds/drop.c). On every drop backend.
. "$(dirname "$0")/../lib.sh"
need_root drop_refill

CNS=${FL_TEST_ID}rc
SNS=${FL_TEST_ID}rs
A=${FL_TEST_ID}ra
B=${FL_TEST_ID}rb
RAW=$(cd "$(dirname "$0")" && pwd)/rawframe.py
ROUNDS=5
make_netns "$CNS"
make_netns "$SNS"
veth_pair "$CNS" "$A" 10.251.22.1/24 "$SNS" "$B" 10.251.22.2/24
MAC_B=$(ip netns exec "$SNS" cat "/sys/class/net/$B/address")
start_agentd

# counter ID FIELD
counter() { ctl list --json | python3 -c '
import json, sys
print([f[sys.argv[2]] for f in json.load(sys.stdin) if f["id"] == int(sys.argv[1])][0])' "$1" "$2"; }
matched_some() { [ "$(counter "$1" matched)" -gt 0 ]; }
# inject records per fault id, as "ID COUNT" lines
logged() { zcat "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c '
import collections, json, sys
n = collections.Counter()
for l in sys.stdin:
    r = json.loads(l)
    if r["type"] == "inject":
        n[(r["fault_id"], r.get("dport"))] += 1
for (i, p), c in sorted(n.items()):
    print(i, p, c)'; }

flood_pid=
stop_flood() { [ -n "$flood_pid" ] && kill "$flood_pid" 2>/dev/null; wait "$flood_pid" 2>/dev/null; flood_pid=; }
at_exit stop_flood

for backend in tcx tc xdp; do
	have_backend drop_refill "$backend" || continue
	inj() { ctl inject drop --dev "$B" --netns "$SNS" --backend "$backend" --proto udp --for 2m "$@"; }
	keeper=$(inj --dport 7299) # slot 0: keeps the program on the device
	# Until stop_flood, bounded: the rounds take seconds here but minutes in
	# an emulated guest (tools/matrix), where a 60 s flood ended before them.
	timeout 300 ip netns exec "$CNS" python3 "$RAW" --dev "$A" --dst-mac "$MAC_B" \
		--ip4 10.251.22.1 10.251.22.2 --dport 7201 --count 6000000 --pps 20000 &
	flood_pid=$!
	xs=() ys=() bad=0 ms=()
	for ((i = 0; i < ROUNDS; i++)); do
		x=$(inj --dport 7201)
		xs+=("$x")
		wait_until 5 matched_some "$x" || { fail "drop_refill_${backend}_flood_seen_$i"; break; }
		ctl clear "$x" >/dev/null
		t0=$(date +%s%N)
		y=$(inj --dport 7202) # the same slot; nothing is sent to 7202
		ms+=($((($(date +%s%N) - t0) / 1000000)))
		ys+=("$y")
		m=$(counter "$y" matched) d=$(counter "$y" dropped)
		[ "$m" = 0 ] && [ "$d" = 0 ] || { bad=1; echo "# round $i: new fault $y has matched $m dropped $d"; }
		ctl clear "$y" >/dev/null
	done
	stop_flood
	echo "# $backend: refill inject took ${ms[*]} ms"
	check "drop_refill_${backend}_new_rule_starts_at_zero" test $bad = 0
	sleep 0.6 # one agent tick: events flushed to the log
	log=$(logged)
	# Every event of the flood (port 7201) names one of the x faults; none names a y.
	wrong=$(awk -v k="$keeper" -v xs=" ${xs[*]} " -v ys=" ${ys[*]} " '$1 > k &&
		(($2 == 7201 && index(xs, " " $1 " ") == 0) || index(ys, " " $1 " ")) { print }' <<<"$log")
	check "drop_refill_${backend}_events_name_the_old_fault" test -z "$wrong"
	flood_logged=$(awk -v k="$keeper" '$1 > k && $2 == 7201 { n += $3 } END { print n + 0 }' <<<"$log")
	check "drop_refill_${backend}_flood_logged" test "$flood_logged" -gt 0
	check "drop_refill_${backend}_waited" test -z "$(grep "cannot wait" "$FL_RUN/agentd.log")"
	ctl clear "$keeper" >/dev/null
done
check drop_refill_nothing_left test "$(ctl list --json)" = "[]"
