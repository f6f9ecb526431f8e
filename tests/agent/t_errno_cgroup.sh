#!/usr/bin/env bash
# errno faults on socket calls through cgroup v2 hooks: a connect from a
# process in the chosen cgroup fails with the errno, the same connect from
# another cgroup does not; pid, comm, address and port filters hold on both
# sides; probability 0.3 lies in its binomial interval; every failure is one
# event; the other socket calls; links die with a killed agent; bad input
# is refused with one line.
. "$(dirname "$0")/../lib.sh"
need_root errno_cgroup

start_agentd
kernel_has cgroup2 || { skip errno_cgroup "(no cgroup v2: see agentctl doctor)"; exit 0; }
CG2=$(ctl doctor --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cgroup2_path"])')
A=faultline-test-$FL_TEST_ID-a
B=faultline-test-$FL_TEST_ID-b
mkdir "$CG2/$A" "$CG2/$B" || { fail errno_cgroup_mkdir; exit 1; }
at_exit "rmdir $CG2/$A $CG2/$B"
TMP=$(mktemp -d /tmp/fl-errno.XXXXXX)
at_exit "rm -rf $TMP"

# sock.py CGROUP|- CALL N [PORT] [ADDR]: joins the cgroup, makes N calls,
# prints "ok=N ECONNREFUSED=M ..." and its pid.
cat >"$TMP/sock.py" <<'PY'
import collections, errno, os, socket, sys
cg, call, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
port = int(sys.argv[4]) if len(sys.argv) > 4 else 0
addr = sys.argv[5] if len(sys.argv) > 5 else '127.0.0.1'
if cg != '-':
    with open(cg + '/cgroup.procs', 'w') as f:
        f.write(str(os.getpid()))
c = collections.Counter()
ls = None
fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
if call == 'connect':
    ls = socket.socket(fam); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('::1' if fam == socket.AF_INET6 else '127.0.0.1', port)); ls.listen(256)
    port = ls.getsockname()[1]
for i in range(n):
    try:
        if call == 'connect':
            s = socket.socket(fam); s.settimeout(1)
            try:
                s.connect((addr, port)); c['ok'] += 1
                ls.accept()[0].close()
            finally:
                s.close()
        elif call == 'socket':
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close(); c['ok'] += 1
        elif call == 'bind':
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(('127.0.0.1', 0)); c['ok'] += 1
            finally:
                s.close()
        elif call == 'sendto':
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.sendto(b'x', ('127.0.0.1', port or 9)); c['ok'] += 1
            finally:
                s.close()
        elif call == 'setsockopt':
            s = socket.socket()
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1); c['ok'] += 1
            finally:
                s.close()
    except OSError as e:
        c[errno.errorcode.get(e.errno, str(e.errno))] += 1
