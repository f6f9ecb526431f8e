#!/usr/bin/env bash
# The start events of process faults name what each process listens on
# (docs/events.md, "Addresses a process listens on"), from real sockets in
# a namespace of the test's: exactly the process's own listening TCP and
# unconnected UDP sockets, with its namespace and, for a wildcard, that
# namespace's addresses. Not: a connected socket, a listener of another
# process in the same namespace, an end record, a process without sockets;
# past 16 listeners the list is cut and says so.
. "$(dirname "$0")/../lib.sh"
need_root proc_listen

NS=${FL_TEST_ID}l
PEER=${FL_TEST_ID}m
T=$(mktemp -d /tmp/fl-plisten.XXXXXX)
at_exit "rm -rf $T"
make_netns "$NS"
make_netns "$PEER"
veth_pair "$PEER" "${FL_TEST_ID}l1" 10.240.3.1/24 "$NS" "${FL_TEST_ID}l2" 10.240.3.2/24
ip -n "$NS" addr add ::1/128 dev lo 2>/dev/null

# serve NAME SPEC...: a python process in $NS holding the sockets SPEC
# names (tcp:ADDR:PORT listens, udp:ADDR:PORT binds, conn:ADDR:PORT
# connects), ready when $T/NAME.ready exists; its pid in SPID.
serve() {
	local name=$1; shift
	ip netns exec "$NS" python3 - "$T/$name.ready" "$@" <<'PY' &
import socket, sys, time
keep = []
for spec in sys.argv[2:]:
    kind, rest = spec.split(":", 1)
    addr, port = rest.rsplit(":", 1)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    if kind == "tcp":
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, int(port)))
        s.listen(8)
    elif kind == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((addr, int(port)))
    else:
        s = socket.create_connection((addr, int(port)))
    keep.append(s)
open(sys.argv[1], "w").close()
time.sleep(300)
PY
	SPID=$!
	at_exit "kill -CONT $SPID 2>/dev/null; kill -KILL $SPID 2>/dev/null"
	wait_until 5 test -e "$T/$name.ready"
}
# record FAULT_ID ACTION: the first inject record of the fault with that
# action (or any for a kill), as JSON
record() {
	zcat "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
for r in map(json.loads, sys.stdin):
    if r['type'] == 'inject' and r['fault_id'] == $1 and r.get('action', 'kill') == '$2':
        print(json.dumps(r)); break"
}
# has FAULT_ID ACTION PYEXPR: the record satisfies PYEXPR (r: the record,
# L: its listeners as a set of "proto addr port")
has() {
	local r
	wait_until 3 eval "[ -n \"\$(record $1 $2)\" ]" || return 1
	r=$(record "$1" "$2")
	echo "# $r"
	python3 -c "
import json, sys
r = json.loads(sys.argv[1])
L = {'%s %s %d' % (l['proto'], l['dst'], l['dport']) for l in r.get('listen', [])}
sys.exit(0 if ($3) else 1)" "$r"
}
start_agentd
NSINO=$(stat -Lc %i /var/run/netns/"$NS")

serve b tcp:10.240.3.2:7004
b=$SPID
ip netns exec "$PEER" python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.240.3.1', 7010)); s.listen(8); open('$T/peer.ready', 'w').close(); time.sleep(300)" &
at_exit "kill -KILL $! 2>/dev/null"
wait_until 5 test -e "$T/peer.ready"
serve a tcp:10.240.3.2:7001 udp:0.0.0.0:7002 tcp:::1:7003 conn:10.240.3.1:7010
a=$SPID

# --- pause by pid: its own listeners, the namespace, the wildcard's addresses ---
id=$(ctl inject pause --pid "$a" --for 30s)
check proc_listen_pause_injected test -n "$id"
check proc_listen_pause_exact has "$id" pause \
	"L == {'tcp 10.240.3.2 7001', 'udp 0.0.0.0 7002', 'tcp ::1 7003'} and r['netns'] == $NSINO"
check proc_listen_wildcard_addrs has "$id" pause \
	"set(r['netns_addrs']) >= {'10.240.3.2', '127.0.0.1'} and all(':' not in a for a in r['netns_addrs'])"
check proc_listen_not_truncated has "$id" pause "'listen_truncated' not in r"
ctl clear "$id" >/dev/null
check proc_listen_resume_has_none has "$id" resume "'listen' not in r and 'netns' not in r"

# --- kill by pid, read before the signal; one address: no namespace addresses ---
id=$(ctl inject kill --pid "$b" --for 30s)
check proc_listen_kill_exact has "$id" kill "L == {'tcp 10.240.3.2 7004'} and 'netns_addrs' not in r"
ctl clear "$id" >/dev/null

# --- a process with no sockets: no fields ---
ip netns exec "$NS" sleep 300 &
s=$!
at_exit "kill -KILL $s 2>/dev/null"
id=$(ctl inject kill --pid "$s" --for 30s)
check proc_listen_none_without_sockets has "$id" kill "'listen' not in r and r['pid'] == $s"
ctl clear "$id" >/dev/null

# --- 20 listeners: 16 listed, and the record says it was cut ---
specs=()
for p in $(seq 7100 7119); do specs+=("tcp:10.240.3.2:$p"); done
serve c "${specs[@]}"
id=$(ctl inject kill --pid "$SPID" --for 30s)
check proc_listen_capped has "$id" kill "len(L) == 16 and r.get('listen_truncated') is True"
ctl clear "$id" >/dev/null
