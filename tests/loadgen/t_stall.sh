#!/usr/bin/env bash
# A server that stalls 200 ms once. The open model's p99 (from the scheduled
# send time) shows it; the closed model does not. As a population of
# clients, the open model opens connections while the 16 are held, so the
# requests wait at the server (their service time shows the stall too); as
# wrk2 (fixed pool) they wait in loadgen, which reports it as send lag.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"
command -v nginx >/dev/null || { skip stall "(nginx not installed)"; exit 0; }
port=$(lg_port)
LG_ACCESS_LOG=off lg_nginx "$port" || { fail stall_nginx "(nginx did not start)"; exit 1; }
worker=$(pgrep -P "$(cat "$NGINX_DIR/nginx.pid")" | head -1)
[ -n "$worker" ] || { fail stall_worker "(no nginx worker)"; exit 1; }
at_exit "kill -CONT $worker"

stall_once() { sleep 1.5; kill -STOP "$worker"; sleep 0.2; kill -CONT "$worker"; }

stall_once &
"$LG" "http://127.0.0.1:$port/" -c 16 -t 1 --rate 1000 --duration 4s --json "$LG_TMP/open.json" -q >/dev/null 2>&1
check stall_open_exit_0 [ $? -eq 0 ]
wait
stall_once &
"$LG" "http://127.0.0.1:$port/" -c 16 -t 1 --rate 1000 --duration 4s --model wrk2 --json "$LG_TMP/wrk2.json" -q >/dev/null 2>&1
check stall_wrk2_exit_0 [ $? -eq 0 ]
wait
stall_once &
"$LG" "http://127.0.0.1:$port/" -t 1 --users 16 --think 10ms --duration 4s --json "$LG_TMP/closed.json" -q >/dev/null 2>&1
check stall_closed_exit_0 [ $? -eq 0 ]
wait

op99=$(jget "$LG_TMP/open.json" latency_ms/p99)
sp99=$(jget "$LG_TMP/open.json" service_ms/p99)
wp99=$(jget "$LG_TMP/wrk2.json" latency_ms/p99)
wsp99=$(jget "$LG_TMP/wrk2.json" service_ms/p99)
cp99=$(jget "$LG_TMP/closed.json" latency_ms/p99)
cmax=$(jget "$LG_TMP/closed.json" latency_ms/max)
echo "open p99 $op99 ms (service $sp99 ms), wrk2 p99 $wp99 ms (service $wsp99 ms), closed p99 $cp99 ms, closed max $cmax ms"
for m in open wrk2; do
	p99=$(jget "$LG_TMP/$m.json" latency_ms/p99)
	check "stall_${m}_p99_shows_it" fcmp "$p99" '>=' 100
	check "stall_${m}_p99_below_stall" fcmp "$p99" '<=' 400
	# nothing was lost: the schedule stayed open through the stall
	check "stall_${m}_schedule_kept" fcmp "abs($(jget "$LG_TMP/$m.json" scheduled) - 4000)" '<=' 2
	check "stall_${m}_no_errors" [ "$(jget "$LG_TMP/$m.json" failed)" -eq 0 ]
done
check stall_closed_p99_hides_it fcmp "$cp99" '<' 50
check stall_closed_max_saw_it fcmp "$cmax" '>=' 150
check stall_closed_no_service_block [ "$(python3 -c 'import json,sys; print("service_ms" in json.load(open(sys.argv[1])))' "$LG_TMP/closed.json")" = False ]
# a population: new connections instead of a queue in loadgen
check stall_open_pool_grew [ "$(jget "$LG_TMP/open.json" connections_peak)" -gt 16 ]
check stall_open_not_late fcmp "$(jget "$LG_TMP/open.json" max_send_lag_ms)" '<' 50
check stall_open_service_shows_it fcmp "$sp99" '>=' 100
# wrk2: the stall held every connection, requests waited in loadgen: it says so
check stall_wrk2_service_time_hides_it fcmp "$wsp99" '<' 50
check stall_wrk2_lag_reported fcmp "$(jget "$LG_TMP/wrk2.json" max_send_lag_ms)" '>=' 150
check stall_wrk2_late_counted [ "$(jget "$LG_TMP/wrk2.json" late)" -ge 100 ]
check stall_wrk2_no_pool_block [ "$(python3 -c 'import json,sys; print("connections_peak" in json.load(open(sys.argv[1])))' "$LG_TMP/wrk2.json")" = False ]
