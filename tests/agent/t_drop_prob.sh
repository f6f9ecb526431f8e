#!/usr/bin/env bash
# 30% drop of ICMP echo over 2,000 packets: the observed loss lies inside the
# 99.9% binomial interval, and the fault's counters and its events agree with
# what the sender saw. Run on every drop backend this kernel has.
. "$(dirname "$0")/../lib.sh"
need_root drop_prob

NS=${FL_TEST_ID}p
N=2000
P=0.3
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.251.2.1/24 "$NS" "${FL_TEST_ID}b" 10.251.2.2/24
start_agentd

for backend in tcx tc xdp; do
	have_backend drop_prob "$backend" || continue
	ping -c 3 -W 1 10.251.2.2 >/dev/null # neighbour resolved before counting
	id=$(ctl inject drop --dev "${FL_TEST_ID}b" --netns "$NS" --proto icmp --prob 30% \
		--backend "$backend" --for 5m)
	[ -n "$id" ] || { fail "drop_prob_${backend}_inject"; continue; }
	out=$(ping -c $N -i 0.002 -W 1 -q 10.251.2.2)
	received=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	lost=$((N - received))
	sleep 0.6 # one agent tick: events flushed to the log
	read -r matched dropped events < <(ctl list --json | python3 -c "
import json, sys
f = [f for f in json.load(sys.stdin) if f['id'] == int(sys.argv[1])][0]
print(f['matched'], f['dropped'], f['events'])" "$id")
	ctl clear "$id" >/dev/null
	logged=$(zcat "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
print(sum(1 for l in sys.stdin if (r := json.loads(l))['type'] == 'inject' and r['fault_id'] == int(sys.argv[1])))" "$id")
	read -r lo hi < <(awk -v n=$N -v p=$P 'BEGIN { z = 3.2905; s = sqrt(n * p * (1 - p));
		printf "%d %d\n", n * p - z * s, n * p + z * s + 1 }')
	echo "# $backend: sent $N, lost $lost (interval $lo..$hi), matched $matched, dropped $dropped, events $events, logged $logged"
	check "drop_prob_${backend}_in_interval" test "$lost" -ge "$lo" -a "$lost" -le "$hi"
	check "drop_prob_${backend}_matched_all" test "$matched" -eq $N
	check "drop_prob_${backend}_dropped_is_lost" test "$dropped" -eq "$lost"
	check "drop_prob_${backend}_events_counted" test "$events" -eq "$dropped"
	check "drop_prob_${backend}_events_logged" test "$logged" -eq "$dropped"
done
