#!/usr/bin/env bash
# Reconciliation on a real run: loadgen against nginx in a network namespace
# while agentd drops the service's packets for a second. Every failure is
# explained by an inject event and the verdict passes. Then the same with a
# second outage made by an iptables DROP rule behind the agent's back: the
# verdict fails and lists as unexplained exactly the requests that rule broke.
# Also: receipts with one id removed and one duplicated.
. "$(dirname "$0")/../lib.sh"
need_root reconcile_drop

# Load from a client namespace: no test address in the host's namespace,
# where another run could hold the same one.
NS=${FL_TEST_ID}r
CLI=${FL_TEST_ID}q
T=$(mktemp -d /tmp/fl-rc.XXXXXX)
at_exit "rm -rf $T"
make_netns "$NS"
make_netns "$CLI"
veth_pair "$CLI" "${FL_TEST_ID}c" 10.252.7.1/24 "$NS" "${FL_TEST_ID}s" 10.252.7.2/24

# nginx in $NS on 8080 writing receipts in the faultline format to $T/access.log
NGINX_ACCESS_LOG=$T/access.log start_nginx "$NS" 8080 || { fail reconcile_nginx; exit 1; }
start_agentd
EV=$FL_RUN/events.ndjson.gz
now_ns() { date +%s%N; }

# run_load NAME [iptables]: 6 s of load; the agent drops everything to the
# service from 1 s to 2 s; with "iptables", a DROP rule does the same from
# 3.5 s to 4.5 s. Receipts of the run in $T/NAME.log.
run_load() {
	local name=$1 ipt=${2:-}
	ip netns exec "$CLI" "$FL_BIN/loadgen" http://10.252.7.2:8080/ --rate 200 --duration 6s -c 8 \
		--timeout 700ms --ledger "$T/$name.fll" -q >"$T/$name.out" 2>&1 &
	local lg=$!
	sleep 1
	ctl inject drop --dev "${FL_TEST_ID}s" --netns "$NS" --ingress --proto tcp \
		--dport 8080 --for 1s --name agentdrop >/dev/null || fail "reconcile_${name}_inject"
	if [ -n "$ipt" ]; then
		sleep 2.5
		echo "$(now_ns)" >"$T/$name.ipt"
		ip netns exec "$NS" iptables -I INPUT -p tcp --dport 8080 -j DROP
		at_exit "ip netns exec $NS iptables -D INPUT -p tcp --dport 8080 -j DROP"
		sleep 1
		ip netns exec "$NS" iptables -D INPUT -p tcp --dport 8080 -j DROP
		echo "$(now_ns)" >>"$T/$name.ipt"
	fi
	wait "$lg"
	sleep 1 # late retransmits; the agent flushes its log every 250 ms
	mv "$T/access.log" "$T/$name.log"
	kill -USR1 "$(cat "$NGINX_DIR/nginx.pid")"
	sleep 0.3
}

OBJ=$T/objectives.json
echo '{"unexplained_max": 0, "ghosts_max": 0, "duplicates_max": 0}' >"$OBJ"
reconcile() { # NAME: reconcile run NAME into $T/NAME.out.d
	"$FL_BIN/agentctl" reconcile --ledger "$T/$1.fll" --receipts "nginx:$T/$1.log" \
		--events "$EV" --objectives "$OBJ" --out "$T/$1.d" >"$T/$1.verdict" 2>&1
}
count() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"][sys.argv[2]])' "$T/$1.d/report.json" "$2"; }

# 1. the agent's drop only: failures, all explained
run_load a
reconcile a
rc=$?
if [ $rc -eq 0 ]; then pass reconcile_explained_passes; else fail reconcile_explained_passes "(exit $rc: $(tr '\n' ' ' <"$T/a.verdict"))"; fi
check reconcile_explained_some test "$(count a explained)" -ge 1
check reconcile_explained_none_unexplained test "$(count a unexplained)" -eq 0
check reconcile_report_written test -s "$T/a.d/report.html"

# 2. receipts with one id removed and one duplicated: exactly those
ok_ids=$(grep ' 200 ' "$T/a.log" | awk '{print $2}' | sort -u)
gone=$(echo "$ok_ids" | sed -n 10p)
twice=$(echo "$ok_ids" | sed -n 20p)
grep -v " $gone " "$T/a.log" >"$T/a2.log"
grep " $twice " "$T/a.log" >>"$T/a2.log"
"$FL_BIN/agentctl" reconcile --ledger "$T/a.fll" --receipts "nginx:$T/a2.log" --events "$EV" \
	--objectives "$OBJ" --out "$T/a2.d" >/dev/null 2>&1
