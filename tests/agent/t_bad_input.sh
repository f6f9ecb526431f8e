#!/usr/bin/env bash
# The bad input table (issue 3): each case is answered by a one-line error
# and its documented non-zero exit (agentctl: 1 the agent refused, 2 bad
# usage, 3 no agent; agentd: 1 cannot start), and afterwards the agent still
# serves and nothing was injected: no fault listed, no qdisc, filter or BPF
# link added on the device. The same refusals are checked on the raw socket,
# where agentctl's own checks do not help, with garbage, a 10 MiB line and a
# client that never writes.
. "$(dirname "$0")/../lib.sh"
need_root bad_input

NS=${FL_TEST_ID}i
DEV=${FL_TEST_ID}a
T=$(mktemp -d /tmp/fl-bad.XXXXXX)
at_exit "rm -rf $T"
make_netns "$NS"
veth_pair "" "$DEV" 10.251.7.1/24 "$NS" "${FL_TEST_ID}b" 10.251.7.2/24
start_agentd --default-ttl 5s --max-ttl 10s || { fail bad_input_agentd_starts; exit 1; }

# Programs attached with tcx links on a device, by BPF_PROG_QUERY (this
# bpftool does not name tcx links' devices).
cat >"$T/tcx.py" <<'PY'
import ctypes, platform, sys
NR = {"x86_64": 321, "aarch64": 280}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
def count(ifindex, attach_type):  # BPF_TCX_INGRESS 46, BPF_TCX_EGRESS 47
    attr = (ctypes.c_uint8 * 128)()
    ctypes.memmove(attr, ifindex.to_bytes(4, "little") + attach_type.to_bytes(4, "little"), 8)
    if libc.syscall(NR, 16, attr, 128) < 0:  # BPF_PROG_QUERY
        return "error %d" % ctypes.get_errno()
    return int.from_bytes(bytes(attr[24:28]), "little")  # query.prog_cnt
ifi = int(open("/sys/class/net/%s/ifindex" % sys.argv[1]).read())
print("tcx ingress %s egress %s" % (count(ifi, 46), count(ifi, 47)))
PY

# What the agent could have changed on the device, before any request.
dev_state() {
	python3 "$T/tcx.py" "$DEV"
	tc qdisc show dev "$DEV"
	tc filter show dev "$DEV" ingress
	tc filter show dev "$DEV" egress
	bpftool net show dev "$DEV" 2>&1 | grep -v '^$'
	ip -d link show dev "$DEV" | grep -o 'xdp[a-z]*' || true
}
STATE0=$(dev_state)

quiet() { "$@" >/dev/null 2>&1; }
nr_faults() { ctl list --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }

# after NAME: the agent still answers and holds no fault; the device is as it was.
after() {
	local why=
	if ! ctl status >/dev/null 2>&1; then
		why="agent does not answer status"
	elif [ "$(nr_faults)" != 0 ]; then
		why="faults listed: $(ctl list | tail -n +2 | tr '\n' ';')"
	elif [ "$(dev_state)" != "$STATE0" ]; then
		why="device changed: $(diff <(echo "$STATE0") <(dev_state) | tr '\n' ';')"
	elif ! kill -0 "$AGENT_PID" 2>/dev/null; then
		why="agentd is gone"
	fi
	if [ -n "$why" ]; then fail "${1}_after" "($why)"; else pass "${1}_after"; fi
}

# refused NAME RC REGEX CMD...: CMD exits RC, prints nothing on stdout and
# exactly one line on stderr, which matches REGEX (extended, any case).
refused() {
	local name=$1 want=$2 re=$3 rc n why=
	shift 3
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	n=$(awk 'END { print NR }' "$T/err")
	if [ "$rc" -ne "$want" ]; then
		why="exit $rc, want $want"
	elif [ "$n" -ne 1 ] || [ "$(wc -l <"$T/err")" -ne 1 ]; then
		why="$n lines on stderr"
	elif ! grep -Eqi -- "$re" "$T/err"; then
		why="stderr does not say /$re/"
	elif [ -s "$T/out" ]; then
		why="stdout not empty: $(head -c 200 "$T/out")"
	fi
	if [ -n "$why" ]; then
		fail "$name" "($why: $(head -c 400 "$T/err" | tr '\n' '|'))"
	else
		pass "$name"
	fi
	echo "# $name: exit $rc: $(head -c 300 "$T/err" | tr '\n' '|')"
}

