#!/usr/bin/env bash
# The database behind the API goes down: an nginx API (proxy_pass) in one
# namespace, a second nginx standing in for the database in another, and
# agentd drops everything to the database's port for 3 s. The API answers
# 504 to the requests that arrived meanwhile; its receipts name the upstream
# ($upstream_addr), so every failure is explained as a dependency and the
# verdict passes, with the chain request -> API -> upstream -> fault named.
# The same run with receipts that name no upstream: unexplained (fail),
# unless the effect is declared (then declared, pass). And a second outage
# made by iptables behind the agent's back: those failures stay unexplained.
. "$(dirname "$0")/../lib.sh"
need_root reconcile_dependency
command -v iptables >/dev/null || { skip reconcile_dependency "(no iptables)"; exit 0; }

CLI=${FL_TEST_ID}dc
API=${FL_TEST_ID}da
DB=${FL_TEST_ID}dd
DBDEV=${FL_TEST_ID}e1
T=$(mktemp -d /tmp/fl-dep.XXXXXX)
at_exit "rm -rf $T"
make_netns "$CLI"
make_netns "$API"
make_netns "$DB"
veth_pair "$CLI" "${FL_TEST_ID}e3" 10.252.8.1/24 "$API" "${FL_TEST_ID}e4" 10.252.8.2/24
veth_pair "$API" "${FL_TEST_ID}e2" 10.252.9.1/24 "$DB" "$DBDEV" 10.252.9.2/24

start_nginx "$DB" 5432 || { fail reconcile_dependency_db; exit 1; }
# the API: full receipts (with the upstream) and plain ones (without)
NGINX_ACCESS_LOG=$T/full.log NGINX_PLAIN_LOG=$T/plain.log start_nginx_proxy "$API" 8080 10.252.9.2:5432 ||
	{ fail reconcile_dependency_api; exit 1; }
start_agentd
wait_until 5 ip netns exec "$CLI" curl -sf -o /dev/null http://10.252.8.2:8080/ ||
	{ fail reconcile_dependency_proxy_up; exit 1; }

cat >"$T/dep.json" <<JSON
{
  "name": "dependency-outage",
  "target": {"url": "http://10.252.8.2:8080/"},
  "load": {"duration": "9s", "rate": 50, "timeout": "4s"},
  "faults": [
    {"at": "2s", "until": "5s",
     "fault": {"kind": "drop", "name": "db-outage",
               "target": {"dev": "$DBDEV", "netns": "$DB", "direction": "ingress",
                          "proto": "tcp", "dport": 5432},
               "params": {"prob": 1}}}
  ],
  "receipts": "nginx:$T/full.log"
}
JSON
field() { json_field "$@"; }
run_dep() { # NAME: agentctl run from the client namespace into $T/NAME
	: >"$T/full.log"
	: >"$T/plain.log"
	ip netns exec "$CLI" "$FL_BIN/agentctl" --socket "$FL_SOCK" run "$T/dep.json" --out "$T/$1" \
		>"$T/$1.log" 2>&1
	RC=$?
	sed 's/^/# /' "$T/$1.log"
	cp "$T/plain.log" "$T/$1.plain.log"
}

# 1. the agent's outage of the database: every failure a dependency
run_dep a
R=$T/a/report.json
failed=$(field "$R" counts.failed)
dep=$(field "$R" explained_by.dependency)
check dependency_failures_happened test "${failed:-0}" -ge 20
check dependency_verdict_passes test "$RC" -eq 0
check dependency_every_failure test "${dep:--1}" -eq "${failed:--2}"
check dependency_none_direct test "$(field "$R" explained_by.direct)" -eq 0
check dependency_none_unexplained test "$(field "$R" counts.unexplained)" -eq 0
check dependency_chain_named test "$(field "$R" dependency_chains.0.service)" = 10.252.8.2:8080 \
	-a "$(field "$R" dependency_chains.0.upstream)" = 10.252.9.2:5432 \
	-a "$(field "$R" dependency_chains.0.fault_name)" = db-outage
check dependency_chain_in_report grep -q "request -&gt; 10.252.8.2:8080 -&gt; upstream 10.252.9.2:5432 -&gt; fault" "$T/a/report.html"
check dependency_failures_are_504 python3 -c "
import sys
n = sum(1 for l in open(sys.argv[1]) if l.split()[2] == '504')
sys.exit(0 if n >= int(sys.argv[2]) else 1)" "$T/full.log" "$failed"

# 2. the same run, receipts without the upstream: unexplained, then declared
fid=$(field "$R" faults.0.id)
rec() { # NAME ARGS...: reconcile run a again
	local n=$1; shift
	"$FL_BIN/agentctl" reconcile --ledger "$T/a/ledger.bin.gz" --receipts "nginx:$T/a.plain.log" \
		--events "$T/a/events.ndjson.gz" --out "$T/$n" "$@" >"$T/$n.log" 2>&1
}
rec plain
RC=$?
check noupstream_fails test "$RC" -eq 1
check noupstream_all_unexplained test "$(field "$T/plain/report.json" counts.unexplained)" -eq "$failed"
echo "{\"$fid\": {\"statuses\": [502, 504], \"errors\": [\"timeout\"], \"grace\": \"2s\"}}" >"$T/effects.json"
rec declared --effects "$T/effects.json"
RC=$?
check declared_passes test "$RC" -eq 0
check declared_all test "$(field "$T/declared/report.json" explained_by.declared)" -eq "$failed"
check declared_shown_apart grep -q "declared $failed (weaker" "$T/declared/report.md"
echo "{\"$fid\": {\"statuses\": [500], \"grace\": \"2s\"}}" >"$T/effects-wrong.json"
rec declared_wrong --effects "$T/effects-wrong.json"
check declared_wrong_status_unexplained test "$(field "$T/declared_wrong/report.json" counts.unexplained)" -eq "$failed"

# 3. a second outage behind the agent's back (iptables in the database's
# namespace, 6.5 s to 8 s): its failures are unexplained, the agent's not.
( sleep 6.5; ip netns exec "$DB" iptables -I INPUT -p tcp --dport 5432 -j DROP
  date +%s%N >"$T/ipt.start"; sleep 1.5
  ip netns exec "$DB" iptables -D INPUT -p tcp --dport 5432 -j DROP; date +%s%N >"$T/ipt.end" ) &
ipt=$!
at_exit "ip netns exec $DB iptables -D INPUT -p tcp --dport 5432 -j DROP"
run_dep b
wait $ipt
R=$T/b/report.json
check sneaky_dependency_fails test "$RC" -eq 1
check sneaky_dependency_agent_part test "$(field "$R" explained_by.dependency)" -ge 20
"$FL_BIN/loadgen" --dump-ledger "$T/b/ledger.bin.gz" >"$T/b.tsv"
check sneaky_dependency_unexplained_are_iptables python3 "$(dirname "$0")/../helpers/unexplained_in_window.py" \
	"$R" "$T/b.tsv" "$(cat "$T/ipt.start")" "$(cat "$T/ipt.end")" 10.252.9.2:5432
