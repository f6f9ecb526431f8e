#!/usr/bin/env bash
# A process fault on the database explains the API's failures as a
# dependency (docs/scenarios/dependency-pause.json): an nginx API
# (proxy_pass, 1 s proxy timeouts) in one namespace in front of a second
# nginx standing in for the database in another, in a cgroup of its own;
# loadgen drives the API at 50 req/s with receipts naming the upstream
# ($upstream_addr). The agent pauses the database (freeze) for 5 s, later
# kills it; the scenario restarts it 2 s after (as a supervisor would).
# The pause's and the kill's start events name what the database listened
# on (0.0.0.0:5432 and [::]:5432, with its namespace's addresses), so every
# 502 and 504 is a dependency failure of one of them: none unexplained, the
# verdict passes, recovery measured within its bound.
# The case that must not pass: the same run with an outage the agent did
# not make (an iptables DROP in the database's namespace, after both
# faults): exactly those failures are unexplained and the verdict fails.
. "$(dirname "$0")/../lib.sh"
need_root proc_dep
command -v iptables >/dev/null || { skip proc_dep "(no iptables)"; exit 0; }
CG2=$(cgroup2_mount)
[ -n "$CG2" ] && [ -f "$CG2/cgroup.procs" ] || { skip proc_dep "(no cgroup v2 mount)"; exit 0; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

CLI=${FL_TEST_ID}pc
API=${FL_TEST_ID}pa
DB=${FL_TEST_ID}pd
T=$(mktemp -d /tmp/fl-pdep.XXXXXX)
at_exit "rm -rf $T"
make_netns "$CLI"
make_netns "$API"
make_netns "$DB"
veth_pair "$CLI" "${FL_TEST_ID}p1" 10.240.1.1/24 "$API" "${FL_TEST_ID}p2" 10.240.1.2/24
veth_pair "$API" "${FL_TEST_ID}p3" 10.240.2.1/24 "$DB" "${FL_TEST_ID}p4" 10.240.2.2/24
make_cgroup "$CG2" db
DBCG=$CGROUP_DIR

# The database: nginx in its cgroup and namespace, listening on the
# wildcard addresses (as a database does); db-start.sh (re)starts it there.
mkdir -p "$T/db"
nginx_conf "$T/db" "access_log off;
	server { listen 5432 reuseport; listen [::]:5432; location / { return 200 \"row\\n\"; } }"
# agentctl runs it from inside "ip netns exec", whose fresh /sys has no
# cgroup mount: there it mounts cgroup2 in that private mount namespace
# (gone with its last process) to join the cgroup.
mkdir -p "$T/cgmnt"
cat >"$T/db-start.sh" <<SH
cg=$DBCG
if ! [ -d "\$cg" ]; then
	mount -t cgroup2 none "$T/cgmnt" && cg=$T/cgmnt/$(basename "$DBCG")
fi
echo \$\$ >"\$cg/cgroup.procs" && exec ip netns exec "$DB" nginx -c "$T/db/nginx.conf" -p "$T/db"
SH
sh "$T/db-start.sh" || { fail proc_dep_db; exit 1; }
at_exit "kill \$(cat $T/db/nginx.pid) 2>/dev/null"

NGINX_ACCESS_LOG=$T/full.log NGINX_READ_TIMEOUT=1s start_nginx_proxy "$API" 8080 10.240.2.2:5432 ||
	{ fail proc_dep_api; exit 1; }
start_agentd
wait_until 5 ip netns exec "$CLI" curl -sf -o /dev/null http://10.240.1.2:8080/ ||
	{ fail proc_dep_proxy_up; exit 1; }

export SERVICE_URL=http://10.240.1.2:8080/ DB_CGROUP=$(basename "$DBCG") DB_START=$T/db-start.sh
export RECEIPTS=nginx:$T/full.log
field() { json_field "$@"; }
run_dep() { # NAME: the scenario from the client namespace into $T/NAME
	: >"$T/full.log"
	ip netns exec "$CLI" "$FL_BIN/agentctl" --socket "$FL_SOCK" run \
		"$ROOT/docs/scenarios/dependency-pause.json" --out "$T/$1" >"$T/$1.log" 2>&1
	RC=$?
	sed 's/^/# /' "$T/$1.log"
	sed "s/^/# restart: /" "$T/$1"/restart-*.log 2>/dev/null
	cp "$T/full.log" "$T/$1.receipts.log"
}

# 1. pause, then kill and restart: every failure a dependency one
run_dep a
R=$T/a/report.json
failed=$(field "$R" counts.failed)
echo "# failed $failed, explained_by $(field "$R" explained_by), unexplained $(field "$R" counts.unexplained)"
check proc_dep_failures_happened test "${failed:-0}" -ge 100
check proc_dep_verdict_passes test "$RC" -eq 0
check proc_dep_every_failure_dependency test "$(field "$R" explained_by.dependency)" -eq "${failed:--1}"
check proc_dep_none_unexplained test "$(field "$R" counts.unexplained)" -eq 0
# both faults explain some, each with the chain to the database's address,
# and both kinds of answer happened: 504 (paused: the API's read timed
# out) and 502 (killed: refused)
check proc_dep_per_fault python3 - "$R" "$T/a.receipts.log" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
by = {f["name"]: f for f in r["faults"]}
st = [l.split()[2] for l in open(sys.argv[2])]
chains = {(c["fault_name"], c["upstream"]) for c in r["dependency_chains"]}
for n in ("db-pause", "db-kill"):
    f = by[n]
    print(n, "failed", f["failed"], "explained", f["explained_by"], "recovery_s", f["recovery_s"])
print("502:", st.count("502"), "504:", st.count("504"), "chains", sorted(chains))
ok = all(by[n]["explained_by"]["dependency"] >= 5 for n in by) and \
    chains == {("db-pause", "10.240.2.2:5432"), ("db-kill", "10.240.2.2:5432")} and \
    st.count("502") >= 5 and st.count("504") >= 5
sys.exit(0 if ok else 1)
PY
# recovery measured for both, within the scenario's 5 s
check proc_dep_recovery_bounded python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
v = [f['recovery_s'] for f in r['faults']]
sys.exit(0 if len(v) == 2 and all(x is not None and 0 <= x <= 5 for x in v) else 1)" "$R"
# the start events name the database's listeners, its namespace and its
# address; the pause's resume events and the API name none
check proc_dep_events_listen python3 - "$T/a/events.ndjson.gz" "$(stat -Lc %i /var/run/netns/"$DB")" <<'PY'
import gzip, json, sys
recs = []
try:
    for l in gzip.open(sys.argv[1], "rt"):
        recs.append(json.loads(l))
except EOFError:
    pass
inj = [x for x in recs if x["type"] == "inject"]
starts = [x for x in inj if x["kind"] == "kill" or x.get("action") == "pause"]
ends = [x for x in inj if x.get("action") == "resume"]
ok = len(starts) >= 4 and ends and not any("listen" in x for x in ends)
for x in starts:
    ls = {(l["proto"], l["dst"], l["dport"]) for l in x.get("listen", [])}
    ok = ok and ls == {("tcp", "0.0.0.0", 5432), ("tcp", "::", 5432)} \
        and x.get("netns") == int(sys.argv[2]) and "10.240.2.2" in x.get("netns_addrs", [])
print(json.dumps(starts[0]))
sys.exit(0 if ok else 1)
PY

# 2. the same run with an outage behind the agent's back (iptables DROP in
# the database's namespace, 19 s to 20.5 s into the run): those failures,
# and only those, are unexplained; the verdict fails.
ipt_rule="INPUT -p tcp --dport 5432 -j DROP"
( sleep 19; ip netns exec "$DB" iptables -I $ipt_rule; date +%s%N >"$T/ipt.start"; sleep 1.5
  ip netns exec "$DB" iptables -D $ipt_rule; date +%s%N >"$T/ipt.end" ) &
ipt=$!
at_exit "ip netns exec $DB iptables -D $ipt_rule 2>/dev/null"
run_dep b
wait $ipt
R=$T/b/report.json
echo "# failed $(field "$R" counts.failed), explained_by $(field "$R" explained_by), unexplained $(field "$R" counts.unexplained)"
check proc_dep_sneaky_fails test "$RC" -eq 1
check proc_dep_sneaky_agent_part test "$(field "$R" explained_by.dependency)" -ge 100
"$FL_BIN/loadgen" --dump-ledger "$T/b/ledger.bin.gz" >"$T/b.tsv"
check proc_dep_sneaky_unexplained_are_iptables python3 "$(dirname "$0")/../helpers/unexplained_in_window.py" \
	"$R" "$T/b.tsv" "$(cat "$T/ipt.start")" "$(cat "$T/ipt.end")" 10.240.2.2:5432