# The raw socket. sock.py lines LINE...: sends each line on one connection and
# prints each reply; big N: an N-byte line, then a status request, on one
# connection; idle S: connects, never writes, prints how long until the agent
# closes it (or "open" after S seconds).
cat >"$T/sock.py" <<'PY'
import json, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
buf = b""
def reply(timeout=10):
    global buf
    s.settimeout(timeout)
    while b"\n" not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit("connection closed without a reply")
        buf += d
    line, buf = buf.split(b"\n", 1)
    sys.stdout.write(line.decode("utf-8", "replace") + "\n")
    sys.stdout.flush()
if mode == "lines":
    for l in sys.argv[3:]:
        s.sendall(l.encode("utf-8", "surrogateescape") + b"\n")
        reply()
elif mode == "bytes":  # one argument, Python bytes literal, sent as is
    s.sendall(eval(sys.argv[3]))
    reply()
    s.sendall(b'{"cmd":"status"}\n')
    reply()
elif mode == "big":
    n = int(sys.argv[3])
    chunk = b"a" * 65536
    sent = 0
    while sent < n:
        k = min(len(chunk), n - sent)
        s.sendall(chunk[:k])
        sent += k
    s.sendall(b"\n" + b'{"cmd":"status"}\n')
    reply(30)
    reply(30)
elif mode == "idle":
    t0 = time.monotonic()
    s.settimeout(float(sys.argv[3]))
    try:
        d = s.recv(1)
        print("closed %.1f %d" % (time.monotonic() - t0, len(d)))
    except socket.timeout:
        print("open")
PY
sock() { python3 "$T/sock.py" "$FL_SOCK" "$@"; }

# reply_is NAME REGEX [N]: reply N (default 1) of $T/replies is one JSON
# object with ok false and an error matching REGEX.
reply_is() {
	local name=$1 re=$2 n=${3:-1} line
	line=$(sed -n "${n}p" "$T/replies")
	if python3 -c '
import json, re, sys
r = json.loads(sys.argv[1])
assert r.get("ok") is False, "not ok:false"
e = r.get("error")
assert isinstance(e, str) and e and "\n" not in e, "no one-line error"
assert re.search(sys.argv[2], e, re.I), "error does not say /%s/" % sys.argv[2]
' "$line" "$re" 2>"$T/why"; then
		pass "$name"
	else
		fail "$name" "($(tail -1 "$T/why"): $line)"
	fi
}

# A client that connects and never writes, for the whole test; the agent
# keeps serving everyone else meanwhile, and lets it go after its 30 s.
sock idle 45 >"$T/idle" 2>&1 &
IDLE=$!
at_exit "kill $IDLE"
sleep 0.3
IDLE_T0=$(date +%s.%N)
check bad_input_idle_client_others_served quiet ctl status
after bad_input_idle_client

# --- through agentctl ---
refused bad_input_unknown_device 1 "unknown device 'nosuchdev0'" \
	ctl inject drop --dev nosuchdev0 --for 5s
after bad_input_unknown_device
refused bad_input_unknown_device_netns 1 "unknown device 'nosuchdev0'.*$NS" \
	ctl inject drop --dev nosuchdev0 --netns "$NS" --for 5s
after bad_input_unknown_device_netns
refused bad_input_prob 2 "prob.*'1\.5'.*outside 0\.\.1" \
	ctl inject drop --dev "$DEV" --prob 1.5
after bad_input_prob
refused bad_input_prob_percent 2 "prob.*'150%'" \
	ctl inject drop --dev "$DEV" --prob 150%
after bad_input_prob_percent
refused bad_input_prob_below_resolution 2 "prob.*1e-11.*resolution.*2\^-32" \
	ctl inject drop --dev "$DEV" --prob 1e-11
after bad_input_prob_below_resolution
refused bad_input_option_twice 2 "--dport given twice" \
	ctl inject drop --dev "$DEV" --proto tcp --dport 80 --dport 81
after bad_input_option_twice
refused bad_input_flag_twice 2 "--ingress given twice" \
	ctl inject drop --dev "$DEV" --ingress --ingress
after bad_input_flag_twice
refused bad_input_cidr 2 "target\.src.*'10\.0\.0\.0/33'" \
	ctl inject drop --dev "$DEV" --src 10.0.0.0/33
after bad_input_cidr
refused bad_input_cidr_mix 2 "target\.dst.*mixes IPv4 and IPv6" \
	ctl inject drop --dev "$DEV" --src 10.0.0.1 --dst fd00::1
