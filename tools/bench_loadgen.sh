#!/usr/bin/env bash
# loadgen against wrk, side by side, against one nginx on loopback (1 worker,
# `return 200`, no access log). Appends a section to docs/benchmarks.md.
#   FL_BIN      folder with loadgen (default build/bin)
#   ROUNDS      runs per tool and shape, alternating (default 5); the median counts
#   SECS        seconds per run (default 5)
#   NO_APPEND=1 print only
set -u
cd "$(dirname "$0")/.."
source tests/lib.sh
FL_BIN=${FL_BIN:-$PWD/build/bin}
LG=$FL_BIN/loadgen
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-5}
for t in "$LG" wrk nginx python3; do
	command -v "$t" >/dev/null || { echo "bench_loadgen: $t not found (make deps; make)" >&2; exit 2; }
done
tmp=$(mktemp -d /tmp/fl-bench.XXXXXX)
at_exit "rm -rf $tmp"
port=$((30000 + $$ % 20000))
start_nginx "" "$port" || { echo "bench_loadgen: nginx did not start" >&2; exit 2; }
url=http://127.0.0.1:$port/
calc() { python3 -c "print($1)"; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
out=$tmp/report.md

wrk_rps() { wrk -t"$1" -c"$2" -d"${SECS}s" "$url" | awk '/^Requests\/sec/ {print $2}'; }
lg_rps() {
	"$LG" "$url" -t"$1" -c"$2" --duration "${SECS}s" --ledger "$tmp/l.ledger" --json "$tmp/l.json" -q >/dev/null 2>&1
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests_per_sec"])' "$tmp/l.json"
}
# peak RSS in KiB of a command line
peak_rss() {
	"$@" >/dev/null 2>&1 &
	local pid=$! peak=0 r
	while kill -0 $pid 2>/dev/null; do
		r=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null)
		[ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
		sleep 0.05
	done
	wait $pid
	echo "$peak"
}

{
echo
echo "## loadgen"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r), $(nproc) cores, nginx 1 worker on 127.0.0.1 (\`return 200\`, access log off)."
echo "Command: \`ROUNDS=$ROUNDS SECS=$SECS bash tools/bench_loadgen.sh\` ($ROUNDS alternating runs of ${SECS}s per tool and shape; medians)."
echo
echo "| shape | wrk req/s | loadgen req/s (ledger on) | loadgen / wrk |"
echo "|---|---|---|---|"
} >"$out"
for shape in "1 32" "2 128"; do
	set -- $shape
	: >"$tmp/w" ; : >"$tmp/g"
	for ((i = 0; i < ROUNDS; i++)); do
		wrk_rps "$1" "$2" >>"$tmp/w"
		lg_rps "$1" "$2" >>"$tmp/g"
	done
	w=$(median <"$tmp/w"); g=$(median <"$tmp/g")
	echo "- runs -t$1 -c$2: wrk $(xargs printf '%.0f ' <"$tmp/w")/ loadgen $(xargs printf '%.0f ' <"$tmp/g")" >>"$tmp/runs"
	printf '| -t%s -c%s | %.0f | %.0f | %.2f |\n' "$1" "$2" "$w" "$g" "$(calc "$g / $w")" >>"$out"
	[ "$1" = 1 ] && bpr=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["ledger"]["bytes_per_request"],1))' "$tmp/l.json")
done

{
echo
echo "Every run, in order (the machine is shared: look at the spread before the medians):"
echo
cat "$tmp/runs"
echo
echo "Wrk commands: \`wrk -tT -cC -d${SECS}s $url\`; loadgen: \`loadgen $url -tT -cC --duration ${SECS}s --ledger FILE --json FILE -q\`."
echo
echo "| rate accuracy (open model, uniform, -t2 -c64, ${SECS}s) | achieved req/s | error |"
echo "|---|---|---|"
} >>"$out"
for rate in 10000 50000; do
	"$LG" "$url" -t2 -c64 --rate $rate --duration "${SECS}s" --json "$tmp/r.json" -q >/dev/null 2>&1
	a=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests_per_sec"])' "$tmp/r.json")
	u=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["unsent"])' "$tmp/r.json")
	printf '| --rate %s | %.1f | %+.3f%% (unsent %s) |\n' "$rate" "$a" "$(calc "($a - $rate) * 100 / $rate")" "$u" >>"$out"
done

# memory per connection: peak RSS at 2010 connections minus at 10, over 2000
m10=$(peak_rss "$LG" "$url" -t1 -c10 --duration 2s -q)
m2k=$(peak_rss "$LG" "$url" -t1 -c2010 --duration 2s -q)
w10=$(peak_rss wrk -t1 -c10 -d2s "$url")
w2k=$(peak_rss wrk -t1 -c2010 -d2s "$url")
hist=$("$LG" --bench-hist | sed 's/^hist_record: //')
{
echo
echo "| measure | loadgen | wrk | goal |"
echo "|---|---|---|---|"
printf '| memory per connection (peak RSS at -c2010 minus -c10, /2000) | %.2f KiB | %.2f KiB | <= 8 KiB |\n' \
	"$(calc "($m2k - $m10) / 2000")" "$(calc "($w2k - $w10) / 2000")"
echo "| ledger bytes per request on disk (zlib, -t1 -c32 run) | $bpr | - | <= 64 |"
echo "| cost of recording one latency | $hist | - | a few ns |"
} >>"$out"
cat "$out"
if [ "${NO_APPEND:-0}" != 1 ]; then
	cat "$out" >>docs/benchmarks.md
	echo "appended to docs/benchmarks.md" >&2
fi
