#!/usr/bin/env bash
# inject cpu --quota 10%: a busy loop's CPU time over 2 s drops to about a
# tenth of one CPU (and to under half of what it had before); the cgroup's
# file (cpu.max, or cpu.cfs_quota_us where the cpu controller is on cgroup
# v1) is restored at clear, at the TTL, at SIGTERM, by the watchdog after a
# kill -9 of the agent, and by the next agent when the watchdog died too.
. "$(dirname "$0")/../lib.sh"
need_root proc_cpu

start_agentd
backend=$(ctl doctor --json | python3 -c "
import json, sys
print(json.load(sys.stdin)['backends']['cpu']['backend'])")
case $backend in
cpu_max) MOUNT=$(cgroup2_mount); FILE=cpu.max ;;
cfs_quota)
	MOUNT=$(ctl doctor --json | python3 -c "
import json, sys
print(json.load(sys.stdin)['facts']['cgroup1_cpu']['detail'])")
	FILE=cpu.cfs_quota_us
	;;
*) skip proc_cpu "(no cpu controller: $backend)"; exit 0 ;;
esac
echo "# backend $backend, $MOUNT/*/$FILE"
make_cgroup "$MOUNT" cpu
CG=$CGROUP_DIR
make_cgroup "$MOUNT" cpu-other
OTHER=$CGROUP_DIR
in_cgroup "$CG" sh -c 'while :; do :; done'
loop=$!
at_exit "kill -KILL $loop"
in_cgroup "$OTHER" sh -c 'while :; do :; done'
other=$!
at_exit "kill -KILL $other"
wait_until 2 grep -qx "$loop" "$CG/cgroup.procs"
wait_until 2 grep -qx "$other" "$OTHER/cgroup.procs"
ORIG=$(cat "$CG/$FILE")
HZ=$(getconf CLK_TCK)

# shares PID...: their CPU time over the same 2 s, each as a fraction of
# one CPU (3 decimals), on one line
ticks() { local p; for p; do awk '{printf "%d ", $14 + $15}' "/proc/$p/stat"; done; }
shares() {
	local a b
	a=$(ticks "$@")
	sleep 2
	b=$(ticks "$@")
	echo "$a|$b" | awk -F'|' -v hz="$HZ" '{ n = split($1, x, " "); split($2, y, " ")
		for (i = 1; i <= n; i++) printf "%s%.3f", (i > 1 ? " " : ""), (y[i] - x[i]) / hz / 2 }'
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
field() { ctl list --json | python3 -c "
import json, sys
print([f for f in json.load(sys.stdin) if f['id'] == $1][0]['$2'])"; }
restored() { [ "$(cat "$CG/$FILE")" = "$ORIG" ]; }

before=$(shares "$loop" "$other")
id=$(ctl inject cpu --cgroup "$(basename "$CG")" --quota 10% --for 1m)
check proc_cpu_injected test -n "$id"
check proc_cpu_file_set test "$(cat "$CG/$FILE")" != "$ORIG"
read -r capped other_share <<<"$(shares "$loop" "$other")"
echo "# busy loops (capped one, other one): $before of a CPU before; $capped capped at 10%, $other_share beside it; load $(cut -d' ' -f1 /proc/loadavg)"
check proc_cpu_capped_at_most_15pct le "$capped" 0.15
check proc_cpu_capped_at_least_3pct le 0.03 "$capped"
# The loop beside it, in the same 2 s, is not capped: it gets more (a
# machine loaded past ~12 runnable tasks on 2 CPUs would fail this).
check proc_cpu_other_cgroup_gets_more le "$(awk -v c="$capped" 'BEGIN{print 1.5 * c}')" "$other_share"
ctl clear "$id" >/dev/null
check proc_cpu_clear_restores restored
sleep 0.3
check proc_cpu_events test "$(zcat "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
print(' '.join('%s:%s' % (r['action'], r.get('quota', '-')) for r in map(json.loads, sys.stdin)
               if r['type'] == 'inject' and r['kind'] == 'cpu' and r['fault_id'] == $id
               and r['pid'] == $loop))")" = "cap:0.1 restore:-"

# --- the TTL ---
ctl inject cpu --cgroup "$CG" --quota 50% --for 1s >/dev/null
check proc_cpu_ttl_set test "$(cat "$CG/$FILE")" != "$ORIG"
wait_until 3 restored
check proc_cpu_ttl_restores restored

# --- kill -9 of the agent: its watchdog restores ---
id=$(ctl inject cpu --cgroup "$CG" --quota 10% --for 5m)
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
wait_until 3 restored
check proc_cpu_crash_watchdog_restores restored

# --- agent and watchdog killed: the next agent restores at start ---
start_agentd
id=$(ctl inject cpu --cgroup "$CG" --quota 10% --for 5m)
wd=$(field "$id" watchdog_pid)
kill -KILL "$wd" "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
sleep 0.5
check proc_cpu_leftover_still_capped test "$(cat "$CG/$FILE")" != "$ORIG"
start_agentd
check proc_cpu_restart_restores restored
check proc_cpu_restart_logged grep -q "restored $CG/$FILE to '$ORIG' (left by an earlier agent)" "$FL_RUN/agentd.log"

# --- a value someone else set after the crash is theirs: left alone ---
id=$(ctl inject cpu --cgroup "$CG" --quota 10% --for 5m)
wd=$(field "$id" watchdog_pid)
kill -KILL "$wd" "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
if [ $FILE = cpu.max ]; then echo "50000 100000" >"$CG/$FILE"; else echo 50000 >"$CG/$FILE"; fi
theirs=$(cat "$CG/$FILE")
start_agentd
check proc_cpu_restart_leaves_others_value test "$(cat "$CG/$FILE")" = "$theirs"
echo "$ORIG" >"$CG/$FILE"

# --- SIGTERM restores ---
ctl inject cpu --cgroup "$CG" --quota 10% --for 5m >/dev/null
stop_agentd
check proc_cpu_sigterm_restores restored
check proc_cpu_no_watchdog_left test -z "$(pgrep -f -- "--state-dir $FL_RUN")"