after bad_input_cidr_mix
refused bad_input_port 2 "target\.dport.*'70000'.*out of range" \
	ctl inject drop --dev "$DEV" --proto tcp --dport 70000
after bad_input_port
refused bad_input_port_range 2 "target\.sport.*'90-80'" \
	ctl inject drop --dev "$DEV" --proto tcp --sport 90-80
after bad_input_port_range
refused bad_input_duration 2 "duration.*'abc'.*not a duration" \
	ctl inject drop --dev "$DEV" --for abc
after bad_input_duration
refused bad_input_ttl 1 "1m.*over.*maximum.*10s" \
	ctl inject drop --dev "$DEV" --for 1m
after bad_input_ttl
refused bad_input_unknown_id 1 "no fault with id 999" ctl clear 999
after bad_input_unknown_id
refused bad_input_bad_id 2 "'abc' is not a fault id" ctl clear abc
after bad_input_bad_id
refused bad_input_unknown_command 2 "unknown command 'frobnicate'" ctl frobnicate
after bad_input_unknown_command
refused bad_input_unknown_kind 2 "kind.*'explode'" ctl inject explode --dev "$DEV"
after bad_input_unknown_kind
refused bad_input_extra_argument 2 "unexpected argument 'extra'" ctl status extra
after bad_input_extra_argument
refused bad_input_port22 1 "port 22 is protected.*--force" \
	ctl inject drop --dev "$DEV" --proto tcp --dport 22 --for 5s
after bad_input_port22
refused bad_input_port22_range 1 "port 22 is protected" \
	ctl inject drop --dev "$DEV" --proto tcp --sport 20-30 --for 5s
after bad_input_port22_range

refused bad_input_no_dev 2 "fault\.target\.dev: missing" ctl inject drop --for 5s
after bad_input_no_dev
refused bad_input_unknown_netns 1 "netns.*nosuchns0" \
	ctl inject drop --dev "$DEV" --netns nosuchns0 --for 5s
after bad_input_unknown_netns
refused bad_input_unknown_backend 1 "backend.*bogus" \
	ctl inject drop --dev "$DEV" --backend bogus --for 5s
after bad_input_unknown_backend
refused bad_input_xdp_egress 1 "xdp.*ingress only" \
	ctl inject drop --dev "$DEV" --backend xdp --egress --for 5s
after bad_input_xdp_egress
refused bad_input_bad_name 2 "fault\.name" ctl inject drop --dev "$DEV" --name 'a b' --for 5s
after bad_input_bad_name
refused bad_input_two_directions 2 "--ingress or --egress, once" \
	ctl inject drop --dev "$DEV" --ingress --egress --for 5s
after bad_input_two_directions
refused bad_input_unknown_option 2 "unknown or incomplete option '--bogus'" \
	ctl inject drop --dev "$DEV" --bogus
after bad_input_unknown_option
refused bad_input_missing_option_value 2 "incomplete option" ctl inject drop --dev
after bad_input_missing_option_value
# A dry run says what it would do and does nothing.
if out=$(ctl inject drop --dev "$DEV" --proto tcp --dport 8080 --for 5s --dry-run 2>&1) &&
	grep -q "^dry run: would" <<<"$out"; then
	pass bad_input_dry_run
else
	fail bad_input_dry_run "($out)"
fi
after bad_input_dry_run

# --force is the way through; then clearing it leaves the device as it was.
id=$(ctl inject drop --dev "$DEV" --proto tcp --dport 22 --force --for 5s 2>"$T/err")
if [[ $id =~ ^[0-9]+$ ]] && [ "$(nr_faults)" = 1 ]; then
	pass bad_input_port22_force
	if [ "$(dev_state)" = "$STATE0" ]; then
		fail bad_input_port22_force_attached "(the device shows nothing attached)"
	else
		pass bad_input_port22_force_attached
	fi
	check bad_input_port22_force_clear quiet ctl clear "$id"
else
	fail bad_input_port22_force "(got '$id': $(cat "$T/err"))"
	ctl clear --all >/dev/null 2>&1
fi
after bad_input_port22_force

