#!/usr/bin/env python3
"""The usual approach to reconciliation, for the benchmark: read the whole
ledger into a set of request ids, count the access log's ids with a
Counter, and take set differences. Same files and same definitions as
`agentctl reconcile` (missing = sent, never received; ghosts = received,
never sent; duplicates = received more than once).

    reconcile_py.py LEDGER nginx:ACCESS_LOG

Prints the counts as JSON (one line).
"""
import collections
import gzip
import json
import struct
import sys

HDR = 304
# struct fl_ledger_rec: 88 bytes, 96 with the socket cookie at the end
# (version 1), 136 with the connection's addresses (version 2)
REC_FMT = {88: "<QQQQQQQIIIIiHHHBBI", 96: "<QQQQQQQIIIIiHHHBBIQ",
           136: "<QQQQQQQIIIIiHHHBBIQ16s16sHB5x"}
UNSENT = 9


def main():
    if len(sys.argv) != 3 or not sys.argv[2].startswith("nginx:"):
        sys.exit("usage: reconcile_py.py LEDGER nginx:ACCESS_LOG")
    sent = set()
    unsent = set()
    with gzip.open(sys.argv[1], "rb") as f:
        hdr = f.read(HDR)
        rec_size = struct.unpack_from("<I", hdr, 16)[0]
        if hdr[:8] != b"FLLEDGER" or rec_size not in REC_FMT:
            sys.exit("not a ledger (or another version): " + sys.argv[1])
        REC = struct.Struct(REC_FMT[rec_size])
        while True:
            buf = f.read(REC.size * 65536)
            if not buf:
                break
            for r in REC.iter_unpack(buf):
                rid = "%016x-%d-%d" % (r[0], r[7], r[1])
                (unsent if r[15] == UNSENT else sent).add(rid)
    seen = collections.Counter()
    with open(sys.argv[2][6:], "r") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] != "-":
                seen[parts[1]] += 1
    received = set(seen)
    out = {
        "requests": len(sent) + len(unsent),
        "missing": len(sent - received),
        "ghosts": len(received - sent),
        "duplicates": sum(1 for k, n in seen.items() if n > 1 and k in sent),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
