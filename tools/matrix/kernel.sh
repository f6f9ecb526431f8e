#!/usr/bin/env bash
# Fetch Debian's own 6.1 kernel (the package linux-image-amd64 depends on),
# unpack it and build a small initramfs for it, all under build/matrix/cache;
# a second run reuses them. Prints the cache folder's kernel release on
# success. Needs apt-get (Debian's package registry) and busybox-static.
#   tools/matrix/kernel.sh CACHE_DIR
set -euo pipefail
cache=$1
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
cd "$cache"

deb=$(ls linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$deb" ]; then
	# The metapackage names the current ABI's package: download that one only.
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1)
	[ -n "$pkg" ] || { echo "matrix: apt-cache names no linux-image-6.1.0-*-amd64 (apt-get update?)" >&2; exit 1; }
	# apt's _apt user cannot write here: download as root, without the sandbox warning mattering.
	apt-get download -q "$pkg" >download.log 2>&1 || { cat download.log >&2; exit 1; }
	deb=$(ls linux-image-6.1.0-*-amd64_*.deb | sort -V | tail -1)
fi
rel=$(dpkg-deb -f "$deb" Package | sed 's/^linux-image-//')
if [ ! -f "k/boot/vmlinuz-$rel" ] || [ ! -f "k/lib/modules/$rel/modules.dep" ]; then
	rm -rf k
	dpkg-deb -x "$deb" k
	# The package's postinst runs depmod; busybox's does the same job here.
	busybox depmod -b k "$rel"
fi

initrd=initramfs-$rel.cpio.gz
if [ ! -f "$initrd" ] || [ "$here/init.sh" -nt "$initrd" ]; then
	root=$(mktemp -d "$cache/initramfs.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root"/{bin,dev,proc,sys,lower,upper,newroot,mods}
	cp "$(command -v busybox)" "$root/bin/busybox"
	! ldd "$root/bin/busybox" >/dev/null 2>&1 || { echo "matrix: busybox is not static (install busybox-static)" >&2; exit 1; }
	# What it takes to mount the host's / over virtio-9p with a tmpfs overlay,
	# in load order.
	for m in drivers/virtio/virtio_ring drivers/virtio/virtio \
		drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev \
		drivers/virtio/virtio_pci fs/netfs/netfs fs/fscache/fscache net/9p/9pnet \
		net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
		cp "k/lib/modules/$rel/kernel/$m.ko" "$root/mods/"
		basename "$m" >>"$root/mods/order"
	done
	install -m 755 "$here/init.sh" "$root/init"
	(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
fi
echo "$rel"
