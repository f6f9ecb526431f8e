#!/usr/bin/env bash
# An agent that ran inside a named network namespace (`ip netns exec X
# agentd`, as in a container) and was killed leaves a classic tc filter and
# its clsact qdisc in that namespace. The next agent, started in the host's
# namespace, finds the namespace again by identity and removes both.
. "$(dirname "$0")/../lib.sh"
need_root drop_crash_netns

NS=${FL_TEST_ID}n
DEV=${FL_TEST_ID}n
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}m" 10.251.31.1/24 "$NS" "$DEV" 10.251.31.2/24
pings() { ping -c 1 -W 0.2 10.251.31.2 >/dev/null 2>&1; }
ours() { tc -n "$NS" filter show dev "$DEV" ingress | grep -c 'handle 0xfa17'; }
clsact() { tc -n "$NS" qdisc show dev "$DEV" | grep -c clsact; }

check drop_crash_netns_baseline pings
AGENTD_WRAP="ip netns exec $NS" start_agentd
# The device is in the agent's own namespace: no --netns.
id=$(ctl inject drop --dev "$DEV" --proto icmp --backend tc --for 5m)
check drop_crash_netns_injected test -n "$id"
if pings; then fail drop_crash_netns_drops; else pass drop_crash_netns_drops; fi
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
# What the crash left (the heartbeat disarms it; the filter stays).
check drop_crash_netns_filter_left test "$(ours)" -ge 1
check drop_crash_netns_clsact_left test "$(clsact)" = 1

start_agentd # in the host's namespace, same state folder
check drop_crash_netns_filter_removed test "$(ours)" = 0
check drop_crash_netns_clsact_removed test "$(clsact)" = 0
check drop_crash_netns_flows wait_until 3 pings
check drop_crash_netns_logged grep -q 'removed a tc filter left by an earlier agent' "$FL_RUN/agentd.log"
stop_agentd

# A recorded namespace that is gone is no error: the next start just goes on.
AGENTD_WRAP="ip netns exec $NS" start_agentd
ctl inject drop --dev "$DEV" --proto icmp --backend tc --for 5m >/dev/null
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
ip netns del "$NS"
start_agentd
check drop_crash_netns_gone_namespace_starts ctl status
stop_agentd