print(' '.join('%s=%d' % kv for kv in sorted(c.items())), 'pid=%d' % os.getpid())
PY
sock() { python3 "$TMP/sock.py" "$@"; }
# Two free ports, one beside the other.
free_port() { python3 -c "
import socket
for p in range(47000 + $$ % 900 * 20, 65000, 2):
    try:
        [socket.socket().bind(('127.0.0.1', q)) for q in (p, p + 1)]; print(p); break
    except OSError: pass"; }
PORT=$(free_port)
# field OUTPUT KEY: the count for KEY (0 when absent)
field() { local v; v=$(echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"); echo "${v:-0}"; }
logged() { # FAULT_ID: the fault's errno events in the log, as "count pids errnos syscalls cookies>0 dport"
	sleep 0.6 # one agent tick: events flushed to the log
	zcat "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
ev = [r for l in sys.stdin if (r := json.loads(l))['type'] == 'inject' and r['fault_id'] == int(sys.argv[1])]
j = lambda k: ','.join(sorted({str(r.get(k)) for r in ev})) or '-'
print(len(ev), j('pid'), j('errno_name'), j('syscall'), sum(1 for r in ev if r.get('cookie')), j('dport'))" "$1"
}
counter() { # FAULT_ID FIELD
	ctl list --json | python3 -c "
import json, sys
print([f for f in json.load(sys.stdin) if f['id'] == int(sys.argv[1])][0][sys.argv[2]])" "$1" "$2"
}

# 1. connect in cgroup A refused; in cgroup B it goes through.
id=$(ctl inject errno --syscall connect --errno ECONNREFUSED --cgroup "$A" --for 2m)
check errno_cgroup_inject test -n "$id"
outa=$(sock "$CG2/$A" connect 200)
outb=$(sock "$CG2/$B" connect 200)
echo "# cgroup A: $outa; cgroup B: $outb"
check errno_cgroup_refused_in_cgroup test "$(field "$outa" ECONNREFUSED)" -eq 200
check errno_cgroup_none_through_in_cgroup test "$(field "$outa" ok)" -eq 0
check errno_cgroup_other_cgroup_ok test "$(field "$outb" ok)" -eq 200
read -r n pids errnos calls cookies _ < <(logged "$id")
echo "# events: $n, pids $pids, $errnos, $calls, with cookie $cookies"
check errno_cgroup_events_are_failures test "$n" -eq 200
check errno_cgroup_event_pid test "$pids" = "$(field "$outa" pid)"
check errno_cgroup_event_errno test "$errnos" = ECONNREFUSED
check errno_cgroup_event_syscall test "$calls" = connect
check errno_cgroup_event_cookie test "$cookies" -eq 200
check errno_cgroup_counters test "$(counter "$id" injected)" -eq 200
ctl clear "$id" >/dev/null
out=$(sock "$CG2/$A" connect 20)
check errno_cgroup_cleared test "$(field "$out" ok)" -eq 20

# 2. probability 0.3 over 2,000 connects: inside the 99.9% binomial interval.
N=2000
id=$(ctl inject errno --syscall connect --errno ECONNRESET --cgroup "$A" --prob 0.3 --for 2m)
out=$(sock "$CG2/$A" connect $N)
failed=$(field "$out" ECONNRESET)
read -r lo hi < <(awk -v n=$N -v p=0.3 'BEGIN { z = 3.2905; s = sqrt(n * p * (1 - p));
	printf "%d %d\n", n * p - z * s, n * p + z * s + 1 }')
read -r n _ < <(logged "$id")
echo "# prob 0.3: $failed of $N failed (interval $lo..$hi), $n events, matched $(counter "$id" matched)"
check errno_cgroup_prob_in_interval test "$failed" -ge "$lo" -a "$failed" -le "$hi"
check errno_cgroup_prob_rest_ok test "$(($(field "$out" ok) + failed))" -eq $N
check errno_cgroup_prob_events test "$n" -eq "$failed"
check errno_cgroup_prob_matched_all test "$(counter "$id" matched)" -eq $N
ctl clear "$id" >/dev/null

# 3. pid and comm at the root cgroup; port and address filters.
ln -s "$(python3 -c "import sys; print(sys.executable)")" "$TMP/flc$$"
id=$(ctl inject errno --syscall connect --errno EHOSTUNREACH --comm "flc$$" --for 2m)
outc=$("$TMP/flc$$" "$TMP/sock.py" - connect 50)
outo=$(sock - connect 50)
check errno_cgroup_comm_matches test "$(field "$outc" EHOSTUNREACH)" -eq 50
check errno_cgroup_comm_others_ok test "$(field "$outo" ok)" -eq 50
ctl clear "$id" >/dev/null
# A shell in cgroup B whose pid we know before it connects.
mkfifo "$TMP/go"
(echo $BASHPID >"$CG2/$B/cgroup.procs"; read -r _ <"$TMP/go"; exec python3 "$TMP/sock.py" - connect 30 >"$TMP/pid.out") &
ppid=$!
id=$(ctl inject errno --syscall connect --errno ETIMEDOUT --pid $ppid --for 2m)
echo go >"$TMP/go"
wait $ppid
outo=$(sock "$CG2/$B" connect 30)
check errno_cgroup_pid_matches test "$(field "$(cat "$TMP/pid.out")" ETIMEDOUT)" -eq 30
check errno_cgroup_pid_others_ok test "$(field "$outo" ok)" -eq 30
ctl clear "$id" >/dev/null
id=$(ctl inject errno --syscall connect --errno ECONNREFUSED --cgroup "$A" --dport $PORT --for 2m)
outp=$(sock "$CG2/$A" connect 20 $PORT)
outq=$(sock "$CG2/$A" connect 20 $((PORT + 1)))
check errno_cgroup_dport_matches test "$(field "$outp" ECONNREFUSED)" -eq 20
check errno_cgroup_dport_others_ok test "$(field "$outq" ok)" -eq 20
read -r _ _ _ _ _ dports < <(logged "$id")
check errno_cgroup_event_dport test "$dports" = $PORT
ctl clear "$id" >/dev/null
id=$(ctl inject errno --syscall connect --errno ENETUNREACH --cgroup "$A" --dst 10.255.0.0/16 --for 2m)
outp=$(sock "$CG2/$A" connect 5 0 10.255.3.4)
outq=$(sock "$CG2/$A" connect 20)
check errno_cgroup_dst_matches test "$(field "$outp" ENETUNREACH)" -eq 5
check errno_cgroup_dst_others_ok test "$(field "$outq" ok)" -eq 20
ctl clear "$id" >/dev/null

# IPv6: a fault on ::1 fails connects to it (cgroup/connect6), not to 127.0.0.1.
id=$(ctl inject errno --syscall connect --errno ECONNREFUSED --cgroup "$A" --dst ::1/128 --for 2m)
outp=$(sock "$CG2/$A" connect 20 0 ::1)
outq=$(sock "$CG2/$A" connect 20)
echo "# IPv6: ::1 $outp; 127.0.0.1 $outq"
check errno_cgroup_ipv6_matches test "$(field "$outp" ECONNREFUSED)" -eq 20
check errno_cgroup_ipv6_not_ipv4 test "$(field "$outq" ok)" -eq 20
ctl clear "$id" >/dev/null

# 4. The other socket calls, each in cgroup A only.
for spec in "socket EACCES" "bind EADDRINUSE" "sendto ENOBUFS" "setsockopt ENOPROTOOPT"; do
	set -- $spec
	id=$(ctl inject errno --syscall "$1" --errno "$2" --cgroup "$A" --for 2m)
	outa=$(sock "$CG2/$A" "$1" 20)
	outb=$(sock "$CG2/$B" "$1" 20)
	echo "# $1: A $outa; B $outb"
	check "errno_cgroup_${1}_fails" test "$(field "$outa" "$2")" -eq 20
	check "errno_cgroup_${1}_other_ok" test "$(field "$outb" ok)" -eq 20
	read -r n _ < <(logged "$id")
	check "errno_cgroup_${1}_events" test "$n" -eq 20
	ctl clear "$id" >/dev/null
done

# 5. Bad input: one line, non-zero exit, the agent stays up.
bad() { # NAME ARGS...: refused with one line
	local name=$1 out rc; shift
	out=$(ctl inject errno "$@" 2>&1); rc=$?
	echo "# $name: $out"
	check "errno_cgroup_bad_$name" test $rc -ne 0 -a "$(echo "$out" | wc -l)" -eq 1
}
bad syscall --syscall conect --errno EIO --cgroup "$A"
bad errno --syscall connect --errno ECONREFUSED --cgroup "$A"
bad errno_number --syscall connect --errno 111 --cgroup "$A"
bad no_pid --syscall connect --errno ECONNREFUSED --pid 999999999
bad no_cgroup --syscall connect --errno ECONNREFUSED --cgroup "faultline-test-$FL_TEST_ID-none"
bad path_on_connect --syscall connect --errno ECONNREFUSED --cgroup "$A" --path /tmp
bad no_target --syscall connect --errno ECONNREFUSED
bad recvmsg_cgroup --syscall recvmsg --errno ECONNREFUSED --cgroup "$A" --backend cgroup
out=$(ctl inject errno --syscall connect --errno EIO --cgroup "$A" --dry-run 2>&1)
check errno_cgroup_warns_undocumented_errno grep -q "warning: EIO is not among" <<<"$out"
id=$(ctl inject errno --syscall connect --errno EIO --cgroup "$A" 2>/dev/null)
check errno_cgroup_warning_in_list test "$(ctl list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("warning", ""))' | cut -c1-20)" = "EIO is not among the"
ctl clear "$id" >/dev/null
check errno_cgroup_agent_alive ctl status

# 6. The agent killed while a fault is active: the links die with it.
id=$(ctl inject errno --syscall connect --errno ECONNREFUSED --cgroup "$A" --for 2m)
out=$(sock "$CG2/$A" connect 5)
check errno_cgroup_before_kill test "$(field "$out" ECONNREFUSED)" -eq 5
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
t0=$(date +%s%N)
ok=0
for ((i = 0; i < 30; i++)); do
	out=$(sock "$CG2/$A" connect 5)
	[ "$(field "$out" ok)" -eq 5 ] && { ok=1; break; }
	sleep 0.1
done
echo "# connects succeed $(( ($(date +%s%N) - t0) / 1000000 )) ms after the agent was killed"
check errno_cgroup_links_die_with_agent test $ok -eq 1
exit $_failed
