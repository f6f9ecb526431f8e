#!/usr/bin/env bash
# Bad input: a clear one-line error on stderr and exit 2, before any load.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"
echo '{"requests":[{"weight":0,"path":"/"},{"weight":0,"path":"/x"}]}' >"$LG_TMP/zero.json"
echo '{"requests":[' >"$LG_TMP/broken.json"
u=http://127.0.0.1:9/

# bad NAME EXPECTED_WORDS ARGS...
bad() {
	local name=$1 words=$2 rc; shift 2
	timeout 10 "$LG" "$@" >"$LG_TMP/$name.out" 2>"$LG_TMP/$name.err"
	rc=$?
	if [ $rc -ne 2 ]; then fail "badinput_$name" "(exit $rc, want 2)"; return; fi
	if [ "$(wc -l <"$LG_TMP/$name.err")" -ne 1 ]; then fail "badinput_$name" "(not one line: $(cat "$LG_TMP/$name.err"))"; return; fi
	if ! grep -q "^loadgen: .*$words" "$LG_TMP/$name.err"; then fail "badinput_$name" "($(cat "$LG_TMP/$name.err"))"; return; fi
	if [ -s "$LG_TMP/$name.out" ]; then fail "badinput_$name" "(wrote to stdout)"; return; fi
	pass "badinput_$name"
}

bad url_scheme "must start with http://" ftp://x/
bad url_port "bad port" http://127.0.0.1:99999/
bad url_host "no host" http:///path
bad no_url "no URL"
bad two_urls "one URL only" $u $u
bad profile_unknown "unknown profile 'zigzag'" $u --profile zigzag
bad profile_key "unknown key" $u --profile spike:base=10,wobble=3
bad rate_negative "bad --rate '-5'" $u --rate -5
bad rate_zero "bad --rate" $u --rate 0
bad rate_garbage "bad --rate" $u --rate 10x
bad mix_unreadable "cannot read mix file" $u --mix "$LG_TMP/nonexistent.json"
bad mix_broken "mix file .*broken.json" $u --mix "$LG_TMP/broken.json"
bad mix_zero_weights "weights sum to 0" $u --mix "$LG_TMP/zero.json"
bad conns_zero "bad -c" $u -c 0
bad duration "bad --duration" $u --duration 10parsecs
bad timeout "bad --timeout" $u --timeout -1s
bad slo "unknown metric" $u --slo 'latency<1s'
bad slo_value "bad duration" $u --slo 'p99<fast'
bad rate_and_users "exclude each other" $u --rate 10 --users 2
bad think_no_users "needs --users" $u --think 1s
bad engine "bad --engine" $u --engine turbo
bad https_fast "use --engine curl" https://127.0.0.1/ --engine fast
bad threads "more threads than connections" $u -c 2 -t 4
bad header "bad header" $u -H NoColon
bad stress_no_slo "give --slo" $u --profile stress:from=10
bad body "cannot read body file" $u --body "$LG_TMP/nope"
bad unknown_host "cannot resolve" http://no-such-host.invalid/
(ulimit -n 256; bad fd_limit "1000 connections need 1064 open files, the hard limit is 256" $u -c 1000)
# an explicit pool ceiling is held to the limit too; the default one shrinks to fit
(ulimit -n 256; bad fd_limit_max "2000 connections need 2064 open files, the hard limit is 256" $u --rate 10 --max-connections 2000)
bad max_below_c "below -c 64" $u --rate 10 -c 64 --max-connections 32
bad max_closed "ceiling of the open model" $u --max-connections 64
bad max_wrk2 "--model wrk2 keeps the -c" $u --rate 10 --model wrk2 --max-connections 64
bad model_name "bad --model 'wrk'" $u --rate 10 --model wrk
bad model_closed "give --rate or --profile" $u --model wrk2
# the default ceiling (1024) shrinks to what the descriptor limit allows
(ulimit -n 256; timeout 10 "$LG" $u --rate 10 --duration 300ms --json "$LG_TMP/fit.json" -q >/dev/null 2>&1)
check badinput_default_max_fits [ "$(jget "$LG_TMP/fit.json" max_connections)" -eq 192 ]
bad json_path "cannot write JSON summary" $u --json /nonexistent/dir/x.json
bad ledger_path "cannot create ledger" $u --ledger /nonexistent/dir/x.ledger --duration 1s
bad interval_path "cannot create interval log" $u --interval-log /nonexistent/dir/x.jsonl --duration 1s
