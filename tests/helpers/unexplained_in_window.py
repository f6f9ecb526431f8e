#!/usr/bin/env python3
"""An outage behind the agent's back (iptables) left exactly its own failures
unexplained: REPORT (report.json) LEDGER (loadgen --dump-ledger) START END
(wall ns of the outage) UPSTREAM (addr:port). Every unexplained failure was
scheduled in the outage, give or take the API's timeouts (1.5 s before, 0.5 s
after), and names UPSTREAM; at least 20; the list is the whole count."""
import json
import sys

r = json.load(open(sys.argv[1]))
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if not l.startswith("#")]
when = {x[0]: int(x[2]) for x in rows}
lo, hi, up = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
u = r["unexplained"]
out = [f["id"] for f in u if not (lo - 1.5e9 <= when[f["id"]] <= hi + 0.5e9)]
noup = [f["id"] for f in u if "upstream " + up not in f["service"]]
print("unexplained", r["counts"]["unexplained"], "listed", len(u), "outside the outage", len(out),
      "naming another upstream or none", len(noup))
ok = len(u) >= 20 and len(u) == r["counts"]["unexplained"] and not out and not noup
sys.exit(0 if ok else 1)
