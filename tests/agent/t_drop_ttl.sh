#!/usr/bin/env bash
# A fault with --for 2s is gone by itself after 2 s: the agent lists it no
# more, traffic flows, and the event log records its end as "expired".
. "$(dirname "$0")/../lib.sh"
need_root drop_ttl

NS=${FL_TEST_ID}t
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.251.6.1/24 "$NS" "${FL_TEST_ID}b" 10.251.6.2/24
start_agentd
pings() { ping -c 1 -W 0.2 10.251.6.2 >/dev/null 2>&1; }

# The fault's 2 s start between t0 and t1 (when inject returns): it cannot
# end before t0 + 2 s, and must have ended by t1 + 2.8 s. Under software
# emulation (the kernel matrix) the inject alone can take 2 s: then the
# checks that it is active come too late to tell, and say so.
t0=$(date +%s%N)
id=$(ctl inject drop --dev "${FL_TEST_ID}b" --netns "$NS" --proto icmp --for 2s)
t1=$(date +%s%N)
took=$(((t1 - t0) / 1000000))
if [ "$took" -lt 1500 ]; then
	if pings; then fail drop_ttl_active; else pass drop_ttl_active; fi
	check drop_ttl_listed test "$(ctl list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1
else
	skip drop_ttl_active "(the inject took $took ms of the fault's 2 s here)"
fi
wait_until 6 pings
t2=$(date +%s%N)
echo "# traffic flowed again after $(((t2 - t0) / 1000000)) ms ($(((t2 - t1) / 1000000)) ms after the inject returned in $took ms)"
check drop_ttl_expires_near_2s test $(((t2 - t0) / 1000000)) -ge 1900 -a $(((t2 - t1) / 1000000)) -le 2800
check drop_ttl_unlisted test "$(ctl list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0
sleep 0.5
check drop_ttl_end_logged test "$(zcat "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
print(any(r['type'] == 'end' and r['fault_id'] == $id and r['reason'] == 'expired' for r in map(json.loads, sys.stdin)))")" = True
