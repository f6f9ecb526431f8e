#!/usr/bin/env bash
# Reconciliation benchmark (docs/benchmarks.md, "Reconciliation"):
#
#   tools/bench_reconcile.sh [N [ROUNDS]]   (N requests, default 10000000; 3 rounds)
#
# Generates a synthetic N-request loadgen ledger and the nginx access log of
# the same run (tools/gen_ledger.c: known missing, duplicate, ghost and
# timed-out requests), then reconciles them side by side in one run:
#   agentctl reconcile   (ours: streaming, hash-partitioned join)
#   reconcile_py.py      (the usual approach: Python sets and a Counter)
#   sqlite3              (a SQL join: the ledger dumped to TSV by loadgen
#                        --dump-ledger, the log's ids by awk, both imported,
#                        indexed and joined; the whole pipeline timed)
# each under /usr/bin/time -v, ROUNDS times, alternating which goes first,
# and prints the median wall time and the peak RSS of both and whether their
# counts agree with each other and with the generator's. Other load on the
# host slows both; the rounds and the alternation keep the comparison fair.
# Goal: ours >= 10x faster, < 256 MiB peak.
#   FL_BIN: folder of agentctl (default build/bin); the ledger library is
#   taken from the build folder beside it (make all first).
#   FL_BENCH_DIR: where the files go (default a temporary folder, removed)
#   FL_BENCH_EVENTS=E: also an agent event log of E inject events (drops on
#   the timed-out requests' connections, the rest on requests that did not
#   fail), given to ours with --events: the attribution pass at scale
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FL_BIN=${FL_BIN:-$ROOT/build/bin}
N=${1:-10000000}
ROUNDS=${2:-3}
LIB=$(dirname "$FL_BIN")/libloadgen.a
[ -x "$FL_BIN/agentctl" ] && [ -f "$LIB" ] || { echo "bench_reconcile: build first (make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_reconcile: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
if [ -n "${FL_BENCH_DIR:-}" ]; then
	DIR=$FL_BENCH_DIR
	mkdir -p "$DIR"
else
	DIR=$(mktemp -d /tmp/fl-bench-rc.XXXXXX)
	trap 'rm -rf "$DIR"' EXIT
fi
trap 'exit 130' INT TERM

cc -O2 -std=gnu11 -Wall -Werror -iquote "$ROOT/loadgen" -o "$DIR/gen_ledger" \
	"$ROOT/tools/gen_ledger.c" "$LIB" -lz -ldeflate -lpthread
echo "bench_reconcile: generating $N requests in $DIR"
t0=$(date +%s.%N)
"$DIR/gen_ledger" "$N" "$DIR/ledger.fll" "$DIR/access.log" >"$DIR/expected.json"
t1=$(date +%s.%N)
printf 'generated in %.1f s: ledger %s, access log %s\n' "$(echo "$t1 - $t0" | bc)" \
	"$(du -h "$DIR/ledger.fll" | cut -f1)" "$(du -h "$DIR/access.log" | cut -f1)"
EVENTS=${FL_BENCH_EVENTS:-0}
EVARGS=()
if [ "$EVENTS" -gt 0 ]; then
	python3 - "$N" "$EVENTS" "$DIR/events.ndjson.gz" <<'PY'
import gzip, sys
n, e, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
T0, GAP = 1790000000000000000, 100000  # tools/gen_ledger.c
with gzip.open(path, "wt", compresslevel=1) as f:
    f.write('{"type":"start","wall_ns":%d,"mono_ns":1,"host":"b","fault_id":1,"backend":"tcx",'
            '"fault":{"kind":"drop","name":"bench"}}\n' % T0)
    line = ('{"type":"inject","wall_ns":%d,"mono_ns":1,"host":"b","fault_id":1,"kind":"drop",'
            '"dir":"ingress","ifindex":2,"proto":"tcp","src":"10.0.0.1","dst":"10.0.0.2",'
            '"sport":%d,"dport":8080}\n')
    out = []
    for i in range(e):
        s = (i * 100 + 50) % n if i < n // 100 else (i * 7919) % n  # timeouts first
        out.append(line % (T0 + s * GAP + 1000000, 32768 + s % 28000))
        if len(out) == 65536:
            f.write("".join(out))
            out = []
    f.write("".join(out))
    f.write('{"type":"end","wall_ns":%d,"mono_ns":2,"host":"b","fault_id":1,"reason":"cleared"}\n'
            % (T0 + n * GAP))
PY
	EVARGS=(--events "$DIR/events.ndjson.gz")
	printf 'events: %d inject events, %s\n' "$EVENTS" "$(du -h "$DIR/events.ndjson.gz" | cut -f1)"
fi
sync

# time_v LABEL CMD...: runs CMD under /usr/bin/time -v; sets WALL (s) and RSS (MiB)
time_v() {
	local label=$1; shift
	/usr/bin/time -v -o "$DIR/$label.time" "$@" >"$DIR/$label.out" 2>"$DIR/$label.err" || {
		local rc=$?
		# exit 1 is a failing verdict (expected here: the data has defects)
		if [ "$label" != ours ] || [ $rc -ne 1 ]; then
			echo "bench_reconcile: $label failed ($rc):" >&2; cat "$DIR/$label.err" >&2; exit 1
		fi
	}
	local e
	e=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$DIR/$label.time")
	WALL=$(echo "$e" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
	RSS=$(awk '/Maximum resident set size/ { printf "%.1f", $NF / 1024 }' "$DIR/$label.time")
}

# Page cache warm for both: read the inputs once.
cat "$DIR/ledger.fll" "$DIR/access.log" >/dev/null

run_ours() {
	time_v ours "$FL_BIN/agentctl" reconcile --ledger "$DIR/ledger.fll" \
		--receipts "nginx:$DIR/access.log" --out "$DIR/out" --json "${EVARGS[@]}"
	OURS_W+=("$WALL") OURS_R+=("$RSS")
}
run_py() {
	time_v python python3 "$ROOT/tools/reconcile_py.py" "$DIR/ledger.fll" "nginx:$DIR/access.log"
	PY_W+=("$WALL") PY_R+=("$RSS")
}
run_sqlite() {
	rm -f "$DIR/rc.db"
	time_v sqlite bash -c '
set -eo pipefail
"$1" --dump-ledger "$2" | awk -F"\t" "!/^#/ { print \$1 \"\t\" \$8 }" >"$3/l.tsv"
awk "\$2 != \"-\" { print \$2 }" "$4" >"$3/r.tsv"
sqlite3 "$3/rc.db" <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
.mode tabs
CREATE TABLE l (id TEXT, outcome TEXT);
CREATE TABLE r (id TEXT);
.import $3/l.tsv l
.import $3/r.tsv r
CREATE INDEX li ON l (id);
CREATE INDEX ri ON r (id);
CREATE TABLE rc AS SELECT id, count(*) AS n FROM r GROUP BY id;
CREATE INDEX rci ON rc (id);
SELECT json_object(
  '"'"'requests'"'"', (SELECT count(*) FROM l),
  '"'"'missing'"'"', (SELECT count(*) FROM l WHERE outcome != '"'"'unsent'"'"'
                       AND NOT EXISTS (SELECT 1 FROM rc WHERE rc.id = l.id)),
  '"'"'duplicates'"'"', (SELECT count(*) FROM l JOIN rc USING (id)
                          WHERE outcome != '"'"'unsent'"'"' AND n > 1),
  '"'"'ghosts'"'"', (SELECT count(*) FROM rc WHERE NOT EXISTS
                      (SELECT 1 FROM l WHERE l.id = rc.id AND outcome != '"'"'unsent'"'"')));
SQL
rm -f "$3/l.tsv" "$3/r.tsv" "$3/rc.db"' _ "$FL_BIN/loadgen" "$DIR/ledger.fll" "$DIR" "$DIR/access.log"
	SQ_W+=("$WALL") SQ_R+=("$RSS")
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
OURS_W=() OURS_R=() PY_W=() PY_R=() SQ_W=() SQ_R=() RATIO=()
SQLITE=${FL_BENCH_SQLITE:-1}
command -v sqlite3 >/dev/null || SQLITE=0
for ((round = 1; round <= ROUNDS; round++)); do
	if ((round % 2)); then run_ours; run_py; else run_py; run_ours; fi
	[ "$SQLITE" = 1 ] && run_sqlite
	RATIO+=("$(echo "${PY_W[-1]} / ${OURS_W[-1]}" | bc -l)")
	printf 'round %d: ours %.2f s %.1f MiB, python %.2f s %.1f MiB, %.1fx (load %s)\n' "$round" \
		"${OURS_W[-1]}" "${OURS_R[-1]}" "${PY_W[-1]}" "${PY_R[-1]}" "${RATIO[-1]}" \
		"$(cut -d' ' -f1 /proc/loadavg)"
done
SPEEDUP=$(median "${RATIO[@]}")
OURS_WALL=$(median "${OURS_W[@]}") OURS_RSS=$(maxof "${OURS_R[@]}")
PY_WALL=$(median "${PY_W[@]}") PY_RSS=$(maxof "${PY_R[@]}")

ours=$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
print(json.dumps({k: c[k] for k in ("requests", "missing", "ghosts", "duplicates")}, sort_keys=True))' "$DIR/out/report.json")
py=$(python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$DIR/python.out")
exp=$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(json.dumps({k: c[k] for k in ("requests", "missing", "ghosts", "duplicates")}, sort_keys=True))' "$DIR/expected.json")

echo
echo "requests: $N ($(nproc) CPUs, $(uname -r))"
printf '%-28s %10s %14s\n' "($ROUNDS rounds)" "median wall (s)" "peak RSS (MiB)"
printf '%-28s %10.2f %14.1f\n' "agentctl reconcile" "$OURS_WALL" "$OURS_RSS"
printf '%-28s %10.2f %14.1f\n' "reconcile_py.py (sets)" "$PY_WALL" "$PY_RSS"
if [ "$SQLITE" = 1 ]; then
	printf '%-28s %10.2f %14.1f\n' "sqlite3 (dump, import, join)" "$(median "${SQ_W[@]}")" \
		"$(maxof "${SQ_R[@]}")"
	sq=$(python3 -c 'import json, sys; print(json.dumps(json.loads(open(sys.argv[1]).read().split()[-1]), sort_keys=True))' "$DIR/sqlite.out")
fi
printf 'speed-up (median of the rounds'"'"' ratios): %.1fx, memory: %.1fx less\n' "$SPEEDUP" \
	"$(echo "$PY_RSS / $OURS_RSS" | bc -l)"
echo "counts: ours $ours"
echo "        python $py"
[ "$SQLITE" = 1 ] && echo "        sqlite $sq"
echo "        expected $exp"
ok=1
[ "$ours" = "$py" ] && [ "$ours" = "$exp" ] || { echo "bench_reconcile: the counts differ" >&2; ok=0; }
[ "$SQLITE" != 1 ] || [ "$ours" = "$sq" ] || { echo "bench_reconcile: sqlite's counts differ" >&2; ok=0; }
awk -v s="$SPEEDUP" -v r="$OURS_RSS" 'BEGIN {
	printf "goal >= 10x faster: %s; goal < 256 MiB: %s\n", (s >= 10 ? "met" : "NOT met"), (r < 256 ? "met" : "NOT met") }'
[ $ok -eq 1 ]
