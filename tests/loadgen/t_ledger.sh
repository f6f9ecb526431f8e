#!/usr/bin/env bash
# 5,000 requests: the ledger holds 5,000 unique ids, nginx's access log the
# same ids, and the statuses agree. Two instances of one run never share an id.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"
[ -x "$LG" ] || { fail loadgen_built "($LG missing)"; exit 1; }
command -v nginx >/dev/null || { skip ledger_ids "(nginx not installed)"; exit 0; }
port=$(lg_port)
lg_nginx "$port" || { fail ledger_nginx "(nginx did not start)"; exit 1; }
url=http://127.0.0.1:$port/

"$LG" "$url" -c 16 -t 2 --requests 5000 --ledger "$LG_TMP/a.ledger" --json "$LG_TMP/a.json" \
	--run-id 00c0ffee --instance 3 -q >"$LG_TMP/a.out" 2>&1
rc=$?
check ledger_exit_0 [ $rc -eq 0 ]
"$LG" --dump-ledger "$LG_TMP/a.ledger" | grep -v '^#' >"$LG_TMP/a.tsv"
check ledger_5000_records [ "$(wc -l <"$LG_TMP/a.tsv")" -eq 5000 ]
check ledger_5000_unique_ids [ "$(cut -f1 "$LG_TMP/a.tsv" | sort -u | wc -l)" -eq 5000 ]
check ledger_ids_dense [ "$(cut -f1 "$LG_TMP/a.tsv" | sed 's/.*-//' | sort -n | awk 'NR-1!=$1{bad=1} END{print bad+0}')" -eq 0 ]
check ledger_id_format [ "$(grep -c '^0000000000c0ffee-3-[0-9]*	' "$LG_TMP/a.tsv")" -eq 5000 ]
check ledger_all_ok [ "$(cut -f8 "$LG_TMP/a.tsv" | sort -u)" = ok ]
check ledger_times_ordered [ "$(awk -F'\t' '$5<$4 || $6<$5 || $7!=$6-$5 {n++} END{print n+0}' "$LG_TMP/a.tsv")" -eq 0 ]
check ledger_local_ports [ "$(awk -F'\t' '$11==0 {n++} END{print n+0}' "$LG_TMP/a.tsv")" -eq 0 ]
# version 2: the 5-tuple of every request (loopback both ends, the server's port)
check ledger_v2_addrs [ "$(awk -F'\t' -v p="$port" '$18!="127.0.0.1" || $19!="127.0.0.1" || $20!=p {n++} END{print n+0}' "$LG_TMP/a.tsv")" -eq 0 ]
wall_now=$(date +%s%N)
check ledger_wall_clock [ "$(awk -F'\t' -v now="$wall_now" '$3 < now-600e9 || $3 > now {n++} END{print n+0}' "$LG_TMP/a.tsv")" -eq 0 ]

# nginx saw the same ids with the same statuses
sleep 0.3
awk '$3=="/" {print $1"\t"$2}' "$NGINX_DIR/access.log" | sort >"$LG_TMP/nginx.ids"
awk -F'\t' '{print $1"\t"$9}' "$LG_TMP/a.tsv" | sort >"$LG_TMP/lg.ids"
check ledger_nginx_same_ids diff -q "$LG_TMP/nginx.ids" "$LG_TMP/lg.ids"

check ledger_json_requests [ "$(jget "$LG_TMP/a.json" requests)" -eq 5000 ]
check ledger_json_conservation [ "$(jget "$LG_TMP/a.json" ledger/conservation)" = True ]
check ledger_summary_conservation grep -q 'conservation ok: 5000 scheduled ids' "$LG_TMP/a.out"
check ledger_bytes_per_request fcmp "$(jget "$LG_TMP/a.json" ledger/bytes_per_request)" '<=' 64
check ledger_verify_cli grep -q "5000 records; conservation ok" <("$LG" --verify-ledger "$LG_TMP/a.ledger")
check ledger_interval_log [ -s "$LG_TMP/a.ledger.intervals.jsonl" ]
prev=0 bad=
for p in p50 p90 p99 p99.9 p99.99; do
	v=$(jget "$LG_TMP/a.json" "latency_ms/$p")
	fcmp "$v" '>' 0 && fcmp "$v" '>=' "$prev" || bad="$bad $p=$v"
	prev=$v
done
check ledger_json_percentiles_rise [ -z "$bad" ]

# a second instance of the same run: ids never collide; the ledgers merge
"$LG" "$url" -c 4 -t 1 --requests 500 --ledger "$LG_TMP/b.ledger" --json "$LG_TMP/b.json" --run-id 00c0ffee --instance 4 -q >/dev/null 2>&1
"$LG" --dump-ledger "$LG_TMP/b.ledger" | grep -v '^#' | cut -f1 >"$LG_TMP/b.ids"
check ledger_instances_disjoint [ "$(cat "$LG_TMP/b.ids" <(cut -f1 "$LG_TMP/a.tsv") | sort -u | wc -l)" -eq 5500 ]

# and their summaries merge: counts add up, the merged histogram holds every answer
"$LG" --merge "$LG_TMP/a.json" "$LG_TMP/b.json" >"$LG_TMP/m.json"
check ledger_merge_exit_0 [ $? -eq 0 ]
check ledger_merge_requests [ "$(jget "$LG_TMP/m.json" requests)" -eq 5500 ]
check ledger_merge_hist_count [ "$(jget "$LG_TMP/m.json" latency_ms/count)" -eq 5500 ]
pa=$(jget "$LG_TMP/a.json" latency_ms/max); pb=$(jget "$LG_TMP/b.json" latency_ms/max); pm=$(jget "$LG_TMP/m.json" latency_ms/max)
check ledger_merge_max fcmp "abs($pm - max($pa, $pb))" '<=' "max($pa, $pb) / 500"
"$LG" --merge "$LG_TMP/a.json" "$LG_TMP/a.ledger" >/dev/null 2>"$LG_TMP/merge.err"
check ledger_merge_rejects_non_summary [ $? -eq 2 ]

# a corrupt ledger is an error, not a silent short read
head -c 2000 "$LG_TMP/a.ledger" >"$LG_TMP/cut.ledger"
"$LG" --verify-ledger "$LG_TMP/cut.ledger" >/dev/null 2>"$LG_TMP/cut.err"
check ledger_truncated_exit_2 [ $? -eq 2 ]
check ledger_truncated_says_so grep -q 'truncated or corrupt' "$LG_TMP/cut.err"
