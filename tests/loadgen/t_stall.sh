#!/usr/bin/env bash
# A server that stalls 200 ms once. The open model's p99 (from the scheduled
# send time) shows it; its service time and the closed model do not, and
# are reported separately.
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
"$LG" "http://127.0.0.1:$port/" -t 1 --users 16 --think 10ms --duration 4s --json "$LG_TMP/closed.json" -q >/dev/null 2>&1
check stall_closed_exit_0 [ $? -eq 0 ]
wait

op99=$(jget "$LG_TMP/open.json" latency_ms/p99)
sp99=$(jget "$LG_TMP/open.json" service_ms/p99)
cp99=$(jget "$LG_TMP/closed.json" latency_ms/p99)
cmax=$(jget "$LG_TMP/closed.json" latency_ms/max)
echo "open p99 $op99 ms, open service p99 $sp99 ms, closed p99 $cp99 ms, closed max $cmax ms"
check stall_open_p99_shows_it fcmp "$op99" '>=' 100
check stall_open_p99_below_stall fcmp "$op99" '<=' 400
check stall_service_time_hides_it fcmp "$sp99" '<' 50
check stall_closed_p99_hides_it fcmp "$cp99" '<' 50
check stall_closed_max_saw_it fcmp "$cmax" '>=' 150
check stall_closed_no_service_block [ "$(python3 -c 'import json,sys; print("service_ms" in json.load(open(sys.argv[1])))' "$LG_TMP/closed.json")" = False ]
# nothing was lost: the schedule stayed open through the stall
check stall_open_schedule_kept fcmp "abs($(jget "$LG_TMP/open.json" scheduled) - 4000)" '<=' 2
check stall_open_no_errors [ "$(jget "$LG_TMP/open.json" failed)" -eq 0 ]
# the stall held every connection, so requests waited in loadgen: it says so
check stall_open_lag_reported fcmp "$(jget "$LG_TMP/open.json" max_send_lag_ms)" '>=' 150
check stall_open_late_counted [ "$(jget "$LG_TMP/open.json" late)" -ge 100 ]
