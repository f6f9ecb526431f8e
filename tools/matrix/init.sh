#!/bin/busybox sh
# The matrix guest's first process (in its initramfs): mount the host's /
# (shared read-only over virtio-9p) under a tmpfs overlay, the results
# share, and hand over to tools/matrix/guest.sh in the shared tree.
# Kernel command line: fl.tree=WORKTREE fl.suite=smoke|full
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
die() { echo "matrix-init: $*"; dmesg | tail -5; echo o >/proc/sysrq-trigger; sleep 10; }
for m in $(cat /mods/order); do insmod "/mods/$m.ko" || die "insmod $m failed"; done
tree=$(sed -n 's/.*fl\.tree=\([^ ]*\).*/\1/p' /proc/cmdline)
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$o,ro,cache=loose" host /lower || die "cannot mount the host's / (9p tag host)"
mount -t tmpfs -o size=2g tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot ||
	die "cannot mount the overlay"
mkdir -p /newroot/fl-results
mount -t 9p -o "$o" results /newroot/fl-results || die "cannot mount the results share"
umount /proc /sys /dev 2>/dev/null
exec switch_root /newroot /bin/bash "$tree/tools/matrix/guest.sh"
