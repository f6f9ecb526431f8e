#!/usr/bin/env python3
"""Time the agent's answer to N list requests, each on a new connection to
the control socket (connect, send, whole reply): prints the worst in ms, or
"error WHY". Usage: ctl_rtt.py SOCKET N"""
import json, socket, sys, time

path, n = sys.argv[1], int(sys.argv[2])
worst = 0.0
for _ in range(n):
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        s.sendall(b'{"cmd":"list"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(65536)
            if not d:
                break
            buf += d
        reply = json.loads(buf)
    except (OSError, ValueError) as e:
        print("error %s" % e)
        sys.exit(1)
    finally:
        s.close()
    if not reply.get("ok"):
        print("error %s" % reply.get("error"))
        sys.exit(1)
    worst = max(worst, (time.monotonic() - t0) * 1000)
print("%.0f" % worst)