# --- the raw socket: the agent checks everything itself ---
J() { printf '{"cmd":"inject","fault":{"kind":"drop","target":{"dev":"%s"%s}%s}}' "$DEV" "$1" "${2:-}"; }
if sock lines \
	"$(J '' ',"params":{"prob":1.5}')" \
	"$(J ',"src":"10.0.0.0/33"')" \
	"$(J ',"proto":"tcp","dport":70000')" \
	"$(J '' ',"duration":"abc"')" \
	"$(J '' ',"duration":"1m"')" \
	"$(J ',"proto":"tcp","dport":22')" \
	'{"cmd":"frobnicate"}' \
	'{"cmd":"clear"}' \
	'{"cmd":"clear","id":999}' \
	'garbage' \
	'{"cmd":"status","cmd":"list"}' \
	'{"cmd":"status","bogus":1}' \
	'[]' \
	"$(J '' ",\"duration\":\"a$(printf 'é%.0s' {1..400})\"")" \
	'{"cmd":"status"}' >"$T/replies" 2>"$T/why"; then
	pass bad_input_raw_connection_kept
else
	fail bad_input_raw_connection_kept "($(tail -1 "$T/why"))"
fi
reply_is bad_input_raw_prob 'fault\.params\.prob' 1
reply_is bad_input_raw_cidr 'fault\.target\.src' 2
reply_is bad_input_raw_port 'fault\.target\.dport.*70000' 3
reply_is bad_input_raw_duration "fault\.duration.*'abc'" 4
reply_is bad_input_raw_ttl 'over.*maximum' 5
reply_is bad_input_raw_port22 'port 22 is protected' 6
reply_is bad_input_raw_unknown_command "unknown command 'frobnicate'" 7
reply_is bad_input_raw_clear_without_id 'request\.id' 8
reply_is bad_input_raw_unknown_id 'no fault with id 999' 9
reply_is bad_input_raw_garbage 'malformed JSON' 10
reply_is bad_input_raw_duplicate_key 'duplicate.*cmd' 11
reply_is bad_input_raw_unknown_field "unknown field 'bogus'" 12
reply_is bad_input_raw_not_object 'must be a JSON object' 13
# a reason cut by the agent's error buffer in the middle of a character
reply_is bad_input_raw_long_utf8 'fault\.duration' 14
check bad_input_raw_status_after grep -q '"ok":true' <(sed -n 15p "$T/replies")
after bad_input_raw
sock lines "$(J ',"cgroup":"/x"')" "$(J '' ',"params":{"prob":1e-11}')" >"$T/replies" 2>&1
reply_is bad_input_raw_drop_process_target 'fault\.target\.cgroup: a drop matches packets' 1
reply_is bad_input_raw_prob_resolution 'fault\.params\.prob.*resolution' 2
after bad_input_raw_checks

# Binary garbage: bytes that are not UTF-8 or are control characters still get
# a reply (jansson quotes them in its error; a reply must be UTF-8 JSON).
sock bytes 'b"\xff\xfe\x01garbage\x7f{{{\n"' >"$T/replies" 2>"$T/why" ||
	echo "$(tail -1 "$T/why")" >>"$T/replies"
reply_is bad_input_raw_binary 'malformed JSON' 1
check bad_input_raw_binary_status_after grep -q '"ok":true' <(sed -n 2p "$T/replies")
after bad_input_raw_binary

# A 10 MiB line: refused once, the rest of it skipped, the next line served.
if sock big $((10 << 20)) >"$T/replies" 2>"$T/why"; then
	reply_is bad_input_10mib_line 'longer than 65536 bytes' 1
	check bad_input_10mib_next_line_served grep -q '"ok":true' <(sed -n 2p "$T/replies")
else
	fail bad_input_10mib_line "($(tail -1 "$T/why"))"
fi
after bad_input_10mib
# The limit to the byte: a 65,536-byte line is read and parsed (it is not
# JSON), one byte more is refused for its length.
if sock big 65536 >"$T/replies" 2>"$T/why"; then
	reply_is bad_input_line_at_limit_parsed 'malformed JSON' 1
else
	fail bad_input_line_at_limit_parsed "($(tail -1 "$T/why"))"
fi
if sock big 65537 >"$T/replies" 2>"$T/why"; then
	reply_is bad_input_line_over_limit 'longer than 65536 bytes' 1
else
	fail bad_input_line_over_limit "($(tail -1 "$T/why"))"
fi
# ... and one that ends with the connection, no newline at all.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"{" * (10 << 20)); s.close()' "$FL_SOCK" 2>/dev/null
after bad_input_10mib_unterminated

# --- no agent, a second agent, a non-root agent ---
refused bad_input_no_agent 3 "cannot reach agentd at $T/none\.sock" \
	"$FL_BIN/agentctl" --socket "$T/none.sock" status
