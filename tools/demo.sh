#!/usr/bin/env bash
# The Faultline demo (`sudo make demo`): a drop fault working end to end,
# then a shipped scenario (docs/scenarios/outage.json) run and reconciled.
#
#   client netns ──veth──► server netns (nginx on :8080)
#
# Starts agentd on a private socket and state folder, shows requests
# succeeding, injects a 100% drop of TCP to port 8080 on the server's veth
# (reached with --netns, as for a container), shows requests failing and the
# fault's counters, clears it, shows requests succeeding again, and prints
# the event log. Then `agentctl run` drives the outage scenario: load from
# the client namespace, a 10 s outage of the service port, the verdict, and
# a report kept in ./faultline-demo/ (report.html, report.md, report.json).
# Everything else it makes (namespaces, veth, nginx, agentd, files) is
# removed on exit, also on failure or Ctrl-C. Takes about 35 s.
# Exit 0 when every step did what it shows and the scenario passed; 1 otherwise.
#   FL_BIN: folder of agentd and agentctl (make demo sets it)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FL_BIN=${FL_BIN:-$ROOT/build/bin}
. "$ROOT/tests/lib.sh"

PORT=8080
CLI=fl-demo-cli-$$
SRV=fl-demo-srv-$$
IF_CLI=fldc$$ # interface names: at most 15 characters
IF_SRV=flds$$
CLI_IP=10.250.0.1
SRV_IP=10.250.0.2
start=$SECONDS

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
die() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }
agentctl_() { printf '$ agentctl %s\n' "$*"; "$FL_BIN/agentctl" --socket "$FL_SOCK" "$@"; }

# get URL: one HTTP GET from the client namespace, 1 s to connect, 2 s in all;
# prints the body or the error. curl when it is there, else python3 (which
# make deps installs).
get() {
	if command -v curl >/dev/null; then
		ip netns exec "$CLI" curl -sS --connect-timeout 1 --max-time 2 "$1" 2>&1
	else
		ip netns exec "$CLI" python3 -c '
import socket, sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode().strip())
except Exception as e:
    print("python3 urllib: %s" % getattr(e, "reason", e))' "$1" 2>&1
	fi
}

# request N: N requests from the client namespace; prints one line each,
# sets OK to the number that got "ok".
requests() {
	local i out
	OK=0
	for ((i = 1; i <= $1; i++)); do
		out=$(get "http://$SRV_IP:$PORT/")
		if [ "$out" = ok ]; then
			OK=$((OK + 1))
			printf '  request %d: 200 %s\n' "$i" "$out"
		else
			printf '  request %d: failed: %s\n' "$i" "$out"
		fi
	done
}

[ "$(id -u)" -eq 0 ] || die "run as root: sudo make demo (agentd loads BPF programs)"
for b in agentd agentctl; do
	[ -x "$FL_BIN/$b" ] || die "$FL_BIN/$b is missing (run: make)"
done
for c in nginx python3 ip; do
	command -v "$c" >/dev/null || die "$c is missing (run: make deps)"
done

say "Setting up: namespaces $CLI and $SRV, a veth between them, nginx in $SRV on :$PORT"
make_netns "$CLI" || die "cannot make network namespace $CLI"
make_netns "$SRV" || die "cannot make network namespace $SRV"
veth_pair "$CLI" "$IF_CLI" "$CLI_IP/24" "$SRV" "$IF_SRV" "$SRV_IP/24" || die "cannot make the veth pair"
RECEIPTS_LOG=$(mktemp /tmp/fl-demo-receipts.XXXXXX)
at_exit "rm -f $RECEIPTS_LOG"
NGINX_ACCESS_LOG=$RECEIPTS_LOG start_nginx "$SRV" "$PORT" || die "cannot start nginx in $SRV"

