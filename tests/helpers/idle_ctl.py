#!/usr/bin/env python3
"""Hold N connections to the control socket: first ACTIVE seconds sending a
space on each every 0.05 s, well inside the agent's 1 s on a busy machine
too (prints "active" once all are connected), then silent (prints
"silent") for SILENT seconds. Usage: idle_ctl.py SOCKET N ACTIVE SILENT"""
import socket, sys, time

path, n, active, silent = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.send(b" ")  # active from the start: the agent may not let it go
    socks.append(s)
for s in socks:
    s.send(b" ")
print("active", flush=True)
end = time.monotonic() + active
while time.monotonic() < end:
    for s in socks:
        s.send(b" ")
    time.sleep(0.05)
print("silent", flush=True)
time.sleep(silent)
