#!/usr/bin/env bash
# Bad process faults are refused with a one-line reason and a non-zero exit,
# nothing is touched, and the agent keeps running: pid 1, the agent, its
# ancestors, a cgroup that holds the agent, the root cgroup, a pid or a
# cgroup that does not exist, an unknown signal, a quota of 0 or over 100%,
# options of another kind.
. "$(dirname "$0")/../lib.sh"
need_root proc_bad

CG2=$(cgroup2_mount)
[ -n "$CG2" ] || { skip proc_bad "(no cgroup v2 mount)"; exit 0; }
start_agentd
sleep 300 &
victim=$!
at_exit "kill -CONT $victim; kill -KILL $victim"
NOPID=$(cat /proc/sys/kernel/pid_max) # pids are below pid_max: never a process

# refused NAME EXIT PATTERN ARGS...: agentctl ARGS exits EXIT with one line
# on stderr that matches PATTERN, and nothing on stdout.
refused() {
	local name=$1 want=$2 pat=$3 out err rc
	shift 3
	out=$(ctl "$@" 2>"$FL_RUN/err")
	rc=$?
	err=$(cat "$FL_RUN/err")
	if [ $rc -eq "$want" ] && [ -z "$out" ] && [ "$(wc -l <"$FL_RUN/err")" -eq 1 ] &&
		grep -q -- "$pat" <<<"$err"; then
		pass "$name"
	else
		fail "$name" "(exit $rc, stdout '$out', stderr '$err')"
	fi
}

refused proc_bad_kill_pid1 1 "pid 1 is init: refused" inject kill --pid 1
refused proc_bad_pause_pid1 1 "pid 1 is init: refused" inject pause --pid 1
refused proc_bad_kill_agent 1 "is the agent itself" inject kill --pid "$AGENT_PID"
refused proc_bad_pause_agent 1 "is the agent itself" inject pause --pid "$AGENT_PID"
refused proc_bad_kill_ancestor 1 "is an ancestor of the agent" inject kill --pid $$
refused proc_bad_pause_ancestor 1 "is an ancestor of the agent" inject pause --pid $$
refused proc_bad_kill_no_pid 1 "no process with pid $NOPID" inject kill --pid "$NOPID"
refused proc_bad_pause_no_pid 1 "no process with pid $NOPID" inject pause --pid "$NOPID"
refused proc_bad_pid_zero 2 "not a process id" inject kill --pid 0
refused proc_bad_pid_text 2 "not a process id" inject kill --pid 12x
refused proc_bad_no_comm 1 "no process named '${FL_TEST_ID}none'" inject kill --comm "${FL_TEST_ID}none"
refused proc_bad_comm_mismatch 1 "is not named" inject kill --pid "$victim" --comm "${FL_TEST_ID}none"
for k in kill pause cpu; do
	q=()
	[ $k = cpu ] && q=(--quota 10%)
	refused proc_bad_${k}_no_cgroup 1 "no cgroup '/faultline-test-$FL_TEST_ID-none'" \
		inject $k --cgroup "faultline-test-$FL_TEST_ID-none" "${q[@]}"
	refused proc_bad_${k}_root_cgroup 1 "the root cgroup holds every process" \
		inject $k --cgroup / "${q[@]}"
	refused proc_bad_${k}_dotdot 1 "without . or .." \
		inject $k --cgroup "faultline-test-$FL_TEST_ID-x/../.." "${q[@]}"
	refused proc_bad_${k}_dot 1 "without . or .." inject $k --cgroup . "${q[@]}"
	refused proc_bad_${k}_dot_mount 1 "without . or .." inject $k --cgroup "$CG2/." "${q[@]}"
	refused proc_bad_${k}_no_target 1 "needs a pid, a comm or a cgroup" inject $k "${q[@]}"
	refused proc_bad_${k}_packet_option 2 "inject $k: --dport is for packet faults" inject $k --pid "$victim" --dport 80
done
refused proc_bad_drop_pid 2 "inject drop: --pid is for process faults" inject drop --dev lo --pid "$victim"
refused proc_bad_signal_unknown 2 "'FOO' is not a signal a kill sends (known: KILL, TERM" \
	inject kill --pid "$victim" --signal FOO
refused proc_bad_signal_stop 2 "'STOP' is not a signal a kill sends" inject kill --pid "$victim" --signal STOP
refused proc_bad_signal_on_pause 2 "inject pause: --signal is for kill only" inject pause --pid "$victim" --signal TERM
refused proc_bad_quota_zero 2 "over 0% and at most 100%" inject cpu --cgroup x --quota 0
refused proc_bad_quota_zero_pct 2 "over 0% and at most 100%" inject cpu --cgroup x --quota 0%
refused proc_bad_quota_over 2 "over 0% and at most 100%" inject cpu --cgroup x --quota 150%
refused proc_bad_quota_text 2 "must be a share of one CPU" inject cpu --cgroup x --quota lots
refused proc_bad_quota_missing 2 "quota: missing" inject cpu --cgroup x
refused proc_bad_quota_on_kill 2 "inject kill: --quota is for cpu only" inject kill --pid "$victim" --quota 10%
refused proc_bad_cpu_pid 1 "applies to a whole cgroup" inject cpu --pid "$victim" --quota 10%
refused proc_bad_freeze_pid 1 "freeze backend pauses a whole cgroup" \
	inject pause --pid "$victim" --backend freeze

# A process stopped by someone else is theirs: not paused (nor continued).
sleep 300 &
stopped=$!
at_exit "kill -CONT $stopped; kill -KILL $stopped"
kill -STOP "$stopped"
wait_until 1 test "$(ps -o stat= -p "$stopped" | cut -c1)" = T
refused proc_bad_pause_stopped_already 1 "pid $stopped is stopped already (by someone else): left alone" \
	inject pause --pid "$stopped"
check proc_bad_stopped_stays_stopped test "$(ps -o stat= -p "$stopped" | cut -c1)" = T

# A cgroup that holds the agent (cgroup v2: kill and pause).
make_cgroup "$CG2" bad-agent
HOLD=$CGROUP_DIR
home=$(awk -F: '$1 == "0" { print $3 }' "/proc/$AGENT_PID/cgroup")
echo "$AGENT_PID" >"$HOLD/cgroup.procs"
at_exit "echo $AGENT_PID >$CG2$home/cgroup.procs"
for k in kill pause; do
	refused proc_bad_${k}_agent_cgroup 1 "holds the agent (pid $AGENT_PID): refused" \
		inject $k --cgroup "$HOLD"
done
echo "$AGENT_PID" >"$CG2$home/cgroup.procs"

check proc_bad_victim_untouched test "$(ps -o stat= -p "$victim" | cut -c1)" = S
check proc_bad_no_fault_left test "$(ctl list --json)" = "[]"
check proc_bad_agent_alive ctl status
