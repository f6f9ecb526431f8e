#!/usr/bin/env bash
# Prometheus metrics on 127.0.0.1:PORT: faults active, and per fault the
# packets matched and dropped, equal to what `agentctl list --json` says and
# to what the sender lost, once the traffic has stopped. The metrics port is
# protected like SSH. `--metrics-port 0` means agentd listens on no TCP port.
. "$(dirname "$0")/../lib.sh"
need_root metrics

NS=${FL_TEST_ID}m
T=$(mktemp -d /tmp/fl-metrics.XXXXXX)
at_exit "rm -rf $T"
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.251.8.1/24 "$NS" "${FL_TEST_ID}b" 10.251.8.2/24

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=
for try in 1 2 3; do
	PORT=$(free_port)
	start_agentd --metrics-port "$PORT" && break
	PORT=
done
if [ -z "$PORT" ]; then
	fail metrics_agentd_starts "(see $FL_RUN/agentd.log)"
	exit 1
fi
echo "# metrics on 127.0.0.1:$PORT"

scrape() { curl -sS --max-time 5 "http://127.0.0.1:$PORT/metrics"; }

# metric TEXT NAME [FAULT_ID]: the value of one sample; empty when absent.
metric() {
	python3 - "$@" <<'PY'
import re, sys
text, name = sys.argv[1], sys.argv[2]
fault = sys.argv[3] if len(sys.argv) > 3 else None
for line in text.splitlines():
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
    if not m or m.group(1) != name:
        continue
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
    if fault is None or labels.get("fault") == fault:
        print(m.group(4))
        break
PY
}

# Every line is a comment or a well-formed sample; every sample has a TYPE.
well_formed() {
	python3 - "$1" <<'PY'
import re, sys
types = {}
for line in sys.argv[1].splitlines():
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ", 3)
        assert kind in ("counter", "gauge"), line
        types[name] = kind
        continue
    if line.startswith("# HELP "):
        continue
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_]\w*="[^"\\\n]*",?)*\})? ([0-9]+(\.[0-9]+)?)$', line)
    assert m, "bad line: %r" % line
    assert m.group(1) in types, "no TYPE for %s" % m.group(1)
PY
}

# --- no fault yet ---
m0=$(scrape)
check metrics_served test -n "$m0"
check metrics_well_formed well_formed "$m0"
check metrics_none_active test "$(metric "$m0" faultline_faults_active)" = 0
check metrics_no_fault_samples test -z "$(metric "$m0" faultline_fault_injected_total)"
for m in faultline_events_written_total faultline_events_lost_total; do
	check "metrics_has_$m" test -n "$(metric "$m0" "$m")"
done
hdr=$(curl -sS --max-time 5 -o /dev/null -D - "http://127.0.0.1:$PORT/metrics" | tr -d '\r')
check metrics_http_200 grep -q '^HTTP/1.1 200' <<<"$hdr"
check metrics_content_type grep -qi '^content-type: text/plain; version=0.0.4' <<<"$hdr"
check metrics_loopback_only test "$(ss -Hltn "sport = :$PORT" | awk '{print $4}' | sort -u)" = "127.0.0.1:$PORT"

# The metrics port is one of the agent's own: protected.
if out=$(ctl inject drop --dev "${FL_TEST_ID}a" --proto tcp --dport "$PORT" --for 5s 2>&1); then
	fail metrics_port_protected "(inject on the metrics port was taken: $out)"
	ctl clear --all >/dev/null 2>&1
else
	check metrics_port_protected grep -q "port $PORT is protected" <<<"$out"
fi

# --- a drop that matches ping traffic into the namespace ---
ping -c 3 -W 1 10.251.8.2 >/dev/null # neighbour resolved before counting
id=$(ctl inject drop --dev "${FL_TEST_ID}b" --netns "$NS" --proto icmp --prob 50% --for 5m \
	--name pingdrop)
if ! [[ $id =~ ^[0-9]+$ ]]; then
	fail metrics_inject "(got '$id')"
	exit 1
fi
m1=$(scrape)
check metrics_one_active test "$(metric "$m1" faultline_faults_active)" = 1
check metrics_fault_labels grep -q "^faultline_fault_injected_total{fault=\"$id\",kind=\"drop\",dev=\"${FL_TEST_ID}b\",name=\"pingdrop\"} 0$" <<<"$m1"

N=300
out=$(ping -c $N -i 0.005 -W 1 -q 10.251.8.2)
received=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
lost=$((N - ${received:-0}))
sleep 0.6 # traffic has stopped; one agent tick for the event counters

read -r matched dropped < <(ctl list --json | python3 -c "
import json, sys
f = [f for f in json.load(sys.stdin) if f['id'] == int(sys.argv[1])][0]
print(f['matched'], f['dropped'])" "$id")
read -r written lost_ev < <(ctl status --json | python3 -c "
import json, sys
s = json.load(sys.stdin)
print(s['events_written'], s['events_lost'])")
m2=$(scrape)
m_matched=$(metric "$m2" faultline_fault_matched_total "$id")
m_dropped=$(metric "$m2" faultline_fault_injected_total "$id")
echo "# sent $N, lost $lost; list: matched $matched dropped $dropped; metrics: matched $m_matched dropped $m_dropped; events written $written lost $lost_ev"
check metrics_well_formed_with_fault well_formed "$m2"
check metrics_still_one_active test "$(metric "$m2" faultline_faults_active)" = 1
check metrics_dropped_equals_list test "$m_dropped" = "$dropped"
check metrics_matched_equals_list test "$m_matched" = "$matched"
check metrics_matched_every_echo test "$matched" -eq $N
check metrics_dropped_is_lost test "$dropped" -eq "$lost"
check metrics_dropped_some_not_all test "$dropped" -gt 0 -a "$dropped" -lt "$matched"
check metrics_events_written_equals_status test "$(metric "$m2" faultline_events_written_total)" = "$written"
check metrics_events_lost_equals_status test "$(metric "$m2" faultline_events_lost_total)" = "$lost_ev"
# Counters only grow while nothing flows: a second scrape says the same.
check metrics_stable_without_traffic test "$(metric "$(scrape)" faultline_fault_injected_total "$id")" = "$m_dropped"

ctl clear "$id" >/dev/null
m3=$(scrape)
check metrics_none_active_after_clear test "$(metric "$m3" faultline_faults_active)" = 0
check metrics_no_fault_samples_after_clear test -z "$(metric "$m3" faultline_fault_injected_total "$id")"

# --- --metrics-port 0: nothing listens ---
stop_agentd
check metrics_port_closed_when_stopped test -z "$(ss -Hltn "sport = :$PORT")"
start_agentd --metrics-port 0 || { fail metrics_off_agentd_starts; exit 1; }
quiet_status() { ctl status >/dev/null 2>&1; }
check metrics_off_agent_serves quiet_status
check metrics_off_nothing_on_port test -z "$(ss -Hltn "sport = :$PORT")"
check metrics_off_no_tcp_listener test -z "$(ss -Hltnp | grep "pid=$AGENT_PID,")"
if curl -s --max-time 3 -o /dev/null "http://127.0.0.1:$PORT/metrics"; then
	fail metrics_off_curl_refused
else
	pass metrics_off_curl_refused
fi
grep -q 'ERROR: AddressSanitizer\|runtime error:' "$FL_RUN/agentd.log" &&
	fail metrics_agent_sanitizers "($(grep -m1 'AddressSanitizer\|runtime error:' "$FL_RUN/agentd.log"))"
exit 0
