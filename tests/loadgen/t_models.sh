#!/usr/bin/env bash
# Closed model with think time: each user waits for its answer, thinks, and
# only then sends. Open model arrivals: uniform is regular, Poisson is not.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"
command -v nginx >/dev/null || { skip models "(nginx not installed)"; exit 0; }
port=$(lg_port)
LG_ACCESS_LOG=off lg_nginx "$port" || { fail models_nginx "(nginx did not start)"; exit 1; }
url=http://127.0.0.1:$port/

"$LG" "$url" -t 1 --users 4 --think 100ms --duration 2s --ledger "$LG_TMP/c.ledger" --json "$LG_TMP/c.json" -q >/dev/null 2>&1
check models_closed_exit_0 [ $? -eq 0 ]
n=$(jget "$LG_TMP/c.json" scheduled)
check models_closed_count fcmp "$n" '>=' 60
check models_closed_count_max fcmp "$n" '<=' 84
# per user: the next request is scheduled exactly the think time after the last answer
"$LG" --dump-ledger "$LG_TMP/c.ledger" | awk -F'\t' 'NR>1 && $8=="ok" {print $12, $4, $6}' | sort -k1,1n -k2,2n |
	awk 'BEGIN {u=-1} $1==u && $2-d!=100000000 {bad++} {u=$1; d=$3} END {print bad+0}' >"$LG_TMP/think.bad"
check models_closed_think_exact [ "$(cat "$LG_TMP/think.bad")" -eq 0 ]
check models_closed_model [ "$(jget "$LG_TMP/c.json" model)" = closed ]

# coefficient of variation of the gaps between scheduled sends (one thread)
cv() { "$LG" --dump-ledger "$1" | awk -F'\t' 'NR>1 {print $4}' | sort -n | python3 -c '
import sys, statistics
t = [int(x) for x in sys.stdin]
g = [b - a for a, b in zip(t, t[1:])]
print(statistics.pstdev(g) / statistics.mean(g))'; }
"$LG" "$url" -t 1 -c 8 --rate 1000 --duration 3s --ledger "$LG_TMP/u.ledger" -q >/dev/null 2>&1
check models_uniform_exit_0 [ $? -eq 0 ]
"$LG" "$url" -t 1 -c 8 --rate 1000 --arrival poisson --duration 3s --ledger "$LG_TMP/p.ledger" --json "$LG_TMP/p.json" -q >/dev/null 2>&1
check models_poisson_exit_0 [ $? -eq 0 ]
cu=$(cv "$LG_TMP/u.ledger"); cp=$(cv "$LG_TMP/p.ledger")
echo "gap CV: uniform $cu, poisson $cp"
check models_uniform_regular fcmp "$cu" '<' 0.01
check models_poisson_exponential fcmp "abs($cp - 1)" '<' 0.15
check models_poisson_rate fcmp "abs($(jget "$LG_TMP/p.json" scheduled) - 3000)" '<' 250
check models_sched_never_zero [ "$(for l in c u p; do "$LG" --dump-ledger "$LG_TMP/$l.ledger" | awk -F'\t' 'NR>1 && ($4==0 || $3==0)'; done | wc -l)" -eq 0 ]
# on a terminal the progress line is rewritten in place; elsewhere, plain lines
if command -v script >/dev/null; then
	script -qc "$LG $url -c 4 -t 1 --rate 100 --duration 2s" /dev/null >"$LG_TMP/tty.out" 2>&1
	check models_tty_progress_in_place [ "$(grep -c $'\r\033\\[K\\[ *[12]s\\]' "$LG_TMP/tty.out")" -ge 1 ]
	"$LG" "$url" -c 4 -t 1 --rate 100 --duration 2s >"$LG_TMP/plain.out" 2>&1
	check models_plain_progress_lines [ "$(grep -c '^\[ *[12]s\] .*req/s.*p50.*p99.*errors' "$LG_TMP/plain.out")" -eq 2 ]
	check models_plain_no_escapes [ "$(grep -c $'\033' "$LG_TMP/plain.out")" -eq 0 ]
else
	skip models_tty_progress "(script not installed)"
fi

# SIGINT ends the run cleanly: a summary, a complete ledger, conservation
"$LG" "$url" -t 2 -c 8 --rate 500 --duration 60s --ledger "$LG_TMP/int.ledger" --json "$LG_TMP/int.json" -q >"$LG_TMP/int.out" 2>&1 &
lgpid=$!
sleep 1
kill -INT $lgpid
wait_until 10 bash -c "! kill -0 $lgpid 2>/dev/null"
wait $lgpid
check models_sigint_exit_0 [ $? -eq 0 ]
check models_sigint_conserved grep -q 'conservation ok' "$LG_TMP/int.out"
check models_sigint_stopped_early fcmp "$(jget "$LG_TMP/int.json" duration_s)" '<' 5
check models_sigint_some_requests fcmp "$(jget "$LG_TMP/int.json" ok)" '>=' 300
