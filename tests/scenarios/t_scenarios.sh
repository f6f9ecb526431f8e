#!/usr/bin/env bash
# The shipped scenarios (docs/scenarios/) run end to end against nginx in a
# network namespace through a real agentd: each passes, with its report
# written. Then the outage scenario again with a drop the agent did not make
# (an iptables DROP rule in the service's namespace): the verdict fails, and
# exactly the requests of that window are the unexplained ones.
. "$(dirname "$0")/../lib.sh"
need_root scenarios
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# The load runs in a client namespace of its own: no address of the test is
# in the host's namespace, where another run could hold the same one.
NS=${FL_TEST_ID}v
CLI=${FL_TEST_ID}k
DEV=${FL_TEST_ID}b
make_netns "$NS"
make_netns "$CLI"
veth_pair "$CLI" "${FL_TEST_ID}a" 10.251.9.1/24 "$NS" "$DEV" 10.251.9.2/24
run_ctl() { ip netns exec "$CLI" "$FL_BIN/agentctl" --socket "$FL_SOCK" "$@"; }
OUT=$(mktemp -d /tmp/fl-scen.XXXXXX)
at_exit "rm -rf $OUT"
RLOG=$OUT/access.log
NGINX_ACCESS_LOG=$RLOG start_nginx "$NS" 8080
start_agentd
export SERVICE_URL=http://10.251.9.2:8080/ SERVICE_NETNS=$NS SERVICE_DEV=$DEV SERVICE_PORT=8080
export RECEIPTS=nginx:$RLOG

