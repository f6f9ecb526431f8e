#!/usr/bin/env bash
# Profiles: spike and ramp shape the schedule (seen in the ledger's phases
# and counts); stress raises the rate until the SLO breaks and reports the
# breaking point.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"
command -v nginx >/dev/null || { skip profile "(nginx not installed)"; exit 0; }
port=$(lg_port)
LG_ACCESS_LOG=off lg_nginx "$port" || { fail profile_nginx "(nginx did not start)"; exit 1; }
url=http://127.0.0.1:$port/

"$LG" "$url" -c 16 -t 1 --profile spike:base=200,factor=5,at=1s,for=1s --duration 3s \
	--ledger "$LG_TMP/spike.ledger" -q >/dev/null 2>&1
check profile_spike_exit_0 [ $? -eq 0 ]
"$LG" --dump-ledger "$LG_TMP/spike.ledger" | awk -F'\t' 'NR>1 {n[$2]++} END {print n[0]+0, n[1]+0, n[2]+0}' >"$LG_TMP/spike.phases"
read -r p0 p1 p2 <"$LG_TMP/spike.phases"
echo "spike phases: $p0 $p1 $p2"
check profile_spike_before fcmp "abs($p0 - 200)" '<=' 3
check profile_spike_during fcmp "abs($p1 - 1000)" '<=' 3
check profile_spike_after fcmp "abs($p2 - 200)" '<=' 3

"$LG" "$url" -c 16 -t 2 --profile ramp:from=100,to=500,over=2s --duration 2s --json "$LG_TMP/ramp.json" -q >/dev/null 2>&1
check profile_ramp_exit_0 [ $? -eq 0 ]
check profile_ramp_integral fcmp "abs($(jget "$LG_TMP/ramp.json" scheduled) - 600)" '<=' 4

# the SLO "fewer than 1400 answers a second" breaks at the third step (1500/s)
"$LG" "$url" -c 16 -t 2 --profile stress:from=500,by=500,every=1s --slo 'rps<1400' \
	--duration 20s --json "$LG_TMP/stress.json" -q >"$LG_TMP/stress.out" 2>&1
check profile_stress_broke [ "$(jget "$LG_TMP/stress.json" stress/broke)" = True ]
# 1500 unless the machine is too loaded to answer 1400 in that second
bp=$(jget "$LG_TMP/stress.json" stress/breaking_rps)
check profile_stress_breaking_point fcmp "$bp in (1500, 2000)" '==' True
check profile_stress_stopped_early fcmp "$(jget "$LG_TMP/stress.json" duration_s)" '<' 5
check profile_stress_said grep -q 'breaking point' "$LG_TMP/stress.out"
check profile_stress_last_held fcmp "$(jget "$LG_TMP/stress.json" stress/last_held_rps)" "==" "$bp - 500"
