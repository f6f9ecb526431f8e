#!/usr/bin/env python3
"""A server that misbehaves in one way, for the loadgen error tests.
usage: badserver.py PORTFILE MODE   (MODE: reset, silent, garbage, eof, close)
Listens on a free loopback port and writes its number to PORTFILE."""
import socket, struct, sys, threading, time

portfile, mode = sys.argv[1], sys.argv[2]
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(512)
with open(portfile + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"

def serve(c):
    try:
        while True:
            data = c.recv(65536)
            if not data:
                return
            if mode == "reset":
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
                return
            if mode == "silent":
                continue
            if mode == "garbage":
                c.sendall(b"HTTP/1.1 2x0 WHAT\r\n\r\n")
                continue
            if mode == "close":
                # no length: the body runs until the server closes
                c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close")
                c.shutdown(socket.SHUT_WR)
                return
            if mode == "eof":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
                c.close()
                return
            c.sendall(OK)
    except OSError:
        pass
    finally:
        try:
            c.close()
        except OSError:
            pass

while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