# run_scenario NAME FILE: sets RC; the report is $OUT/NAME/report.json
run_scenario() {
	: >"$RLOG"
	run_ctl run "$2" --out "$OUT/$1" >"$OUT/$1.log" 2>&1
	RC=$?
	sed 's/^/# /' "$OUT/$1.log"
}
field() { python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
for k in sys.argv[2].split('.'):
    r = r[k]
print(r)" "$OUT/$1/report.json" "$2"; }

for f in outage loss-1pct loss-5pct loss-10pct ramp-loss burst; do
	[ -n "${FL_SCENARIOS:-}" ] && ! [[ $f =~ $FL_SCENARIOS ]] && continue
	run_scenario "$f" "$ROOT/docs/scenarios/$f.json"
	if [ "$RC" -eq 0 ] && [ "$(field "$f" verdict)" = pass ]; then
		pass "scenario_$f"
	else
		fail "scenario_$f" "(exit $RC, see $OUT/$f.log)"
	fi
	check "scenario_${f}_reports" test -s "$OUT/$f/report.html" -a -s "$OUT/$f/report.md"
done

# The outage (10 s dark at 200 req/s, 2 s timeout): a population of clients
# sees about rate x duration failures, not only the requests on stalled
# connections; the chart's failed series holds them; recovery in bound.
if [ -s "$OUT/outage/report.json" ]; then
	check scenario_outage_failures_rate_x_duration python3 - "$OUT/outage/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = r["faults"][0]
s = r["series"]
t0 = (f["start_wall_ns"] - s["t0_wall_ns"]) / 1e9
t1 = (f["end_wall_ns"] - s["t0_wall_ns"]) / 1e9
w = s["bin_s"]
charted = sum(v for i, v in enumerate(s["failed"]) if t0 - w <= i * w < t1 + w)
print("failed in window", f["failed"], "of", f["requests"], "charted", charted,
      "recovery", f["recovery_s"], "explained", f["explained_by"])
ok = 0.8 * 2000 <= f["failed"] <= 1.1 * 2000 and charted >= f["failed"] \
    and f["recovery_s"] is not None and f["recovery_s"] <= 5
sys.exit(0 if ok else 1)
PY
fi

# Ctrl-C in the middle of the outage: the run stops the load, clears its
# fault, and still reconciles and reports what it has.
: >"$RLOG"
# Not through run_ctl: a function in the background is a subshell, and the
# signal must reach agentctl itself.
ip netns exec "$CLI" "$FL_BIN/agentctl" --socket "$FL_SOCK" run "$ROOT/docs/scenarios/outage.json" \
	--out "$OUT/interrupted" >"$OUT/interrupted.log" 2>&1 &
runpid=$!
sleep 8
active=$(ctl list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
kill -INT $runpid
t0=$SECONDS
wait $runpid
RC=$?
sed 's/^/# /' "$OUT/interrupted.log"
check interrupt_fault_was_active test "$active" = 1
check interrupt_stops_soon test $((SECONDS - t0)) -le 10
check interrupt_verdict_exit test "$RC" -eq 0 -o "$RC" -eq 1
check interrupt_fault_cleared test "$(ctl list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0
check interrupt_report_written test -s "$OUT/interrupted/report.json" -a -s "$OUT/interrupted/report.html"
check interrupt_ledger_partial python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if 0 < r['counts']['requests'] < 5000 else 1)" "$OUT/interrupted/report.json"

# Behind the agent's back: the agent drops 3-6 s, iptables 10-12 s.
cat >"$OUT/sneaky.json" <<'JSON'
{
  "name": "sneaky",
  "target": {"url": "${SERVICE_URL}", "netns": "${SERVICE_NETNS}"},
  "load": {"duration": "16s", "rate": 200, "connections": 8, "timeout": "1s"},
  "faults": [{"at": "3s", "until": "6s",
              "fault": {"kind": "drop", "target": {"dev": "${SERVICE_DEV}", "proto": "tcp", "dport": "${SERVICE_PORT}"}}}],
  "receipts": "${RECEIPTS}",
  "objectives": {"ghosts_max": 0, "duplicates_max": 0, "unexplained_max": 0}
}
JSON
: >"$RLOG"
run_ctl run "$OUT/sneaky.json" --out "$OUT/sneaky" >"$OUT/sneaky.log" 2>&1 &
runpid=$!
sleep 10
ip netns exec "$NS" iptables -w -I INPUT -p tcp --dport 8080 -j DROP
sleep 2
ip netns exec "$NS" iptables -w -D INPUT -p tcp --dport 8080 -j DROP
wait $runpid
RC=$?
sed 's/^/# /' "$OUT/sneaky.log"
check sneaky_fails test "$RC" -eq 1
"$FL_BIN/loadgen" --dump-ledger "$OUT/sneaky/ledger.bin.gz" >"$OUT/sneaky.tsv"
python3 - "$OUT/sneaky/report.json" "$OUT/sneaky.tsv" <<'PY' >"$OUT/sneaky.check"
import json, sys
r = json.load(open(sys.argv[1]))
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if not l.startswith("#")]
t0 = min(int(x[2]) for x in rows)
when = {x[0]: (int(x[2]) - t0) / 1e9 for x in rows}
unexpl = r["unexplained_ids"]
failed = {x[0] for x in rows if x[7] not in ("ok", "unsent")}
expl = failed - set(unexpl)
print("unexplained", len(unexpl), "in window", sum(1 for i in unexpl if 8.5 <= when[i] <= 12.7))
print("explained", len(expl), "in window", sum(1 for i in expl if 1.5 <= when[i] <= 6.7))
print("counts", r["counts"]["unexplained"], r["counts"]["explained"])
PY
cat "$OUT/sneaky.check" | sed 's/^/# /'
read -r _ nu _ _ nu_in < <(sed -n 1p "$OUT/sneaky.check")
read -r _ ne _ _ ne_in < <(sed -n 2p "$OUT/sneaky.check")
check sneaky_unexplained_found test "${nu:-0}" -gt 0
check sneaky_unexplained_are_the_iptables_window test "${nu:-0}" -eq "${nu_in:--1}"
check sneaky_agent_failures_explained test "${ne:-0}" -gt 0 -a "${ne:-0}" -eq "${ne_in:--1}"
