#!/usr/bin/env bash
# Bad scenario files: each is refused before anything runs, with exit 2 and
# one line that names the field and says what is wrong.
. "$(dirname "$0")/../lib.sh"
need_root bad_scenarios

dir=$(mktemp -d /tmp/fl-badsc.XXXXXX)
at_exit "rm -rf $dir"
export SERVICE_URL=http://127.0.0.1:9/ SERVICE_NETNS="" SERVICE_DEV=lo SERVICE_PORT=9 RECEIPTS=ndjson:/dev/null
good='{"target":{"url":"${SERVICE_URL}"},"load":{"duration":"5s","rate":10},"phases":["steady"],
 "faults":[{"at":"1s","until":"2s","fault":{"kind":"drop","target":{"dev":"${SERVICE_DEV}","dport":"${SERVICE_PORT}"}}}],
 "receipts":"${RECEIPTS}","objectives":{"latency":[{"phase":"steady","percentile":99,"max_ms":100}]}}'

# case NAME EXPECTED-WORDS JQ-LIKE-PYTHON-EDIT
bad() {
	local name=$1 expect=$2 edit=$3 f=$dir/$1.json out rc
	python3 -c "
import json, sys
s = json.loads(sys.argv[1])
$edit
json.dump(s, open(sys.argv[2], 'w'))" "$good" "$f"
	out=$("$FL_BIN/agentctl" --socket "$dir/none.sock" run "$f" --out "$dir/out-$name" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && grep -qF -- "$expect" <<<"$out"; then
		pass "bad_scenario_$name"
	else
		fail "bad_scenario_$name" "(exit $rc: $out)"
	fi
}

bad unknown_field "scenario: unknown field 'targett'" "s['targett'] = s.pop('target')"
bad unknown_nested_field "load: unknown field 'rps'" "s['load']['rps'] = 5"
bad wrong_type "load.rate: must be a positive number" "s['load']['rate'] = 'fast'"
bad wrong_type_fault "faults[0].fault.target.dport" "s['faults'][0]['fault']['target']['dport'] = [1]"
bad fault_ends_before_start "faults[0].until: the fault ends before it starts" "s['faults'][0]['until'] = '500ms'"
bad fault_after_load "faults[0].at: starts after the load ends" "s['faults'][0]['at'] = '9s'; s['faults'][0]['until'] = '10s'"
bad objective_unknown_phase "objectives.latency[0].phase" "s['objectives']['latency'][0]['phase'] = 'ramp'"
bad objective_wrong_type "objectives.missing_max" "s['objectives']['missing_max'] = 'none'"
bad unset_variable "\${NOPE_NOT_SET} is not set" "s['target']['url'] = '\${NOPE_NOT_SET}'"
bad missing_receipts "scenario.receipts: missing" "del s['receipts']"
bad effects_unknown_field "faults[0].effects: unknown field 'status'" "s['faults'][0]['effects'] = {'status': [504]}"
bad effects_bad_status "faults[0].effects.statuses[0]: must be an HTTP status" "s['faults'][0]['effects'] = {'statuses': [1000]}"
bad effects_bad_error "faults[0].effects.errors[0]: must be one of timeout" "s['faults'][0]['effects'] = {'errors': ['slow']}"
bad effects_empty "faults[0].effects: declares nothing" "s['faults'][0]['effects'] = {'grace': '1s'}"
bad effects_bad_grace "faults[0].effects.grace" "s['faults'][0]['effects'] = {'errors': ['timeout'], 'grace': 'soon'}"
echo '{"target": ' >"$dir/not_json.json"
out=$("$FL_BIN/agentctl" run "$dir/not_json.json" 2>&1)
rc=$?
check bad_scenario_not_json_exit test $rc -eq 2
check bad_scenario_nothing_started test -z "$(ls -d "$dir"/out-* 2>/dev/null)"
