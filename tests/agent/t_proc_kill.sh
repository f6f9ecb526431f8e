#!/usr/bin/env bash
# inject kill by pid, by comm and by cgroup signals exactly the processes
# named: a process with another command name, or in another cgroup,
# survives; one event per process signalled, with its pid, comm and signal.
. "$(dirname "$0")/../lib.sh"
need_root proc_kill

CG2=$(cgroup2_mount)
[ -n "$CG2" ] || { skip proc_kill "(no cgroup v2 mount)"; exit 0; }
BIN=$(mktemp -d /tmp/fl-proc.XXXXXX)
at_exit "rm -rf $BIN"
# Command names of our own: nothing else on the host is called so.
cp /bin/sleep "$BIN/${FL_TEST_ID}k"
cp /bin/sleep "$BIN/${FL_TEST_ID}o"
KCOMM=${FL_TEST_ID}k
pids=()
spawn() { "$@" & pids+=($!); at_exit "kill -KILL $! 2>/dev/null"; }
alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]; }
gone() { ! alive "$1"; }
# events FAULT_ID: "pid comm signal" for each kill event of the fault
events() {
	zcat "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
for r in map(json.loads, sys.stdin):
    if r['type'] == 'inject' and r['kind'] == 'kill' and r['fault_id'] == $1:
        print(r['pid'], r['comm'], r['signal'])" | sort -n
}
start_agentd

# --- by pid, with --signal TERM ---
spawn "$BIN/$KCOMM" 300
a=$!
spawn "$BIN/$KCOMM" 300
b=$!
id=$(ctl inject kill --pid "$a" --signal TERM --for 30s)
check proc_kill_pid_injected test -n "$id"
wait "$a" 2>/dev/null
rc=$?
check proc_kill_pid_target_died_of_term test "$rc" -eq $((128 + 15))
check proc_kill_pid_same_comm_survives alive "$b"
wait_until 2 test -n "$(events "$id")"
check proc_kill_pid_event test "$(events "$id")" = "$a $KCOMM TERM"
check proc_kill_pid_listed test "$(ctl list --json | python3 -c "
import json, sys
f = [f for f in json.load(sys.stdin) if f['id'] == $id][0]
print(f['kind'], f['matched'], f['injected'], f['params']['signal'])")" = "kill 1 1 TERM"

# --- by comm: every process of that name, none of another ---
spawn "$BIN/$KCOMM" 300
c=$!
spawn "$BIN/${FL_TEST_ID}o" 300
other=$!
id=$(ctl inject kill --comm "$KCOMM" --for 30s)
check proc_kill_comm_injected test -n "$id"
wait_until 2 gone "$b"
check proc_kill_comm_first_died gone "$b"
wait_until 2 gone "$c"
check proc_kill_comm_second_died gone "$c"
check proc_kill_comm_other_comm_survives alive "$other"
wait_until 2 test "$(events "$id" | wc -l)" -eq 2
check proc_kill_comm_events test "$(events "$id")" = "$(printf '%s %s KILL\n%s %s KILL' $((b < c ? b : c)) "$KCOMM" $((b < c ? c : b)) "$KCOMM")"

# --- by cgroup: the cgroup's processes (and its children's), not the next one's ---
make_cgroup "$CG2" kill-a
A=$CGROUP_DIR
mkdir "$A/sub"
at_exit "_rm_cgroup $A/sub"
make_cgroup "$CG2" kill-b
B=$CGROUP_DIR
in_cgroup "$A" sleep 300
a1=$!
in_cgroup "$A/sub" sleep 300
a2=$!
in_cgroup "$B" sleep 300
b1=$!
at_exit "kill -KILL $a1 $a2 $b1 2>/dev/null"
wait_until 2 grep -qx "$a2" "$A/sub/cgroup.procs"
wait_until 2 grep -qx "$b1" "$B/cgroup.procs"
id=$(ctl inject kill --cgroup "$(basename "$A")" --for 30s)
check proc_kill_cgroup_injected test -n "$id"
wait_until 2 gone "$a1"
check proc_kill_cgroup_member_died gone "$a1"
wait_until 2 gone "$a2"
check proc_kill_cgroup_child_cgroup_member_died gone "$a2"
check proc_kill_cgroup_other_cgroup_survives alive "$b1"
wait_until 2 test "$(events "$id" | wc -l)" -eq 2
check proc_kill_cgroup_events test "$(events "$id" | awk '{print $1}' | tr '\n' ' ')" = "$(printf '%s\n' "$a1" "$a2" | sort -n | tr '\n' ' ')"

# --- comm and cgroup together: both must match ---
in_cgroup "$B" "$BIN/$KCOMM" 300
bk=$!
at_exit "kill -KILL $bk 2>/dev/null"
wait_until 2 grep -qx "$bk" "$B/cgroup.procs"
id=$(ctl inject kill --cgroup "$B" --comm "$KCOMM" --for 30s)
wait_until 2 gone "$bk"
check proc_kill_both_match_died gone "$bk"
check proc_kill_both_other_comm_survives alive "$b1"

# --- dry run changes nothing ---
out=$(ctl inject kill --pid "$b1" --dry-run)
check proc_kill_dry_run_plan grep -q "SIGKILL to 1 process: pid $b1 (sleep)" <<<"$out"
sleep 0.2
check proc_kill_dry_run_harmless alive "$b1"
check proc_kill_foreign_still_alive alive "$other"
