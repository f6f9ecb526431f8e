#!/usr/bin/env python3
"""Send hand-made Ethernet frames on a device (AF_PACKET), for the parser
tests (t_drop_parse.sh): VLAN tags in the frame, IPv4 with any IHL, IPv6 with
a chain of extension headers. The frames carry UDP; checksums are not
computed beyond the IPv4 header's (the receiver may discard them, the BPF
program under test has seen them by then).

  rawframe.py --dev D --dst-mac M [--vlan 8100:5 ...] --ip4 S D [--ihl N]
              [--sport P] --dport P [--count N] [--pps N]
  rawframe.py ... --ip6 S D [--ext hop,dst,rt,ah,frag0,frag8,...]
  rawframe.py --tun D ...    the IP packet alone, written into tun device D
                             (received on D: a raw-IP device, no link header)
  rawframe.py --batch FILE   one run per line of FILE (its arguments)
"""
import argparse
import shlex
import errno
import fcntl
import ipaddress
import os
import socket
import struct
import sys
import time

NEXT = {"hop": 0, "rt": 43, "frag0": 44, "frag8": 44, "ah": 51, "dst": 60}
UDP = 17


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def csum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ext_header(kind, nexthdr):
    """One extension header of the smallest legal size, next header nexthdr."""
    if kind in ("hop", "dst"):  # 8 bytes: PadN option of 4 bytes
        return struct.pack("!BBBB4x", nexthdr, 0, 1, 4)
    if kind == "rt":  # type 253 (experimental), segments left 0: 8 bytes
        return struct.pack("!BBBB4x", nexthdr, 0, 253, 0)
    if kind in ("frag0", "frag8"):  # offset 0 with more fragments, or offset 8 (bytes 64)
        off = 0 if kind == "frag0" else 8
        return struct.pack("!BBHI", nexthdr, 0, (off << 3) | 1, 0x1234)
    if kind == "ah":  # payload length 4: 12 fixed bytes + 12 of ICV = 24
        return struct.pack("!BBHII12x", nexthdr, 4, 0, 0x100, 1)
    raise SystemExit("rawframe: unknown extension header '%s'" % kind)


def pace(i, start, pps):
    if pps and i % 100 == 0:
        ahead = start + i / pps - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


def send_tun(dev, packet, count, pps):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    # TUNSETIFF: attach to the (persistent) device, IFF_TUN | IFF_NO_PI
    fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", dev.encode(), 0x0001 | 0x1000))
    start = time.monotonic()
    for i in range(count):
        pace(i, start, pps)
        os.write(fd, packet)
    os.close(fd)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev")
    ap.add_argument("--dst-mac")
    ap.add_argument("--tun")
    ap.add_argument("--vlan", action="append", default=[], help="TPID:VID, outer first")
    ap.add_argument("--ip4", nargs=2, metavar=("SRC", "DST"))
    ap.add_argument("--ip6", nargs=2, metavar=("SRC", "DST"))
    ap.add_argument("--ihl", type=int, default=5)
    ap.add_argument("--frag-off", type=int, default=0, help="IPv4 fragment offset, 8-byte units")
    ap.add_argument("--ext", default="")
    ap.add_argument("--sport", type=int, default=40000)
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--pps", type=int, default=0, help="frames per second, 0: as fast as it can")
    a = ap.parse_args(argv)
    if bool(a.ip4) == bool(a.ip6):
        raise SystemExit("rawframe: give one of --ip4 and --ip6")

    payload = b"faultline parser test\0\0\0"
    udp = struct.pack("!HHHH", a.sport, a.dport, 8 + len(payload), 0) + payload
    if a.ip4:
        if not 0 <= a.ihl <= 15:
            raise SystemExit("rawframe: --ihl is 0..15")
        opts = b"\x01" * max(0, a.ihl * 4 - 20)  # NOP options
        hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | a.ihl, 0, 20 + len(opts) + len(udp), 1,
                          a.frag_off & 0x1FFF,
                          64, UDP, 0, ipaddress.IPv4Address(a.ip4[0]).packed,
                          ipaddress.IPv4Address(a.ip4[1]).packed)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr + opts)) + hdr[12:]
        l3, ethertype = hdr + opts + udp, 0x0800
    else:
        kinds = [k for k in a.ext.split(",") if k]
        body = udp
        nh = UDP
        for k in reversed(kinds):
            if k not in NEXT:
                raise SystemExit("rawframe: unknown extension header '%s'" % k)
            body = ext_header(k, nh) + body
            nh = NEXT[k]
        hdr = struct.pack("!IHBB16s16s", 6 << 28, len(body), nh, 64,
                          ipaddress.IPv6Address(a.ip6[0]).packed,
                          ipaddress.IPv6Address(a.ip6[1]).packed)
        l3, ethertype = hdr + body, 0x86DD

    if a.tun:
        return send_tun(a.tun, l3, a.count, a.pps)
    if not a.dev or not a.dst_mac:
        raise SystemExit("rawframe: give --dev and --dst-mac, or --tun")
    with open("/sys/class/net/%s/address" % a.dev) as f:
        src_mac = mac(f.read().strip())
    tags = b""
    for v in a.vlan:
        tpid, vid = v.split(":")
        tags += struct.pack("!HH", int(tpid, 16), int(vid))
    outer = int(a.vlan[0].split(":")[0], 16) if a.vlan else ethertype
    frame = mac(a.dst_mac) + src_mac + tags + struct.pack("!H", ethertype) + l3
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    # The frame's outer EtherType as skb->protocol, as the stack would set it.
    start = time.monotonic()
    for i in range(a.count):
        pace(i, start, a.pps)
        try:
            s.sendto(frame, (a.dev, outer))
        except OSError as e:  # a filter on the way out dropped it: the point of the test
            if e.errno != errno.ENOBUFS:
                raise
    return 0


def batch(path):
    """--batch FILE: each line of FILE is one run's arguments, in order (one
    interpreter start for many frames: it costs seconds under emulation)."""
    for line in open(path):
        if line.strip():
            rc = main(shlex.split(line))
            if rc:
                return rc
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--batch":
        sys.exit(batch(sys.argv[2]))
    sys.exit(main())
