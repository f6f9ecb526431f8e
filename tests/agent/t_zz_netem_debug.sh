#!/usr/bin/env bash
. "$(dirname "$0")/../lib.sh"
NS=${FL_TEST_ID}n
DEV=${FL_TEST_ID}b
start_agentd
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.251.15.1/24 "$NS" "$DEV" 10.251.15.2/24
for backend in netem edt; do
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --egress --proto icmp --delay 300ms --backend $backend --for 5m)
ping -c 3 -i 0.2 10.251.15.2 | grep time=
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
t0=$(date +%s%N)
ping -D -c 40 -i 0.1 -W 1 10.251.15.2 | sed -n 's/.*icmp_seq=\([0-9]*\).*time=\(.*\)/\1 \2/p' | tr '\n' ';'
echo
echo "$backend: ping started $(( ($(date +%s%N) - t0)/1000000 )) ms ago"
tc -n $NS -s qdisc show dev $DEV
tc -n $NS filter show dev $DEV egress
start_agentd
done
stop_agentd
echo "PASS dbg"
