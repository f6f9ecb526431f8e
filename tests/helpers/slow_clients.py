#!/usr/bin/env python3
"""Hold N connections to an address and trickle one byte on each every half
second, as a slow or hostile client would; print "ready" once all are
connected (or "connected K" when fewer could be), stop after SECONDS.
Usage: slow_clients.py tcp:HOST:PORT|unix:PATH N SECONDS"""
import socket, sys, time

target, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(n):
    try:
        if target.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(target[5:])
        else:
            _, host, port = target.split(":")
            s = socket.create_connection((host, int(port)), timeout=2)
        s.setblocking(False)
        socks.append(s)
    except OSError:
        break
print("ready" if len(socks) == n else "connected %d" % len(socks), flush=True)
end = time.monotonic() + secs
while time.monotonic() < end:
    for s in socks:
        try:
            s.send(b"G" if target.startswith("tcp:") else b" ")
        except OSError:
            pass
    time.sleep(0.5)
