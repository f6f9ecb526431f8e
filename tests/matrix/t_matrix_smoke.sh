#!/usr/bin/env bash
# The kernel matrix's smoke subset (tools/matrix/, the whole matrix is
# `make matrix`): Debian's own 6.1 kernel boots under qemu (software
# emulation), the agent's probe runs inside and must find what that kernel
# has and ours lacks (fq, kprobes, BPF LSM; no tcx), and doctor must choose
# tc for drops and edt for latency; then t_drop_crash (tc with the heartbeat:
# traffic within 3 s of kill -9), t_latency_edt (EDT under fq) and
# t_latency_netem (netem in a band of our prio root) run in the guest with
# this build ($FL_BIN), and every check of theirs is reported here as
# matrix_CHECK. Skips only where qemu or the kernel package cannot
# be had. The guest leaves nothing: no disk image, no network, killed on
# timeout or interrupt.
. "$(dirname "$0")/../lib.sh"
need_root matrix_smoke

TREE=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TREE/build/matrix/results/smoke
if ! command -v qemu-system-x86_64 >/dev/null; then
	skip matrix_smoke "(no qemu-system-x86_64: make deps installs qemu-system-x86)"
	exit 0
fi
t0=$(date +%s)
MATRIX_BIN=$FL_BIN MATRIX_TIMEOUT=${MATRIX_SMOKE_TIMEOUT:-600} bash "$TREE/tools/matrix/run.sh" smoke
rc=$?
echo "# matrix smoke: $(($(date +%s) - t0)) s"
case $rc in
0) pass matrix_boot ;;
2) skip matrix_smoke "(the 6.1 kernel package or qemu cannot be had here: see above)"; exit 0 ;;
*) fail matrix_boot "(see $OUT/console.log, $OUT/guest.log)"; exit 1 ;;
esac
cat "$OUT/timing.txt" | sed 's/^/# /'

# The probe, as the guest's agent saw it.
fact() { python3 -c "
import json, sys
print(json.load(open(sys.argv[1]))['facts'][sys.argv[2]]['ok'])" "$OUT/doctor.json" "$1"; }
backend() { python3 -c "
import json, sys
print(json.load(open(sys.argv[1]))['backends'][sys.argv[2]]['backend'])" "$OUT/doctor.json" "$1"; }
check matrix_probe_kernel grep -q '"kernel": "6\.1\.' "$OUT/doctor.json"
for f in qdisc_fq qdisc_netem kprobe lsm tc btf; do
	check "matrix_probe_has_$f" test "$(fact $f)" = True
done
check matrix_probe_no_tcx test "$(fact tcx)" = False
check matrix_doctor_drop_tc test "$(backend drop)" = tc
check matrix_doctor_latency_edt test "$(backend latency)" = edt

# The guest's checks, each as one of ours; every test must have run.
for t in t_drop_crash t_latency_edt t_latency_netem; do
	check "matrix_ran_$t" grep -q "^TIME $t " "$OUT/results.txt"
done
while read -r status name detail; do
	detail=${detail% \[*\]}
	case $status in
	PASS) pass "matrix_$name" ;;
	FAIL) fail "matrix_$name" "$detail" ;;
	SKIP) skip "matrix_$name" "$detail" ;;
	esac
done < <(grep -E '^(PASS|FAIL|SKIP) ' "$OUT/results.txt")
# [q]: the pattern must not match this check's own command line.
guest_gone() { ! pgrep -f "[q]emu-system-x86_64 .*fl.tree=$TREE fl.bin=.* fl.suite=smoke" >/dev/null; }
check matrix_guest_gone guest_gone
