# Helpers for the latency tests (t_latency*.sh); source after tests/lib.sh.

# lat_setup NAME N [AGENTD ARGS...]: a server namespace $NS (nginx on 8080 at $SRV =
# 10.254.N.2, device $DEV) and a client namespace $NC (10.254.N.1), a
# scratch folder $T, and agentd. Everything goes on exit.
lat_setup() {
	local name=$1 net=$2
	shift 2
	NS=${FL_TEST_ID}s
	NC=${FL_TEST_ID}c
	DEV=${FL_TEST_ID}b
	export SRV=10.254.$net.2
	T=$(mktemp -d /tmp/fl-lat.XXXXXX)
	at_exit "rm -rf $T"
	make_netns "$NS"
	make_netns "$NC"
	veth_pair "$NC" "${FL_TEST_ID}a" "10.254.$net.1/24" "$NS" "$DEV" "$SRV/24"
	start_nginx "$NS" 8080
	start_agentd "$@" || { fail "${name}_agentd_starts"; exit 1; }
}

# field ID KEY[.KEY]: a field of fault ID in agentctl list --json.
field() {
	ctl list --json | python3 -c '
import json, sys
v = [f for f in json.load(sys.stdin) if f["id"] == int(sys.argv[1])][0]
for k in sys.argv[2].split("."): v = v[k]
print(v)' "$1" "$2"
}

# rules: how many iptables rules of ours are in the server namespace.
rules() { ip netns exec "$NS" iptables -t mangle -S | grep -c faultline-latency; }

# times PORT N: N requests from the client on one keep-alive connection; a
# line each, "connect total" in ms (connect is 0 once the connection is open).
times() {
	local urls=() i
	for ((i = 0; i < $2; i++)); do urls+=(-o /dev/null "http://$SRV:$1/"); done
	ip netns exec "$NC" curl -s --max-time 60 \
		-w '%{time_connect} %{time_total}\n' "${urls[@]}" |
		awk '{ printf "%.3f %.3f\n", $1 * 1000, $2 * 1000 }'
}

# ka PORT N PAUSE_MS: N requests on one keep-alive connection from a small
# Python client, each after a pause; a line each, "0 total" in ms.
ka() {
	cat >"$T/ka.py" <<'PY'
import http.client, os, sys, time
c = http.client.HTTPConnection(os.environ["SRV"], int(sys.argv[1]), timeout=10)
c.request("GET", "/"); c.getresponse().read()
for i in range(int(sys.argv[2])):
    time.sleep(float(sys.argv[3]) / 1000)
    t = time.monotonic()
    c.request("GET", "/"); c.getresponse().read()
    print("0 %.3f" % ((time.monotonic() - t) * 1000))
PY
	ip netns exec "$NC" python3 "$T/ka.py" "$@"
}

# quiet_base PORT: sets QBASE (median ms) and NOISE (p99 - median) of
# requests that each follow 50 ms of quiet: what an idle virtual machine's
# late wake-ups add by themselves, without any fault.
quiet_base() {
	ka "$1" 100 50 >"$T/quiet"
	QBASE=$(qstat "$T/quiet" 1 0.5)
	NOISE=$(python3 -c "print($(qstat "$T/quiet" 1 0.99) - $QBASE)")
}

# qstat FILE COL Q: the Q quantile (0.5, 0.99; 1 = max, 0 = min) of column COL.
qstat() {
	python3 - "$@" <<'PY'
import sys
f, col, q = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
v = sorted(float(l.split()[col]) for l in open(f) if l.strip())
if not v: print("nan"); sys.exit()
i = min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))
print("%.3f" % v[i])
PY
}

# within X LO HI: LO <= X <= HI
within() { python3 -c "import sys; x, lo, hi = map(float, sys.argv[1:]); sys.exit(0 if lo <= x <= hi else 1)" "$@"; }

# slow_server PORT MS: in $NS, an HTTP server that answers each request on
# a keep-alive connection MS ms after it came: the path of a request that
# waits MS ms with no fault at all (the server and the client both wake
# from idle), the control for a delayed request. Stopped on exit.
slow_server() {
	cat >"$T/slow.py" <<'PY'
import os, socket, sys, threading, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((os.environ["SRV"], int(sys.argv[1])))
s.listen(16)
open(sys.argv[3], "w").write("ready\n")
def serve(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    while True:
        d = c.recv(4096)
        if not d:
            return
        buf += d
        while b"\r\n\r\n" in buf:
            buf = buf.split(b"\r\n\r\n", 1)[1]
            time.sleep(float(sys.argv[2]) / 1000)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	ip netns exec "$NS" python3 "$T/slow.py" "$1" "$2" "$T/slow.$1.ready" &
	at_exit "kill $!"
	wait_until 5 test -s "$T/slow.$1.ready"
}
