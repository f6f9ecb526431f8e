#!/usr/bin/env bash
# The duplicate-request race against a real PostgreSQL (started and removed
# here, Debian's package): idemsvc -P keeps payments in a table and checks
# before it inserts, so the two requests of a pair both pay: reconciling
# against the database (pg: receipts) finds keys with two effects and the
# scenario fails. idemsvc-dedup -P has a unique constraint on the key: one
# effect per key, the scenario passes. Also the same receipts through exec:
# (psql --csv), which must agree.
. "$(dirname "$0")/../lib.sh"
need_root duplicate_race_pg
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { skip duplicate_race_pg "(no PostgreSQL: make deps)"; exit 0; }
id postgres >/dev/null 2>&1 || { skip duplicate_race_pg "(no postgres user)"; exit 0; }

NS=${FL_TEST_ID}g
CLI=${FL_TEST_ID}j
make_netns "$NS"
make_netns "$CLI"
veth_pair "$CLI" "${FL_TEST_ID}p0" 10.252.11.1/24 "$NS" "${FL_TEST_ID}p1" 10.252.11.2/24
OUT=$(mktemp -d /tmp/fl-racepg.XXXXXX)
at_exit "rm -rf $OUT"
chmod 755 "$OUT"
mkdir "$OUT/pg" "$OUT/sock"
chown postgres "$OUT/pg" "$OUT/sock"
# a server of our own: no TCP, its socket in $OUT/sock
su postgres -s /bin/sh -c "$PGBIN/initdb -D $OUT/pg -A trust" >"$OUT/initdb.log" 2>&1 ||
	{ fail duplicate_race_pg_initdb "($(tail -3 "$OUT/initdb.log"))"; exit 1; }
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $OUT/pg -l $OUT/sock/pg.log -w -o \"-k $OUT/sock -c listen_addresses='' -c max_connections=300\" start" >/dev/null ||
	{ fail duplicate_race_pg_start "($(tail -3 "$OUT/sock/pg.log"))"; exit 1; }
at_exit "su postgres -s /bin/sh -c '$PGBIN/pg_ctl -D $OUT/pg -m immediate stop'"
start_agentd
export SERVICE_URL=http://10.252.11.2:8090/pay SERVICE_NETNS=$NS SERVICE_DEV=${FL_TEST_ID}p1 SERVICE_PORT=8090
QUERY="SELECT r.id, 200 AS status, p.key FROM requests r LEFT JOIN payments p ON p.id = r.id"

for build in idemsvc-dedup idemsvc; do
	db=${build//-/_}
	su postgres -s /bin/sh -c "$PGBIN/createdb -h $OUT/sock $db"
	CONN="host=$OUT/sock user=postgres dbname=$db"
	export RECEIPTS="pg:$CONN|$QUERY"
	ip netns exec "$NS" "$FL_BIN/$build" -p 8090 -P "$CONN" 2>"$OUT/$build.err" &
	svc=$!
	at_exit "kill $svc"
	wait_until 5 ip netns exec "$CLI" bash -c "exec 3<>/dev/tcp/10.252.11.2/8090" 2>/dev/null
	ip netns exec "$CLI" "$FL_BIN/agentctl" --socket "$FL_SOCK" run \
		"$ROOT/docs/scenarios/duplicate-race.json" --out "$OUT/$build" >"$OUT/$build.log" 2>&1
	rc=$?
	kill "$svc"
	wait "$svc" 2>/dev/null
	sed 's/^/# /' "$OUT/$build.log" "$OUT/$build.err"
	read -r verdict dup keys missing < <(python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
c = r['counts']
print(r['verdict'], c['duplicate_effects'], c['keys'], c['missing'])" "$OUT/$build/report.json")
	rows=$(su postgres -s /bin/sh -c "psql -h $OUT/sock -d $db -Atc 'SELECT count(*) - count(DISTINCT key) FROM payments'")
	# the same receipts from a command printing CSV
	"$FL_BIN/agentctl" reconcile --ledger "$OUT/$build/ledger.bin.gz" \
		--receipts "exec:su postgres -s /bin/sh -c \"psql -h $OUT/sock -d $db --csv -c '$QUERY'\"" \
		--objectives <(echo '{"duplicate_effects_max": 0}') --json >"$OUT/$build.exec.json" 2>"$OUT/$build.exec.err"
	edup=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['counts']['duplicate_effects'])" "$OUT/$build.exec.json" 2>/dev/null)
	if [ "$build" = idemsvc-dedup ]; then
		check race_pg_constrained_passes test "$rc" -eq 0 -a "$verdict" = pass
		check race_pg_constrained_one_effect_per_key test "$dup" -eq 0 -a "$keys" -gt 100 -a "$rows" -eq 0
	else
		check race_pg_naive_fails test "$rc" -eq 1 -a "$verdict" = fail
		check race_pg_naive_duplicates_found test "$dup" -gt 0 -a "$dup" -eq "$rows"
	fi
	check "race_pg_${db}_none_missing" test "$missing" -eq 0
	check "race_pg_${db}_exec_agrees" test "${edup:--1}" -eq "$dup"
done
