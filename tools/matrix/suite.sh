#!/bin/bash
# Inside the matrix guest, from the shared tree: the probe (doctor.json,
# doctor.txt), then each test of the suite with the host's build ($FL_BIN):
# one log per test and results.txt (PASS/FAIL/SKIP lines, then
# "TIME test seconds" lines).
#   suite.sh smoke|full|t_NAME|tests=t_a,t_b RESULTS_DIR
suite=$1 R=$2
: "${FL_BIN:?}"
export FL_TEST_TIMEOUT=${FL_TEST_TIMEOUT:-300}
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
smoke=(tests/agent/t_drop_crash.sh tests/agent/t_latency_edt.sh tests/agent/t_latency_netem.sh)
# The kernel tests, the backends this kernel has and ours lacks first: what
# loads a program or touches the network or cgroups, with tracing after
# the backends; last the long ones whose timing bounds TCG's slowness
# breaks (the NFQUEUE backend's delays, which 6.1 does not choose) and the
# slot-refill flood (four minutes here). The suite stops
# starting tests once MATRIX_BUDGET seconds (default 1260) have gone, so
# that boot and suite stay within 25 minutes here; what it did not start
# is reported as skipped, with that reason.
full=(tests/agent/t_drop_crash.sh tests/agent/t_latency_edt.sh tests/agent/t_latency_netem.sh
	tests/agent/t_latency_parse.sh tests/agent/t_errno_lsm.sh
	tests/agent/t_drop_chain.sh tests/agent/t_drop_foreign.sh tests/agent/t_drop_crash_netns.sh
	tests/agent/t_trace_requests.sh tests/agent/t_trace.sh tests/agent/t_metrics.sh
	tests/agent/t_errno_cgroup.sh tests/agent/t_errno_seccomp.sh
	tests/agent/t_proc_pause.sh tests/agent/t_proc_cpu.sh tests/agent/t_proc_kill.sh
	tests/agent/t_latency_safety.sh tests/agent/t_drop_ipv6.sh tests/agent/t_drop_tcp.sh
	tests/agent/t_drop_multi.sh tests/agent/t_drop_prob.sh tests/agent/t_drop_loss.sh
	tests/agent/t_drop_ttl.sh tests/agent/t_agentd_mounts.sh
	tests/agent/t_latency.sh tests/agent/t_latency_jitter.sh tests/agent/t_drop_refill.sh)
budget=${MATRIX_BUDGET:-1260}
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
t_*) list=(tests/agent/"$suite".sh) ;; # one test: tools/matrix/run.sh t_proc_cpu
*) list=("${smoke[@]}") ;;
esac
: >"$R/results.txt"
began=$(date +%s)
for t in "${list[@]}"; do
	name=$(basename "$t" .sh)
	t0=$(date +%s)
	left=$((budget - (t0 - began)))
	if [ $left -lt 60 ]; then
		echo "SKIP $name (not started: the matrix's time budget of $budget s is spent) [$name]" >>"$R/results.txt"
		continue
	fi
	timeout "$((left < FL_TEST_TIMEOUT ? left : FL_TEST_TIMEOUT))" bash "$t" >"$R/$name.log" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|SKIP) ' "$R/$name.log" | sed "s|\$| [$name]|" >>"$R/results.txt"
	[ $rc -ne 0 ] && ! grep -q '^FAIL ' "$R/$name.log" && echo "FAIL $name (exit $rc) [$name]" >>"$R/results.txt"
	echo "TIME $name $(($(date +%s) - t0))" >>"$R/results.txt"
	echo "guest: $name exit $rc in $(($(date +%s) - t0)) s"
done