rc=$?
check reconcile_removed_fails test $rc -eq 1
ids() { python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$T/$1/report.json" "$2"; }
missing_before=$(ids a.d missing_ids)
missing_after=$(ids a2.d missing_ids)
extra=$(comm -13 <(tr ' ' '\n' <<<"$missing_before" | sort) <(tr ' ' '\n' <<<"$missing_after" | sort) | tr '\n' ' ')
check reconcile_removed_is_missing test "$extra" = "$gone "
dups_before=$(ids a.d duplicate_ids)
dups_after=$(ids a2.d duplicate_ids)
extra=$(comm -13 <(tr ' ' '\n' <<<"$dups_before" | sort) <(tr ' ' '\n' <<<"$dups_after" | sort) | tr '\n' ' ')
check reconcile_duplicated_is_duplicate test "$extra" = "$twice "

# 2b. the same receipts as NDJSON over HTTP (libcurl)
mkdir -p "$T/www"
awk '$2 != "-" { printf "{\"id\":\"%s\",\"status\":%d,\"ts\":%s}\n", $2, $3, $1 }' "$T/a.log" >"$T/www/r.ndjson"
HPORT=$((30000 + $$ % 20000))
python3 -m http.server "$HPORT" --bind 127.0.0.1 --directory "$T/www" >/dev/null 2>&1 &
HPID=$!
at_exit "kill $HPID"
wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HPORT" 2>/dev/null
"$FL_BIN/agentctl" reconcile --ledger "$T/a.fll" --receipts "http://127.0.0.1:$HPORT/r.ndjson" \
	--events "$EV" --objectives "$OBJ" >"$T/url.verdict" 2>&1
rc=$?
if [ $rc -eq 0 ]; then pass reconcile_url_receipts; else fail reconcile_url_receipts "(exit $rc: $(tr '\n' ' ' <"$T/url.verdict"))"; fi
"$FL_BIN/agentctl" reconcile --ledger "$T/a.fll" --receipts "http://127.0.0.1:$HPORT/none" >"$T/url2.verdict" 2>&1
rc=$?
check reconcile_url_missing_is_error test $rc -eq 2
check reconcile_url_error_names_status grep -q "HTTP status 404" "$T/url2.verdict"

# 3. plus an iptables DROP the agent knows nothing about
run_load b iptables
reconcile b
rc=$?
if [ $rc -eq 1 ]; then pass reconcile_iptables_fails; else fail reconcile_iptables_fails "(exit $rc: $(tr '\n' ' ' <"$T/b.verdict"))"; fi
check reconcile_iptables_explained_some test "$(count b explained)" -ge 1
# The expected unexplained ids: failed requests whose life overlaps the
# rule's second and not the agent's fault window.
"$FL_BIN/loadgen" --dump-ledger "$T/b.fll" >"$T/b.tsv"
python3 - "$T/b.tsv" "$T/b.ipt" "$T/b.d/report.json" "$T/b.d/unexplained_ids.txt" >"$T/b.cmp" <<'PY'
import json, sys
tsv, ipt, rep, unx = sys.argv[1:]
i0, i1 = [int(x) for x in open(ipt).read().split()]
faults = [(f["start_wall_ns"], f["end_wall_ns"] or 1 << 62)
          for f in json.load(open(rep))["faults"] if f["start_wall_ns"]]
cols = None
expected = set()
for line in open(tsv):
    if line.startswith("#"):
        cols = line[2:].split("\t")
        cols = [c.strip() for c in cols]
        continue
    r = dict(zip(cols, line.rstrip("\n").split("\t")))
    if r["outcome"] in ("ok", "unsent", "inflight"):
        continue
    lo = int(r["sched_wall_ns"])
    hi = lo + (int(r["done_ns"]) - int(r["sched_ns"]) if int(r["done_ns"]) else 10**10)
    if hi < i0 or lo > i1:
        continue
    if any(hi >= a and lo <= b for a, b in faults):
        continue
    expected.add(r["id"])
got = set(l.strip() for l in open(unx) if l.strip())
print("expected %d got %d; only expected: %s; only got: %s" % (
    len(expected), len(got), sorted(expected - got)[:5], sorted(got - expected)[:5]))
sys.exit(0 if expected == got and expected else 1)
PY
rc=$?
echo "# a: $(sed -n 2p "$T/a.verdict")"
echo "# b: $(sed -n 2p "$T/b.verdict"); $(cat "$T/b.cmp")"
if [ $rc -eq 0 ]; then pass reconcile_iptables_exactly_unexplained; else fail reconcile_iptables_exactly_unexplained "($(cat "$T/b.cmp"))"; fi

# FL_KEEP_REPORT=DIR keeps run b's report (to look at it)
[ -n "${FL_KEEP_REPORT:-}" ] && mkdir -p "$FL_KEEP_REPORT" && cp -r "$T/b.d/." "$FL_KEEP_REPORT/"

# 4. the page renders (when Chromium is installed) and has its charts
if [ -x /usr/bin/chromium ]; then
	timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$T/chromium" \
		--dump-dom "file://$T/b.d/report.html" >"$T/dom.html" 2>/dev/null
	check reconcile_html_renders grep -q 'id="throughput"' "$T/dom.html"
	timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$T/chromium" \
		--screenshot="$T/report.png" --window-size=1100,1600 "file://$T/b.d/report.html" >/dev/null 2>&1
	check reconcile_html_screenshot test -s "$T/report.png"
else
	fail reconcile_html_renders "(no /usr/bin/chromium: make deps installs it)"
fi
for id in throughput latency; do
	check "reconcile_html_chart_$id" grep -q "<svg id=\"$id\"" "$T/b.d/report.html"
done
check reconcile_html_fault_shaded grep -q 'class="fault"' "$T/b.d/report.html"
check reconcile_html_no_scripts bash -c "! grep -qi '<script' '$T/b.d/report.html'"
