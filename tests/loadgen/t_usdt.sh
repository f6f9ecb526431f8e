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
	timeout 20 bpftrace -e "usdt:$LG:loadgen:request_end { @n = count(); @st[arg5] = count(); }" \
		-c "$LG http://127.0.0.1:$port/ -c 2 -t 1 --requests 300 -q" >"$LG_TMP/bt.out" 2>&1
	check usdt_bpftrace_counts grep -q '@n: 300' "$LG_TMP/bt.out"
else
	skip usdt_bpftrace "(bpftrace not installed or not root)"
fi
