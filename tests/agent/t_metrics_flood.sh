#!/usr/bin/env bash
# Slow clients cannot lock root out: 200 connections to the metrics port
# that trickle a byte now and then, and 64 idle connections to the control
# socket, and `agentctl list` still answers at once, and metrics still
# answer a real scrape.
. "$(dirname "$0")/../lib.sh"
need_root metrics_flood
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=$((20000 + $$ % 20000))

FL_RUN=$(mktemp -d /tmp/fl-run.XXXXXX)
at_exit "rm -rf $FL_RUN"
at_exit "stop_agentd"
start_agentd --metrics-port "$PORT" || { fail metrics_flood_agentd_starts; exit 0; }
ms_of() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || return 1; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
scrape() { curl -s -m 2 "http://127.0.0.1:$PORT/metrics"; }
check metrics_flood_scrape_before grep -q faultline_faults_active <<<"$(scrape)"

out=$FL_RUN/slow.out
python3 "$HERE/../helpers/slow_clients.py" "tcp:127.0.0.1:$PORT" 200 20 >"$out" 2>&1 &
slow=$!
at_exit "kill $slow"
wait_until 10 grep -q 'ready\|connected' "$out"
echo "# slow metrics clients: $(cat "$out")"

worst=0 fails=0
for i in 1 2 3 4 5; do
	t=$(ms_of ctl list) || { fails=$((fails + 1)); continue; }
	[ "$t" -gt "$worst" ] && worst=$t
done
echo "# agentctl list under a metrics flood: worst of 5 in $worst ms"
check metrics_flood_list_answers test "$fails" = 0
check metrics_flood_list_within_100ms test "$worst" -le 100
check metrics_flood_scrape_answers grep -q faultline_faults_active <<<"$(scrape)"
kill "$slow"; wait "$slow" 2>/dev/null

# A scrape that trickles its request is cut at its deadline (2 s), however
# often it sends a byte: it cannot hold a place for long.
python3 "$HERE/../helpers/slow_clients.py" "tcp:127.0.0.1:$PORT" 1 6 >"$out" 2>&1 &
slow=$!
wait_until 5 grep -q ready "$out"
check metrics_flood_slow_scrape_cut wait_until 4 bash -c "! ss -tn state established '( sport = :$PORT )' | grep -q $PORT"
kill "$slow"; wait "$slow" 2>/dev/null

# Every place on the control socket held by idle clients: the idlest goes
# for root's next command.
python3 - "$FL_SOCK" <<'PY' &
import socket, sys, time
socks = []
for _ in range(64):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(15)
PY
idle=$!
at_exit "kill $idle"
wait_until 5 bash -c "[ \$(ss -xp | grep -c 'pid=$idle,') -ge 64 ]"
check metrics_flood_ctl_pool_full grep -q 'agent busy' <<<"$(ctl list 2>&1)"
sleep 1.2 # the rule itself: a control client idle for a second may be let go
t=$(ms_of ctl list)
check metrics_flood_ctl_full_list_answers test -n "$t"
echo "# agentctl list with 64 idle control clients: ${t:-no answer} ms"
kill "$idle" 2>/dev/null; wait "$idle" 2>/dev/null
check metrics_flood_agent_alive ctl status
