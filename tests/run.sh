#!/usr/bin/env bash
# Runs every test and ends with one line: "N passed, N failed[, N skipped]".
#   unit:        $FL_BIN/test_*          (cmocka binaries, built by `make tests`)
#   integration: tests/*/t_*.sh          (each prints PASS/FAIL/SKIP lines, see tests/lib.sh)
#   fuzz:        $FL_FUZZ/fuzz_*         (libFuzzer, bounded by FL_FUZZ_SECONDS)
# FL_ONLY=REGEX runs only the tests whose path matches.
set -u
cd "$(dirname "$0")/.."
: "${FL_BIN:?FL_BIN must name the folder of the built binaries}"
FL_FUZZ=${FL_FUZZ:-build/fuzz}
FL_FUZZ_SECONDS=${FL_FUZZ_SECONDS:-20}
export FL_BIN FL_FUZZ
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
failed=()
only=${FL_ONLY:-.}
log=$(mktemp -d /tmp/faultline-test.XXXXXX)

count() { # name status detail
	case $2 in
	PASS) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)); failed+=("$1${3:+: $3}") ;;
	esac
}

for t in "$FL_BIN"/test_*; do
	[ -x "$t" ] || continue
	[[ $t =~ $only ]] || continue
	name=$(basename "$t")
	out="$log/$name.log"
	timeout 300 "$t" >"$out" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	pass=$((pass + ${p:-0}))
	if [ -n "$f" ] && [ "$f" -gt 0 ]; then
		fail=$((fail + f))
		failed+=("$name: $(grep '^\[  FAILED  \] [a-z_]' "$out" | sed 's/.*\] //' | tr '\n' ' ')")
	elif [ $rc -ne 0 ] || [ -z "$p" ]; then
		count "$name" FAIL "exit $rc, see $out"
	fi
	echo "unit   $name: ${p:-0} passed${f:+, $f failed}"
done

for t in tests/*/t_*.sh; do
	[ -f "$t" ] || continue
	[[ $t =~ $only ]] || continue
	out="$log/$(basename "$t" .sh).log"
	timeout "${FL_TEST_TIMEOUT:-600}" bash "$t" >"$out" 2>&1
	rc=$?
	n=0
	while read -r status name detail; do
		count "$name" "$status" "$detail"
		n=$((n + 1))
		echo "$status $name${detail:+ $detail}"
	done < <(grep -E '^(PASS|FAIL|SKIP) ' "$out")
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
		count "$t" FAIL "exit $rc, see $out"
		echo "FAIL $t exit $rc"
	elif [ $n -eq 0 ]; then
		count "$t" FAIL "reported nothing, see $out"
	fi
done

if [ -d "$FL_FUZZ" ]; then
	for f in "$FL_FUZZ"/fuzz_*; do
		[ -x "$f" ] || continue
		[[ $f =~ $only ]] || continue
		name=$(basename "$f")
		corpus="$log/$name.corpus"
		mkdir -p "$corpus"
		seeds=tests/fuzz/corpus/${name#fuzz_}
		if timeout $((FL_FUZZ_SECONDS + 60)) "$f" -max_total_time="$FL_FUZZ_SECONDS" -rss_limit_mb=1024 -print_final_stats=1 \
			"$corpus" $([ -d "$seeds" ] && echo "$seeds") >"$log/$name.log" 2>&1; then
			count "$name" PASS
			echo "PASS $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$log/$name.log" | awk '{print $2}') runs)"
		else
			count "$name" FAIL "crash, see $log/$name.log"
			echo "FAIL $name"
		fi
	done
fi

for f in "${failed[@]}"; do echo "failed: $f"; done
echo "logs in $log"
if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
