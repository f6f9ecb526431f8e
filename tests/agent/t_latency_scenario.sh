#!/usr/bin/env bash
# A latency fault in a scenario (agentctl run): 50 ms on each request for
# 4 s of an 8 s load. Every request is answered; the report's fault has
# about one injection per request of its window, and their latency there
# is 50 ms (median within 2 ms). An objective on that latency decides the
# verdict: 60 ms at p50 passes, 10 ms fails.
. "$(dirname "$0")/../lib.sh"
need_root latency_scenario

NS=${FL_TEST_ID}v
CLI=${FL_TEST_ID}k
DEV=${FL_TEST_ID}b
make_netns "$NS"
make_netns "$CLI"
veth_pair "$CLI" "${FL_TEST_ID}a" 10.254.7.1/24 "$NS" "$DEV" 10.254.7.2/24
OUT=$(mktemp -d /tmp/fl-lscen.XXXXXX)
at_exit "rm -rf $OUT"
RLOG=$OUT/access.log
NGINX_ACCESS_LOG=$RLOG start_nginx "$NS" 8080
start_agentd || { fail latency_scenario_agentd_starts; exit 1; }
export SERVICE_URL=http://10.254.7.2:8080/ SERVICE_NETNS=$NS SERVICE_DEV=$DEV SERVICE_PORT=8080
export RECEIPTS=nginx:$RLOG

# scenario NAME MAX_MS: the scenario with a p50 objective on the fault's window
scenario() {
	cat >"$OUT/$1.json" <<JSON
{
  "name": "$1",
  "description": "50 ms on each request for 4 s",
  "target": {"url": "\${SERVICE_URL}", "netns": "\${SERVICE_NETNS}"},
  "load": {"duration": "8s", "rate": 100, "connections": 16, "timeout": "2s"},
  "phases": ["steady"],
  "faults": [
    {"at": "2s", "until": "6s",
     "fault": {"kind": "latency", "name": "slow",
               "target": {"dev": "\${SERVICE_DEV}", "direction": "ingress", "proto": "tcp",
                          "dport": "\${SERVICE_PORT}"},
               "params": {"delay": "50ms"}}}
  ],
  "receipts": "\${RECEIPTS}",
  "objectives": {"ghosts_max": 0, "duplicates_max": 0, "unexplained_max": 0,
                 "latency": [{"fault": "slow", "percentile": 50, "max_ms": $2}]}
}
JSON
	: >"$RLOG"
	ip netns exec "$CLI" "$FL_BIN/agentctl" --socket "$FL_SOCK" run "$OUT/$1.json" \
		--out "$OUT/$1" >"$OUT/$1.log" 2>&1
	RC=$?
	sed 's/^/# /' "$OUT/$1.log"
}
report() { python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
f = [f for f in r['faults'] if f['name'] == 'slow'][0]
print(r['verdict'], f['injections'], f['requests'], f['latency']['p50_ms'], r['counts']['failed'] if 'counts' in r else 0)" "$OUT/$1/report.json"; }

scenario pass60 60
read -r verdict inj reqs p50 _ < <(report pass60)
if [ "$RC" -eq 0 ] && [ "$verdict" = pass ]; then pass latency_scenario_passes; else fail latency_scenario_passes "(exit $RC, verdict $verdict)"; fi
# One data packet per request in the window, give or take those at its
# edges (the report counts a request that overlaps the window).
if [ "$inj" -ge $((reqs - 20)) ] && [ "$inj" -le $((reqs + 20)) ] && [ "$reqs" -ge 350 ]; then
	pass latency_scenario_injections
else
	fail latency_scenario_injections "($inj injections for $reqs requests in the window)"
fi
if python3 -c "import sys; sys.exit(0 if 49 <= $p50 <= 52 else 1)"; then
	pass latency_scenario_window_p50
else
	fail latency_scenario_window_p50 "(p50 $p50 ms in the fault's window)"
fi
scenario fail10 10
read -r verdict _ _ _ _ < <(report fail10)
if [ "$RC" -ne 0 ] && [ "$verdict" = fail ]; then pass latency_scenario_objective_fails; else fail latency_scenario_objective_fails "(exit $RC, verdict $verdict)"; fi
check latency_scenario_nothing_left bash -c "! ip netns exec $NS iptables -t mangle -S | grep -q faultline-latency"
exit 0
