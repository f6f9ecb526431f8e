#!/usr/bin/env bash
# inject pause: a cgroup is frozen (cgroup.events "frozen 1", a counter in
# it stops while one in another cgroup goes on) and thawed at clear and at
# the end of its TTL; a pid is stopped with SIGSTOP and continued. The
# agent killed with -9 during a pause: the watchdog resumes the processes
# within 3 s. The agent stopped (its heartbeat stalls): resumed too. Agent
# and watchdog both killed: the next agent resumes them at start.
. "$(dirname "$0")/../lib.sh"
need_root proc_pause

CG2=$(cgroup2_mount)
[ -n "$CG2" ] || { skip proc_pause "(no cgroup v2 mount)"; exit 0; }
[ -f "$CG2/cgroup.procs" ] || { skip proc_pause "(no cgroup v2 mount)"; exit 0; }
TMP=$(mktemp -d /tmp/fl-proc.XXXXXX)
at_exit "rm -rf $TMP"

# A counter process in a cgroup: it writes 1, 2, 3, ... to FILE every 20 ms.
counter() {
	in_cgroup "$1" sh -c 'i=0; while :; do i=$((i+1)); echo $i >"$0"; sleep 0.02; done' "$2"
	at_exit "kill -CONT $! 2>/dev/null; kill -KILL $! 2>/dev/null"
	wait_until 2 test -s "$2"
}
# advances FILE: the counter moves within 3 s (a loaded machine may hold it
# back for a while); still FILE: it does not move for 1 s
advances() { local a; a=$(cat "$1"); wait_until 3 eval "[ \"\$(cat $1)\" != '$a' ]"; }
still() { local a b; a=$(cat "$1"); sleep 1; b=$(cat "$1"); [ "$a" = "$b" ]; }
frozen() { grep -qx "frozen 1" "$1/cgroup.events"; }
thawed() { grep -qx "frozen 0" "$1/cgroup.events"; }
stopped() { [ "$(ps -o stat= -p "$1" | cut -c1)" = T ]; }
running() { local s; s=$(ps -o stat= -p "$1" | cut -c1); [ -n "$s" ] && [ "$s" != T ]; }
field() { ctl list --json | python3 -c "
import json, sys
print([f for f in json.load(sys.stdin) if f['id'] == $1][0]['$2'])"; }
# actions FAULT_ID PID: the pause events of that process, in order
actions() {
	zcat "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
print(' '.join(r['action'] for r in map(json.loads, sys.stdin)
               if r['type'] == 'inject' and r['kind'] == 'pause' and r['fault_id'] == $1
               and r['pid'] == $2))"
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

make_cgroup "$CG2" pause-a
A=$CGROUP_DIR
make_cgroup "$CG2" pause-b
B=$CGROUP_DIR
counter "$A" "$TMP/a"
ca=$!
counter "$B" "$TMP/b"
start_agentd

# --- freeze, then clear ---
id=$(ctl inject pause --cgroup "$(basename "$A")" --for 1m)
check proc_pause_injected test -n "$id"
check proc_pause_backend_freeze test "$(field "$id" backend)" = freeze
wait_until 2 frozen "$A"
check proc_pause_cgroup_frozen frozen "$A"
check proc_pause_counter_stops still "$TMP/a"
check proc_pause_other_cgroup_runs advances "$TMP/b"
ctl clear "$id" >/dev/null
wait_until 1 thawed "$A"
check proc_pause_clear_thaws thawed "$A"
check proc_pause_counter_resumes advances "$TMP/a"
sleep 0.3
check proc_pause_events test "$(actions "$id" "$ca")" = "pause resume"

# --- the TTL thaws it ---
t0=$(date +%s%N)
id=$(ctl inject pause --cgroup "$A" --for 1s)
wait_until 2 frozen "$A"
check proc_pause_ttl_frozen frozen "$A"
wait_until 4 thawed "$A"
ms=$(ms_since "$t0")
echo "# thawed $ms ms after a pause --for 1s"
check proc_pause_ttl_thaws_near_1s test "$ms" -ge 900 -a "$ms" -le 2000
check proc_pause_ttl_counter_resumes advances "$TMP/a"

# --- SIGSTOP by pid (auto backend), then clear ---
sleep 300 &
sp=$!
at_exit "kill -CONT $sp; kill -KILL $sp"
id=$(ctl inject pause --pid "$sp" --for 1m)
check proc_pause_pid_backend_sigstop test "$(field "$id" backend)" = sigstop
wait_until 1 stopped "$sp"
check proc_pause_pid_stopped stopped "$sp"
check proc_pause_pid_others_run advances "$TMP/a"
ctl clear "$id" >/dev/null
wait_until 1 running "$sp"
check proc_pause_pid_continued running "$sp"

# --- SIGSTOP by comm: every process of that name, none of another ---
cp /bin/sleep "$TMP/${FL_TEST_ID}p"
"$TMP/${FL_TEST_ID}p" 300 &
n1=$!
"$TMP/${FL_TEST_ID}p" 300 &
n2=$!
at_exit "kill -CONT $n1 $n2; kill -KILL $n1 $n2"
id=$(ctl inject pause --comm "${FL_TEST_ID}p" --for 1m)
wait_until 1 stopped "$n1"
check proc_pause_comm_first_stopped stopped "$n1"
wait_until 1 stopped "$n2"
check proc_pause_comm_second_stopped stopped "$n2"
check proc_pause_comm_other_name_runs running "$sp"
check proc_pause_comm_counted test "$(field "$id" injected)" = 2
ctl clear "$id" >/dev/null
wait_until 1 running "$n1"
check proc_pause_comm_continued running "$n1"
check proc_pause_comm_continued_both running "$n2"

# --- --backend sigstop on a cgroup: its processes are stopped, not frozen ---
id=$(ctl inject pause --cgroup "$A" --backend sigstop --for 1m)
wait_until 1 stopped "$ca"
check proc_pause_cgroup_sigstop_stopped stopped "$ca"
check proc_pause_cgroup_sigstop_not_frozen thawed "$A"
ctl clear "$id" >/dev/null
wait_until 1 running "$ca"
check proc_pause_cgroup_sigstop_continued running "$ca"
check proc_pause_cgroup_sigstop_counter_resumes advances "$TMP/a"

# --- kill -9 of the agent: the watchdog resumes within 3 s ---
for how in freeze sigstop; do
	if [ $how = freeze ]; then
		id=$(ctl inject pause --cgroup "$A" --for 5m)
		wait_until 2 frozen "$A"
		check proc_pause_crash_${how}_paused frozen "$A"
	else
		id=$(ctl inject pause --pid "$sp" --for 5m)
		wait_until 1 stopped "$sp"
		check proc_pause_crash_${how}_paused stopped "$sp"
	fi
	wd=$(field "$id" watchdog_pid)
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	t0=$(date +%s%N)
	if [ $how = freeze ]; then
		wait_until 3 thawed "$A"
		ok=$?
	else
		wait_until 3 running "$sp"
		ok=$?
	fi
	ms=$(ms_since "$t0")
	echo "# $how: resumed $ms ms after kill -9 of the agent"
	check proc_pause_crash_${how}_resumed_within_3s test $ok -eq 0 -a "$ms" -le 3000
	wait_until 2 eval "! kill -0 $wd 2>/dev/null"
	check proc_pause_crash_${how}_watchdog_exits eval "! kill -0 $wd 2>/dev/null"
	start_agentd
done
check proc_pause_crash_counter_runs advances "$TMP/a"

# --- the agent stalls (SIGSTOP): its heartbeat stops, the watchdog resumes ---
id=$(ctl inject pause --cgroup "$A" --for 5m)
wait_until 2 frozen "$A"
kill -STOP "$AGENT_PID"
at_exit "kill -CONT $AGENT_PID"
t0=$(date +%s%N)
wait_until 5 thawed "$A"
ms=$(ms_since "$t0")
kill -CONT "$AGENT_PID"
echo "# thawed $ms ms after the agent stopped"
check proc_pause_stall_thaws_within_3s test "$ms" -le 3000
wait_until 2 test "$(field "$id" undone 2>/dev/null)" = True
check proc_pause_stall_listed_as_undone test "$(field "$id" undone 2>/dev/null)" = True
check proc_pause_stall_agent_still_serves ctl clear "$id"
check proc_pause_stall_stays_thawed thawed "$A"

# --- agent and watchdog both killed: the next agent resumes at start ---
id=$(ctl inject pause --cgroup "$A" --for 5m)
id2=$(ctl inject pause --pid "$sp" --for 5m)
wait_until 2 frozen "$A"
wait_until 1 stopped "$sp"
wd=$(field "$id" watchdog_pid)
wd2=$(field "$id2" watchdog_pid)
kill -KILL "$wd" "$wd2" "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
sleep 0.5
check proc_pause_leftover_still_frozen frozen "$A"
check proc_pause_leftover_still_stopped stopped "$sp"
start_agentd
check proc_pause_restart_thaws thawed "$A"
check proc_pause_restart_continues running "$sp"
check proc_pause_restart_logged grep -q "resumed pid $sp (stopped by an earlier agent)" "$FL_RUN/agentd.log"

# --- clean stop (SIGTERM) resumes too ---
ctl inject pause --cgroup "$A" --for 5m >/dev/null
wait_until 2 frozen "$A"
stop_agentd
check proc_pause_sigterm_thaws thawed "$A"
# The watchdogs carry the agent's command line: none is left.
check proc_pause_no_watchdog_left test -z "$(pgrep -f -- "--state-dir $FL_RUN")"
