#!/usr/bin/env bash
# The duplicate-request race: loadgen sends each payment twice at once with
# one Idempotency-Key. Against idemsvc-dedup every key has one effect and the
# scenario passes; against the naive idemsvc keys get two effects and it
# fails, listing them.
. "$(dirname "$0")/../lib.sh"
need_root duplicate_race
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

NS=${FL_TEST_ID}d
CLI=${FL_TEST_ID}k
make_netns "$NS"
make_netns "$CLI"
veth_pair "$CLI" "${FL_TEST_ID}a" 10.251.10.1/24 "$NS" "${FL_TEST_ID}b" 10.251.10.2/24
OUT=$(mktemp -d /tmp/fl-race.XXXXXX)
at_exit "rm -rf $OUT"
start_agentd
export SERVICE_URL=http://10.251.10.2:8090/pay SERVICE_NETNS=$NS SERVICE_DEV=${FL_TEST_ID}b SERVICE_PORT=8090

for build in idemsvc-dedup idemsvc; do
	export RECEIPTS=ndjson:$OUT/$build.ndjson
	ip netns exec "$NS" "$FL_BIN/$build" -p 8090 -r "$OUT/$build.ndjson" &
	svc=$!
	at_exit "kill $svc"
	wait_until 5 ip netns exec "$CLI" bash -c "exec 3<>/dev/tcp/10.251.10.2/8090" 2>/dev/null
	ip netns exec "$CLI" "$FL_BIN/agentctl" --socket "$FL_SOCK" run \
		"$ROOT/docs/scenarios/duplicate-race.json" --out "$OUT/$build" >"$OUT/$build.log" 2>&1
	rc=$?
	kill "$svc"
	wait "$svc" 2>/dev/null
	sed 's/^/# /' "$OUT/$build.log"
	read -r verdict dup keys < <(python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
print(r['verdict'], r['counts']['duplicate_effects'], r['counts']['keys'])" "$OUT/$build/report.json")
	if [ "$build" = idemsvc-dedup ]; then
		check race_dedup_passes test "$rc" -eq 0 -a "$verdict" = pass
		check race_dedup_one_effect_per_key test "$dup" -eq 0 -a "$keys" -gt 100
	else
		check race_naive_fails test "$rc" -eq 1 -a "$verdict" = fail
		check race_naive_double_effects test "$dup" -gt 0 -a "$dup" -eq "$keys"
	fi
done
