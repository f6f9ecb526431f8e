#!/usr/bin/env bash
# Boot Debian's 6.1 kernel under qemu (software emulation) with the host's /
# shared read-only, run a suite of the agent's tests inside, and leave the
# results in build/matrix/results/SUITE (commas as +; doctor.json, doctor.txt, one
# .log per test, results.txt with one PASS/FAIL/SKIP line per check).
#   tools/matrix/run.sh [smoke|full|t_NAME|tests=t_a,t_b]   (t_NAME: tests/agent/t_NAME.sh alone)
#   MATRIX_TIMEOUT: seconds before the guest is killed (default 1500)
#   MATRIX_LOGLEVEL: the guest console's log level (default 4; 7 shows the
#   kernel's stacks of a lockup or oops)
#   MATRIX_CPU: the guest's CPU model (default Haswell-noTSX; with "max",
#   the guest hung in 2 of 3 full runs on 2026-12-02, both vCPUs spinning
#   in the kernel as agentd started; tests took 0-40% less time there)
#   MATRIX_BIN: the build the guest runs (default build/bin, not sanitized:
#   ASan under software emulation is slow)
# Exit 0 when the guest ran the suite to its end (the results say what
# passed), 1 when it could not, 2 when qemu or the kernel cannot be had.
# The guest, its sockets and its files are gone when this returns, also on
# failure or interrupt: the guest has no disk image (its writes go to a
# tmpfs overlay in its own memory) and no network device.
set -uo pipefail
suite=${1:-full}
tree=$(cd "$(dirname "$0")/../.." && pwd)
cache=$tree/build/matrix/cache
# qemu's options take a comma as their separator: tests=t_a,t_b's results
# go in tests=t_a+t_b.
out=$tree/build/matrix/results/${suite//,/+}
timeout=${MATRIX_TIMEOUT:-1500}
bin=$(cd "${MATRIX_BIN:-$tree/build/bin}" 2>/dev/null && pwd)
cpu=${MATRIX_CPU:-Haswell-noTSX}
command -v qemu-system-x86_64 >/dev/null || { echo "matrix: no qemu-system-x86_64 (make deps)"; exit 2; }
[ -x "$bin/agentd" ] || { echo "matrix: no agentd in ${MATRIX_BIN:-build/bin} (make -j2 first)"; exit 1; }
rel=$("$tree/tools/matrix/kernel.sh" "$cache") || { echo "matrix: cannot have the 6.1 kernel"; exit 2; }

rm -rf "$out"
mkdir -p "$out"
qpid=
cleanup() {
	[ -n "$qpid" ] && kill -KILL "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	qpid=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# This machine's probe, for the report's column beside the guest's.
(
	. "$tree/tests/lib.sh"
	FL_BIN=$bin
	start_agentd >/dev/null 2>&1 && ctl doctor --json >"$out/host-doctor.json"
) 2>/dev/null

t0=$(date +%s)
# No -nic: the guest has no network; its console is a file, its control
# the kernel command line, its results the "results" 9p share.
qemu-system-x86_64 -machine q35 -accel tcg,thread=multi -cpu "$cpu" -smp 2 -m 3072 \
	-nographic -no-reboot -nic none -monitor none -serial "file:$out/console.log" \
	-kernel "$cache/k/boot/vmlinuz-$rel" -initrd "$cache/initramfs-$rel.cpio.gz" \
	-append "console=ttyS0 panic=-1 loglevel=${MATRIX_LOGLEVEL:-4} fl.tree=$tree fl.bin=$bin fl.suite=$suite" \
	-fsdev local,id=host,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=host,mount_tag=host \
	-fsdev local,id=results,path="$out",security_model=none \
	-device virtio-9p-pci,fsdev=results,mount_tag=results \
	</dev/null >"$out/qemu.log" 2>&1 &
qpid=$!
# The guest powers itself off at the end; kill it past the time limit.
for ((i = 0; i < timeout; i++)); do
	kill -0 "$qpid" 2>/dev/null || break
	sleep 1
done
if kill -0 "$qpid" 2>/dev/null; then
	echo "matrix: the guest ran past ${timeout} s; killed (see $out/console.log, $out/guest.log)"
	exit 1
fi
wait "$qpid"
qpid=
total=$(($(date +%s) - t0))
echo "matrix: $suite on $rel: $total s, results in $out"
grep -E '^guest:' "$out/guest.log" 2>/dev/null
grep -q '^guest: done' "$out/guest.log" 2>/dev/null || { echo "matrix: the guest did not finish (see $out/console.log)"; tail -20 "$out/console.log"; exit 1; }
# Guest uptime when its tests began and ended: boot, and the suite's time.
awk -v total="$total" '
	/^guest: mounted at/ { m = $4 } /^guest: done at/ { d = $4 }
	END { printf "boot %d\nsuite %d\ntotal %d\n", m, d - m, total }' "$out/guest.log" >"$out/timing.txt"
echo "cpu $cpu" >>"$out/timing.txt"
