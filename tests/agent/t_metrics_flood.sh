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
scrape() { curl -s -m 2 "http://127.0.0.1:$PORT/metrics"; }
check metrics_flood_scrape_before grep -q faultline_faults_active <<<"$(scrape)"

out=$FL_RUN/slow.out
python3 "$HERE/../helpers/slow_clients.py" "tcp:127.0.0.1:$PORT" 200 20 >"$out" 2>&1 &
slow=$!
at_exit "kill $slow"
wait_until 10 grep -q 'ready\|connected' "$out"
echo "# slow metrics clients: $(cat "$out")"

# The agent's answer, timed on the socket (no agentctl start-up in it).
worst=$(python3 "$HERE/../helpers/ctl_rtt.py" "$FL_SOCK" 5)
echo "# list under a metrics flood: worst of 5 answers in $worst ms"
check metrics_flood_list_answers grep -qE '^[0-9]+$' <<<"$worst"
check metrics_flood_list_within_100ms test "$((10#${worst//[^0-9]/} + 0))" -le 100
check metrics_flood_agentctl_list_answers ctl list
check metrics_flood_scrape_answers grep -q faultline_faults_active <<<"$(scrape)"
kill "$slow"; wait "$slow" 2>/dev/null

# A scrape that trickles its request is cut at its deadline (2 s), however
# often it sends a byte: it cannot hold a place for long.
python3 "$HERE/../helpers/slow_clients.py" "tcp:127.0.0.1:$PORT" 1 6 >"$out" 2>&1 &
slow=$!
wait_until 5 grep -q ready "$out"
check metrics_flood_slow_scrape_cut wait_until 4 bash -c "! ss -tn state established '( sport = :$PORT )' | grep -q $PORT"
kill "$slow"; wait "$slow" 2>/dev/null

# Every place on the control socket held by clients that keep sending
# (blanks): root is told the agent is busy. Once they fall silent for a
# second, the idlest goes for root's next command.
python3 "$HERE/../helpers/idle_ctl.py" "$FL_SOCK" 64 3 10 >"$out" 2>&1 &
idle=$!
at_exit "kill $idle"
wait_until 5 grep -q active "$out"
busy() { ctl list 2>&1 | grep -q 'agent busy'; }
# (asked again within the active time: a client the machine kept from
# sending for a second may go for one of root's commands)
check metrics_flood_ctl_pool_full wait_until 2 busy
wait_until 6 grep -q silent "$out"
sleep 1.2 # the rule itself: a control client idle for a second may be let go
check metrics_flood_ctl_full_list_answers ctl list
kill "$idle" 2>/dev/null; wait "$idle" 2>/dev/null
check metrics_flood_agent_alive ctl status
