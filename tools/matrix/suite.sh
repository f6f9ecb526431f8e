#!/bin/bash
# Inside the matrix guest, from the shared tree: the probe (doctor.json,
# doctor.txt), then each test of the suite with the host's build ($FL_BIN):
# one log per test and results.txt (PASS/FAIL/SKIP lines, then
# "TIME test seconds" lines).
#   suite.sh smoke|full|tests=t_a,t_b RESULTS_DIR
suite=$1 R=$2
: "${FL_BIN:?}"
export FL_TEST_TIMEOUT=${FL_TEST_TIMEOUT:-300}
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
smoke=(tests/agent/t_drop_crash.sh tests/agent/t_latency_edt.sh)
# The kernel tests: everything that loads a program or touches the network
# or cgroups, and whose tools the host's / has (nginx, curl, ping).
full=(tests/agent/t_drop_*.sh tests/agent/t_latency*.sh tests/agent/t_errno_*.sh
	tests/agent/t_proc_*.sh tests/agent/t_trace.sh tests/agent/t_agentd_mounts.sh
	tests/agent/t_metrics.sh)
(
	. tests/lib.sh
	start_agentd
	ctl doctor --json >"$R/doctor.json"
	ctl doctor >"$R/doctor.txt"
)
case $suite in
full) list=("${full[@]}") ;;
tests=*) # tests=t_a,t_b: those of tests/agent, for one backend's work
	IFS=, read -ra names <<<"${suite#tests=}"
	list=()
	for n in "${names[@]}"; do list+=("tests/agent/$n.sh"); done
	;;
*) list=("${smoke[@]}") ;;
esac
: >"$R/results.txt"
for t in "${list[@]}"; do
	name=$(basename "$t" .sh)
	t0=$(date +%s)
	timeout "$FL_TEST_TIMEOUT" bash "$t" >"$R/$name.log" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|SKIP) ' "$R/$name.log" | sed "s|\$| [$name]|" >>"$R/results.txt"
	[ $rc -ne 0 ] && ! grep -q '^FAIL ' "$R/$name.log" && echo "FAIL $name (exit $rc) [$name]" >>"$R/results.txt"
	echo "TIME $name $(($(date +%s) - t0))" >>"$R/results.txt"
	echo "guest: $name exit $rc in $(($(date +%s) - t0)) s"
done
