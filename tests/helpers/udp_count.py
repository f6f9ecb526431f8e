#!/usr/bin/env python3
"""Count UDP datagrams per port until a datagram "end" arrives on the last
port (or a time limit passes), then print "PORT COUNT" lines. Writes "ready"
once every socket is bound. Usage: udp_count.py ADDR TIMEOUT_S PORT..."""
import select, socket, sys

addr, limit, ports = sys.argv[1], float(sys.argv[2]), [int(p) for p in sys.argv[3:]]
socks = {}
for p in ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, p))
    socks[s] = p
counts = {p: 0 for p in ports}
print("ready", flush=True)
done = False
while not done:
    r, _, _ = select.select(list(socks), [], [], limit)
    if not r:
        break
    for s in r:
        data = s.recv(2048)
        if data == b"end" and socks[s] == ports[-1]:
            done = True
        else:
            counts[socks[s]] += 1
for p in ports:
    print(p, counts[p])
print("complete" if done else "timeout")
