#!/usr/bin/env bash
# Install the Debian packages Faultline needs; do nothing when all are present.
set -euo pipefail
PKGS=(
  make gcc clang llvm libclang-rt-14-dev pkg-config
  libbpf-dev bpftool libelf-dev zlib1g-dev libdeflate-dev
  libjansson-dev libcurl4-openssl-dev libcmocka-dev systemtap-sdt-dev
  libmnl-dev libnetfilter-queue-dev libseccomp-dev libmicrohttpd-dev
  iproute2 iptables iputils-ping nginx-light wrk procps python3 bpftrace strace
  chromium libpq-dev postgresql libbpf-tools curl
  qemu-system-x86 busybox-static
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]} (run as root: make deps)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts nginx where systemd runs; the tests start their own.