say "Starting agentd (private socket and state folder)"
start_agentd || die "agentd did not start"
echo "agentd pid $AGENT_PID, socket $FL_SOCK, log $FL_RUN/agentd.log"
agentctl_ status || die "agentctl status failed"
"$FL_BIN/agentctl" --socket "$FL_SOCK" doctor | sed -n '/^FAULT KIND/,/^drop /p'

say "Before the fault: requests from $CLI to http://$SRV_IP:$PORT/"
for ((i = 0; i < 20; i++)); do # nginx needs a moment to listen
	[ "$(get "http://$SRV_IP:$PORT/")" = ok ] && break
	sleep 0.1
done
requests 3
[ "$OK" -eq 3 ] || die "requests failed before any fault was injected"

say "Injecting a 100% drop of TCP to port $PORT on $IF_SRV (ingress, in netns $SRV)"
inject=(inject drop --netns "$SRV" --dev "$IF_SRV" --ingress --proto tcp --dport "$PORT" --for 60s --name demo)
printf '$ agentctl %s\n' "${inject[*]}"
ID=$("$FL_BIN/agentctl" --socket "$FL_SOCK" "${inject[@]}")
[[ $ID =~ ^[0-9]+$ ]] || die "inject did not print a fault id"
echo "$ID"

say "During the fault: the same requests"
requests 3
[ "$OK" -eq 0 ] || die "$OK of 3 requests got through a 100% drop"

say "The fault, with the packets it matched and dropped"
agentctl_ list || die "agentctl list failed"
dropped=$("$FL_BIN/agentctl" --socket "$FL_SOCK" list --json | python3 -c '
import json, sys
print(sum(f["dropped"] for f in json.load(sys.stdin) if f["id"] == int(sys.argv[1])))' "$ID")
[ "${dropped:-0}" -ge 3 ] || die "the fault counted ${dropped:-0} dropped packets, expected at least 3"

say "Clearing the fault"
agentctl_ clear "$ID" || die "agentctl clear failed"
agentctl_ list

say "After the fault: requests succeed again"
requests 3
[ "$OK" -eq 3 ] || die "requests still fail after the fault was cleared"

say "A scenario: docs/scenarios/outage.json (25 s of load, the service port dark from 5 s to 15 s)"
REPORT=${FL_DEMO_OUT:-$PWD/faultline-demo}
rm -rf "$REPORT"
: >"$RECEIPTS_LOG"
export SERVICE_URL=http://$SRV_IP:$PORT/ SERVICE_NETNS=$SRV SERVICE_DEV=$IF_SRV SERVICE_PORT=$PORT
export RECEIPTS=nginx:$RECEIPTS_LOG
echo "$ agentctl run docs/scenarios/outage.json --out $REPORT   (from netns $CLI)"
ip netns exec "$CLI" "$FL_BIN/agentctl" --socket "$FL_SOCK" run "$ROOT/docs/scenarios/outage.json" \
	--out "$REPORT"
verdict=$?
[ -s "$REPORT/report.html" ] || die "the scenario wrote no report in $REPORT"
echo "report: $REPORT/report.html (open it in a browser), $REPORT/report.md, $REPORT/report.json"
[ "$verdict" -eq 0 ] || die "the outage scenario did not pass (agentctl run exited $verdict)"

say "The event log (agentd keeps it in <state-dir>/events.ndjson.gz; see docs/events.md)"
stop_agentd # closes the gzip stream
LOG=$FL_RUN/events.ndjson.gz
[ -s "$LOG" ] || die "no event log at $LOG"
echo "$ zcat $LOG | head -3; ...; tail -1"
zcat "$LOG" | head -3
echo "  ..."
zcat "$LOG" | tail -1
types=$(zcat "$LOG" | python3 -c '
import collections, json, sys
c = collections.Counter(json.loads(l)["type"] for l in sys.stdin)
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))')
echo "records by type: $types"
[[ $types == *inject=* && $types == *start=2* && $types == *end=2* ]] ||
	die "the event log lacks start, inject or end records"

say "Demo passed in $((SECONDS - start)) s; removing what it made"
exit 0
