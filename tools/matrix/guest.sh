#!/bin/bash
# The matrix guest's PID 1, after tools/matrix/init.sh: mount what a Debian
# system would, load the kernel package's modules on demand, run the suite
# (smoke or full: tools/matrix/suite.sh) with the host's build (fl.bin on
# the kernel command line), write each result to /fl-results (the host's
# build/matrix/results/RUN), and power off. Nothing here survives the guest:
# every write outside /fl-results lands in the tmpfs overlay.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
tree=$(sed -n 's/.*fl\.tree=\([^ ]*\).*/\1/p' /proc/cmdline)
suite=$(sed -n 's/.*fl\.suite=\([^ ]*\).*/\1/p' /proc/cmdline)
export FL_BIN=$(sed -n 's/.*fl\.bin=\([^ ]*\).*/\1/p' /proc/cmdline)
R=/fl-results
off() { sync; echo o >/proc/sysrq-trigger; sleep 30; }
trap off EXIT
exec >"$R/guest.log" 2>&1
echo "guest: up at $(cut -d' ' -f1 /proc/uptime) s of uptime, kernel $(uname -r)"
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# What udev makes on a Debian system: bash's <(...) needs /dev/fd.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# The tree and the build may be under /tmp (a CI clone): keep them in
# view across the guest's own /tmp.
keep=()
for d in "$tree" "$FL_BIN"; do
	case $d in /tmp/*)
		mkdir -p "/fl-keep${#keep[@]}"
		mount --bind "$d" "/fl-keep${#keep[@]}"
		keep+=("$d")
		;;
	esac
done
mount -t tmpfs tmpfs /tmp
for i in "${!keep[@]}"; do
	mkdir -p "${keep[$i]}"
	mount --bind "/fl-keep$i" "${keep[$i]}"
done
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# As systemd does on Debian: the controllers enabled for child cgroups (the
# cpu faults write cpu.max in a child; without this it has none).
echo "+cpu +memory +pids +io" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t securityfs securityfs /sys/kernel/security
rel=$(uname -r)
mkdir -p "/lib/modules/$rel"
mount --bind "$tree/build/matrix/cache/k/lib/modules/$rel" "/lib/modules/$rel"
# The host has no kmod: busybox's modprobe loads what the kernel asks for
# (sch_fq, cls_bpf, veth...) from the kernel package's own modules.
ln -sf "$(command -v busybox)" /usr/sbin/modprobe
echo /usr/sbin/modprobe >/proc/sys/kernel/modprobe
# Load up front what the probe and the tests ask for. Loading on demand
# works too, but each load reads the module over 9p under emulation, and
# the probe's network child, which asks for most of them, has 10 s in all:
# the first probe of the first full run read "no answer" for every network
# fact that way.
for m in veth ifb bridge sch_ingress cls_bpf act_bpf sch_fq sch_netem sch_htb sch_prio \
	sch_fq_codel nf_tables nft_compat nfnetlink_queue xt_NFQUEUE xt_bpf xt_comment \
	xt_mark xt_multiport iptable_mangle ip6table_mangle iptable_filter ip6table_filter; do
	modprobe "$m" 2>/dev/null || echo "guest: no module $m"
done
echo "guest: modules loaded at $(cut -d' ' -f1 /proc/uptime) s"
ip link set lo up
hostname faultline-matrix
echo "guest: mounted at $(cut -d' ' -f1 /proc/uptime) s"
cd "$tree" || exit 1
bash tools/matrix/suite.sh "$suite" "$R"
echo "guest: done at $(cut -d' ' -f1 /proc/uptime) s"
