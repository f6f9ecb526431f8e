#!/usr/bin/env bash
# Open model: --rate 2000 for 10 s achieves 2000/s within 1%, and every
# scheduled request is in the ledger.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"
command -v nginx >/dev/null || { skip rate_2000 "(nginx not installed)"; exit 0; }
port=$(lg_port)
LG_ACCESS_LOG=off lg_nginx "$port" || { fail rate_nginx "(nginx did not start)"; exit 1; }

"$LG" "http://127.0.0.1:$port/" -c 32 -t 2 --rate 2000 --duration 10s --json "$LG_TMP/r.json" \
	--ledger "$LG_TMP/r.ledger" >"$LG_TMP/r.out" 2>&1
rc=$?
check rate_exit_0 [ $rc -eq 0 ]
rps=$(jget "$LG_TMP/r.json" requests_per_sec)
check rate_within_1pct fcmp "abs($rps - 2000)" '<=' 20
sched=$(jget "$LG_TMP/r.json" scheduled)
check rate_scheduled_20000 fcmp "abs($sched - 20000)" '<=' 4
# at most a request or two scheduled just before the deadline may be left
check rate_hardly_unsent [ "$(jget "$LG_TMP/r.json" unsent)" -le 2 ]
check rate_ledger_conserved grep -q "$sched records; conservation ok" <("$LG" --verify-ledger "$LG_TMP/r.ledger")
# the per-second log: ten lines near 2000 each (the first may start late)
n=$(wc -l <"$LG_TMP/r.ledger.intervals.jsonl")
check rate_interval_lines fcmp "abs($n - 10)" '<=' 1
mid=$(sed -n 5p "$LG_TMP/r.ledger.intervals.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
check rate_interval_mid_second fcmp "abs($mid - 2000)" '<=' 40
# plain progress lines when stdout is not a terminal
check rate_progress_lines [ "$(grep -c 'req/s' "$LG_TMP/r.out")" -ge 9 ]
echo "rate: $rps requests/s"
