#!/usr/bin/env bash
# A run is honest about itself: a fault that cannot be injected (a device
# that does not exist) makes `agentctl run` exit 2, and the report says
# which fault and why; the same scenario with a fault that can be injected
# exits 0.
. "$(dirname "$0")/../lib.sh"
need_root run_honest

NS=${FL_TEST_ID}hs
CLI=${FL_TEST_ID}hc
DEV=${FL_TEST_ID}h1
make_netns "$NS"
make_netns "$CLI"
veth_pair "$CLI" "${FL_TEST_ID}h0" 10.252.10.1/24 "$NS" "$DEV" 10.252.10.2/24
T=$(mktemp -d /tmp/fl-honest.XXXXXX)
at_exit "rm -rf $T"
NGINX_ACCESS_LOG=$T/access.log start_nginx "$NS" 8080 || { fail run_honest_nginx; exit 1; }
start_agentd

scenario() { # FILE DEV
	cat >"$1" <<JSON
{"target": {"url": "http://10.252.10.2:8080/", "netns": "$NS"},
 "load": {"duration": "3s", "rate": 50, "timeout": "1s"},
 "faults": [{"at": "1s", "until": "2s",
             "fault": {"kind": "drop", "name": "blip",
                       "target": {"dev": "$2", "direction": "ingress", "proto": "tcp", "dport": 8080},
                       "params": {"prob": 0}}}],
 "receipts": "nginx:$T/access.log"}
JSON
}
run() { # NAME
	: >"$T/access.log"
	ip netns exec "$CLI" "$FL_BIN/agentctl" --socket "$FL_SOCK" run "$T/$1.json" --out "$T/$1" \
		>"$T/$1.log" 2>&1
	RC=$?
	sed 's/^/# /' "$T/$1.log"
}

scenario "$T/good.json" "$DEV"
run good
check run_honest_good_exit test "$RC" -eq 0
scenario "$T/bad.json" "${FL_TEST_ID}nodev"
run bad
check run_honest_bad_exit test "$RC" -eq 2
check run_honest_bad_says_why python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
e = r['run_errors']
ok = r['verdict'] == 'fail' and len(e) == 1 and 'faults[0]' in e[0] and 'could not be injected' in e[0] and sys.argv[2] in e[0]
print(e)
sys.exit(0 if ok else 1)" "$T/bad/report.json" "${FL_TEST_ID}nodev"
check run_honest_bad_in_html grep -q 'The run itself failed' "$T/bad/report.html"
