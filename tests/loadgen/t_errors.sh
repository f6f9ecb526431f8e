#!/usr/bin/env bash
# Connection refused, reset, timeout, malformed and cut-short responses:
# each counted by kind in the ledger and the summary; loadgen never
# crashes or hangs.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"

# kind MODE OUTCOME JSON_KEY [extra loadgen args]
kind() {
	local mode=$1 outcome=$2 key=$3 port=9 rc; shift 3
	BAD_PID=
	if [ "$mode" != refused ]; then
		lg_bad "$mode" || { fail "errors_${mode}_server"; return 0; }
		port=$BAD_PORT
	fi
	timeout 30 "$LG" "http://127.0.0.1:$port/" -c 4 -t 1 --duration 1s --timeout 300ms \
		--ledger "$LG_TMP/$mode.ledger" --json "$LG_TMP/$mode.json" -q "$@" >"$LG_TMP/$mode.out" 2>&1
	rc=$?
	check "errors_${mode}_exit_0" [ $rc -eq 0 ]
	check "errors_${mode}_counted" [ "$(jget "$LG_TMP/$mode.json" "errors/$key")" -gt 0 ]
	check "errors_${mode}_no_ok" [ "$(jget "$LG_TMP/$mode.json" ok)" -eq 0 ]
	check "errors_${mode}_ledger_kind" [ "$("$LG" --dump-ledger "$LG_TMP/$mode.ledger" | awk -F'\t' -v o="$outcome" '$8==o' | wc -l)" -eq "$(jget "$LG_TMP/$mode.json" "errors/$key")" ]
	check "errors_${mode}_conserved" grep -q 'conservation ok' "$LG_TMP/$mode.out"
	[ -n "$BAD_PID" ] && kill "$BAD_PID" 2>/dev/null
	return 0
}

kind refused connect connect
kind reset reset reset
kind silent timeout timeout
kind garbage parse parse
kind eof eof eof
# a body that runs until the server closes is a success, not an error
lg_bad close || fail errors_close_server
timeout 30 "$LG" "http://127.0.0.1:$BAD_PORT/" -c 2 -t 1 --requests 50 --json "$LG_TMP/close.json" -q >/dev/null 2>&1
check errors_body_until_close_ok [ "$(jget "$LG_TMP/close.json" ok)" -eq 50 ]
check errors_body_until_close_bytes [ "$(jget "$LG_TMP/close.json" bytes_in)" -eq $((50 * 49)) ]
kill "$BAD_PID" 2>/dev/null
# the errno of a refused connection is in the ledger
check errors_refused_errno [ "$("$LG" --dump-ledger "$LG_TMP/refused.ledger" | awk -F'\t' 'NR>1 && $10!=111' | wc -l)" -eq 0 ]
# a server that never answers, open model, a timeout longer than the run:
# the run's end leaves requests in flight. A population of clients: every
# request got its own connection (100 in flight); wrk2's fixed pool: 4 in
# flight, the rest waited and were never sent; a pool ceiling of 10: 10.
lg_bad silent || fail errors_inflight_server
inflight() { # NAME INFLIGHT UNSENT ARGS...
	local name=$1 want_in=$2 want_un=$3 unsent; shift 3
	timeout 30 "$LG" "http://127.0.0.1:$BAD_PORT/" -c 4 -t 1 --rate 100 --duration 1s --timeout 10s \
		--ledger "$LG_TMP/$name.ledger" --json "$LG_TMP/$name.json" -q "$@" >"$LG_TMP/$name.out" 2>&1
	check "errors_${name}_exit_0" [ $? -eq 0 ]
	check "errors_${name}_in_flight" fcmp "abs($(jget "$LG_TMP/$name.json" in_flight) - $want_in)" '<=' 2
	unsent=$(jget "$LG_TMP/$name.json" unsent)
	check "errors_${name}_unsent" fcmp "abs($unsent - $want_un)" '<=' 2
	check "errors_${name}_conserved" grep -q "conservation ok: $(jget "$LG_TMP/$name.json" scheduled) scheduled" "$LG_TMP/$name.out"
	check "errors_${name}_unsent_in_ledger" [ "$("$LG" --dump-ledger "$LG_TMP/$name.ledger" | awk -F'\t' '$8=="unsent" && $5==0' | wc -l)" -eq "$unsent" ]
}
inflight inflight 100 0
inflight inflight_wrk2 4 96 --model wrk2
inflight inflight_max10 10 90 --max-connections 10
check errors_inflight_pool_grew [ "$(jget "$LG_TMP/inflight.json" connections_peak)" -ge 98 ]
check errors_inflight_max10_pool [ "$(jget "$LG_TMP/inflight_max10.json" connections_peak)" -eq 10 ]
kill "$BAD_PID" 2>/dev/null
# a request that failed on an established connection names its port and cookie
for m in reset silent eof; do
	check "errors_${m}_ports_kept" [ "$("$LG" --dump-ledger "$LG_TMP/$m.ledger" | awk -F'\t' 'NR>1 && ($11==0 || $17==0)' | wc -l)" -eq 0 ]
done
