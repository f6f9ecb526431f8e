#!/usr/bin/env bash
# agentd mounts bpffs and tracefs where they are missing, and leaves them
# mounted when it stops: others may use them by then. Runs in a private
# mount namespace, so the host's mounts are never touched.
. "$(dirname "$0")/../lib.sh"
need_root agentd_mounts
command -v unshare >/dev/null || { skip agentd_mounts "(no unshare)"; exit 0; }
dir=$(mktemp -d /tmp/fl-run.XXXXXX)
at_exit "rm -rf $dir"
out=$(unshare -m --propagation private bash -c '
	umount -l /sys/fs/bpf 2>/dev/null; umount -l /sys/kernel/tracing 2>/dev/null
	echo "before bpf=$(stat -f -c %T /sys/fs/bpf) tracing=$(stat -f -c %T /sys/kernel/tracing)"
	"$1/agentd" --socket "$2/agent.sock" --state-dir "$2" --metrics-port 0 >"$2/agentd.log" 2>&1 &
	pid=$!
	for i in $(seq 100); do "$1/agentctl" --socket "$2/agent.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
	kill -TERM $pid; wait $pid
	echo "rc=$?"
	echo "after bpf=$(stat -f -c %T /sys/fs/bpf) tracing=$(stat -f -c %T /sys/kernel/tracing)"
' _ "$FL_BIN" "$dir")
echo "$out" | sed 's/^/# /'
if grep -q 'before bpf=bpf_fs' <<<"$out"; then
	skip agentd_mounts_left "(bpffs could not be unmounted in a private namespace)"
else
	check agentd_mounts_agent_stopped grep -q '^rc=0$' <<<"$out"
	check agentd_mounts_logged grep -q 'mounted bpf on /sys/fs/bpf' "$dir/agentd.log"
	check agentd_mounts_bpffs_left grep -q 'after bpf=bpf_fs' <<<"$out"
	check agentd_mounts_tracefs_left grep -q 'after .*tracing=tracefs' <<<"$out"
fi