refused bad_input_no_agent_inject 3 "cannot reach agentd" \
	"$FL_BIN/agentctl" --socket "$T/none.sock" inject drop --dev "$DEV" --for 5s
INODE0=$(stat -c %i "$FL_SOCK")
refused bad_input_second_agentd 1 "another agentd \(pid $AGENT_PID\)" \
	timeout 30 "$FL_BIN/agentd" --socket "$FL_SOCK" --state-dir "$FL_RUN" --metrics-port 0
check bad_input_second_agentd_socket_kept test "$(stat -c %i "$FL_SOCK" 2>/dev/null)" = "$INODE0"
after bad_input_second_agentd
# Its own state folder (so its own lock) but this agent's socket: refused
# before it touches anything, rather than taking the socket over.
refused bad_input_second_agentd_same_socket 1 "another agentd serves on $FL_SOCK" \
	timeout 30 "$FL_BIN/agentd" --socket "$FL_SOCK" --state-dir "$T/second" --metrics-port 0
check bad_input_second_agentd_same_socket_kept test "$(stat -c %i "$FL_SOCK" 2>/dev/null)" = "$INODE0"
check bad_input_second_agentd_same_socket_no_lock_left test ! -e "$T/second/agent.lock"
after bad_input_second_agentd_same_socket
# The documented private agent beside this one (its own socket and state
# folder) must not take this agent's classic tc filter away as a leftover.
kernel_has tc
case $? in
1) skip bad_input_private_agent_keeps_filters "(this kernel has no classic tc: see agentctl doctor)" ;;
2) fail bad_input_private_agent_keeps_filters "(no tc in the fact table)" ;;
*)
	id=$(ctl inject drop --dev "$DEV" --proto icmp --backend tc --for 10s 2>"$T/err")
	f1=$(tc filter show dev "$DEV" ingress)
	"$FL_BIN/agentd" --socket "$T/p/agent.sock" --state-dir "$T/p" --metrics-port 0 \
		>"$T/p.log" 2>&1 &
	P2=$!
	at_exit "kill $P2"
	if wait_until 20 quiet "$FL_BIN/agentctl" --socket "$T/p/agent.sock" status; then
		f2=$(tc filter show dev "$DEV" ingress)
		if [[ $id =~ ^[0-9]+$ ]] && grep -q fl_drop <<<"$f1" && [ "$f2" = "$f1" ]; then
			pass bad_input_private_agent_keeps_filters
		else
			fail bad_input_private_agent_keeps_filters "(id '$id', before: $f1; after: $f2; $(grep -m1 'tc filter' "$T/p.log"))"
		fi
	else
		fail bad_input_private_agent_keeps_filters "(the private agent did not start: $(tail -1 "$T/p.log"))"
	fi
	kill -TERM "$P2" 2>/dev/null
	wait "$P2" 2>/dev/null
	check bad_input_private_agent_first_serves test "$(nr_faults)" = 1
	quiet ctl clear --all
	after bad_input_private_agent
	;;
esac

mkdir -p "$T/nobody"
refused bad_input_non_root 1 "must run as root" \
	timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$FL_BIN/agentd" --socket "$T/nobody/agent.sock" --state-dir "$T/nobody/state" --metrics-port 0
check bad_input_non_root_made_nothing test ! -e "$T/nobody/agent.sock" -a ! -e "$T/nobody/state"
after bad_input_non_root
refused bad_input_agentd_bad_ttl 2 "max-ttl.*'abc'" \
	"$FL_BIN/agentd" --socket "$T/x.sock" --state-dir "$T/x" --max-ttl abc
refused bad_input_agentd_bad_port 2 "metrics-port.*'70000'" \
	"$FL_BIN/agentd" --socket "$T/x.sock" --state-dir "$T/x" --metrics-port 70000

# The idle client: the agent closed it after its 30 s, not before, not much after.
wait "$IDLE"
read -r what secs _ <"$T/idle"
echo "# idle client: $(cat "$T/idle")"
if [ "$what" = closed ] && awk -v s="$secs" 'BEGIN { exit !(s >= 29 && s <= 33) }'; then
	pass bad_input_idle_client_dropped
else
	fail bad_input_idle_client_dropped "($(cat "$T/idle"), want closed after 30 s)"
fi
after bad_input_idle_client_end
grep -q 'ERROR: AddressSanitizer\|runtime error:' "$FL_RUN/agentd.log" &&
	fail bad_input_agent_sanitizers "($(grep -m1 'AddressSanitizer\|runtime error:' "$FL_RUN/agentd.log"))"
exit 0
