#!/usr/bin/env bash
# USDT probes request_begin and request_end are in the binary (stapsdt
# notes), with the arguments docs/loadgen.1 lists.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"
command -v readelf >/dev/null || { skip usdt_notes "(readelf not installed)"; exit 0; }
readelf -n "$LG" >"$LG_TMP/notes" 2>/dev/null
check usdt_begin grep -q 'Name: request_begin' "$LG_TMP/notes"
check usdt_end grep -q 'Name: request_end' "$LG_TMP/notes"
check usdt_provider [ "$(grep -c 'Provider: loadgen' "$LG_TMP/notes")" -ge 3 ]
# five arguments at begin, eight at end
b=$(grep -A3 'Name: request_begin' "$LG_TMP/notes" | grep -m1 'Arguments:' | wc -w)
e=$(grep -A3 'Name: request_end' "$LG_TMP/notes" | grep -m1 'Arguments:' | wc -w)
check usdt_begin_5_args [ "$b" -eq 6 ]
check usdt_end_8_args [ "$e" -eq 9 ]
if command -v bpftrace >/dev/null && [ "$(id -u)" -eq 0 ]; then
	port=$(lg_port)
	LG_ACCESS_LOG=off lg_nginx "$port" || { fail usdt_nginx; exit 1; }
	# bpftrace 0.17 reads arguments 0..5 of a USDT probe on x86_64
	timeout 60 bpftrace -e "usdt:$LG:loadgen:request_end { printf(\"E %d %d %d %d\n\", arg2, arg3, arg4, arg5); }
		usdt:$LG:loadgen:request_begin { printf(\"B %d\n\", arg2); }" \
		-c "$LG http://127.0.0.1:$port/ -c 4 -t 2 --requests 300 -q --ledger $LG_TMP/u.ledger" >"$LG_TMP/bt.out" 2>&1
	grep '^E ' "$LG_TMP/bt.out" | cut -d' ' -f2- | sort >"$LG_TMP/bt.end"
	"$LG" --dump-ledger "$LG_TMP/u.ledger" | awk -F'\t' 'NR>1 {sub(/.*-/, "", $1); print $1, $11, $17, $9}' | sort >"$LG_TMP/ledger.end"
	check usdt_end_fired_300 [ "$(wc -l <"$LG_TMP/bt.end")" -eq 300 ]
	check usdt_begin_fired_300 [ "$(grep -c '^B ' "$LG_TMP/bt.out")" -eq 300 ]
	check usdt_end_args_match_ledger diff -q "$LG_TMP/bt.end" "$LG_TMP/ledger.end"
	check usdt_cookies_set [ "$(awk '$3==0' "$LG_TMP/bt.end" | wc -l)" -eq 0 ]
else
	skip usdt_bpftrace "(bpftrace not installed or not root)"
fi
