#!/usr/bin/env bash
# A scenario kills a dependency process (a kill fault by comm) and restarts
# it with the command it names: the old process dies, a new one runs after
# the restart delay, detached from the run; the events have the kill. A
# restart on another kind, or with both command and unit, is refused.
# Everything on loopback inside a namespace of the test's own.
. "$(dirname "$0")/../lib.sh"
need_root proc_restart

NS=${FL_TEST_ID}r
make_netns "$NS"
OUT=$(mktemp -d /tmp/fl-proc.XXXXXX)
at_exit "rm -rf $OUT"
DEP=${FL_TEST_ID}d
cp /bin/sleep "$OUT/$DEP"
RLOG=$OUT/access.log
NGINX_ACCESS_LOG=$RLOG start_nginx "$NS" 8080
start_agentd
run_ctl() { ip netns exec "$NS" "$FL_BIN/agentctl" --socket "$FL_SOCK" "$@"; }

"$OUT/$DEP" 300 &
old=$!
at_exit "kill -KILL $old 2>/dev/null"
at_exit "[ -s $OUT/new.pid ] && kill -KILL \$(cat $OUT/new.pid)"
cat >"$OUT/restart.json" <<JSON
{
  "name": "restart",
  "target": {"url": "http://127.0.0.1:8080/"},
  "load": {"duration": "4s", "rate": 50, "connections": 4, "timeout": "1s"},
  "faults": [
    {"at": "1s", "until": "2s",
     "fault": {"kind": "kill", "name": "dep", "target": {"comm": "$DEP"}, "params": {"signal": "TERM"}},
     "restart": {"after": "1s",
                 "command": ["sh", "-c", "echo \$\$ >$OUT/new.pid; exec $OUT/$DEP 300"]}}
  ],
  "receipts": "nginx:$RLOG",
  "objectives": {"ghosts_max": 0, "unexplained_max": 0}
}
JSON
t0=$(date +%s%N)
run_ctl run "$OUT/restart.json" --out "$OUT/run" >"$OUT/run.log" 2>&1
rc=$?
sed 's/^/# /' "$OUT/run.log"
check proc_restart_run_passes test "$rc" -eq 0
wait "$old" 2>/dev/null
check proc_restart_old_died_of_term test $? -eq $((128 + 15))
check proc_restart_said_so grep -q "faults\[0\]: restarted with sh" "$OUT/run.log"
check proc_restart_names_target grep -q "fault 1: kill on $DEP" "$OUT/run.log"
new=$(cat "$OUT/new.pid" 2>/dev/null)
check proc_restart_new_runs test -n "$new" -a "$(cat /proc/"$new"/comm 2>/dev/null)" = "$DEP"
check proc_restart_new_is_another test "$new" != "$old"
# Started about 2 s after the run did (the kill at 1 s, the restart 1 s later).
started=$(($(date +%s%N) - t0 - $(awk -v hz="$(getconf CLK_TCK)" -v up="$(cut -d' ' -f1 /proc/uptime)" \
	'{ printf "%d", (up - $22 / hz) * 1e9 }' "/proc/$new/stat")))
echo "# restarted $((started / 1000000)) ms after the run started"
check proc_restart_after_the_delay test "$started" -ge 1800000000 -a "$started" -le 5000000000
check proc_restart_kill_event test "$(zcat "$OUT/run/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
print([(r['pid'], r['signal']) for r in map(json.loads, sys.stdin)
       if r['type'] == 'inject' and r['kind'] == 'kill'])")" = "[($old, 'TERM')]"

# Refused before anything runs.
bad() {
	local name=$1 pat=$2 restart=$3 fault=$4
	cat >"$OUT/$name.json" <<JSON
{"target": {"url": "http://127.0.0.1:8080/"}, "load": {"duration": "2s", "rate": 10},
 "faults": [{"at": "1s", "until": "2s", "fault": $fault, "restart": $restart}],
 "receipts": "nginx:$RLOG"}
JSON
	run_ctl run "$OUT/$name.json" --out "$OUT/$name" >"$OUT/$name.log" 2>&1
	local rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$pat" "$OUT/$name.log" && [ ! -e "$OUT/$name/ledger.bin.gz" ]; then
		pass "proc_restart_$name"
	else
		fail "proc_restart_$name" "(exit $rc: $(cat "$OUT/$name.log"))"
	fi
}
KILL='{"kind": "kill", "target": {"comm": "nothing-here"}}'
bad refuses_drop "only a kill fault restarts" '{"command": ["true"]}' \
	'{"kind": "drop", "target": {"dev": "lo"}}'
bad refuses_both "give command (a list of strings) or unit, one of them" \
	'{"command": ["true"], "unit": "x.service"}' "$KILL"
bad refuses_neither "give command (a list of strings) or unit" '{"after": "1s"}' "$KILL"
bad refuses_empty_command "must be a list of 1 to 64 strings" '{"command": []}' "$KILL"
bad refuses_bad_unit "must be a systemd unit name" '{"unit": "-x; reboot"}' "$KILL"
bad refuses_unknown_key "unknown field 'cmd'" '{"cmd": ["true"]}' "$KILL"
