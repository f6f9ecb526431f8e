#!/usr/bin/env python3
"""docs/kernel-matrix.md from the results of tools/matrix/run.sh.

    report.py RESULTS_DIR [COMMAND] > docs/kernel-matrix.md

RESULTS_DIR holds doctor.json (the guest's probe), host-doctor.json (this
machine's, for the column beside it), results.txt (PASS/FAIL/SKIP lines
tagged [test], TIME lines) and timing.txt (boot and suite seconds).
"""
import json
import os
import re
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    d = sys.argv[1]
    cmd = sys.argv[2] if len(sys.argv) > 2 else "make matrix"
    guest = load(os.path.join(d, "doctor.json"))
    host = load(os.path.join(d, "host-doctor.json"))
    if not guest:
        sys.exit(f"report: no doctor.json in {d}")
    kernels = [("guest", guest)] + ([("host", host)] if host else [])
    timing = {}
    if os.path.exists(os.path.join(d, "timing.txt")):
        for line in open(os.path.join(d, "timing.txt")):
            k, _, v = line.strip().partition(" ")
            timing[k] = v
    checks, times = {}, {}
    for line in open(os.path.join(d, "results.txt")):
        m = re.match(r"^(PASS|FAIL|SKIP) (\S+)(?: (.*?))? \[(\S+)\]$", line.rstrip("\n"))
        if m:
            checks.setdefault(m.group(4), []).append((m.group(1), m.group(2), m.group(3) or ""))
            continue
        m = re.match(r"^TIME (\S+) (\d+)$", line.strip())
        if m:
            times[m.group(1)] = int(m.group(2))

    out = []
    w = out.append
    w("# Kernel matrix")
    w("")
    w("Written by `tools/matrix/report.py` from the last `%s` (tools/matrix/:" % cmd)
    w("Debian's own kernel, booted under qemu-system-x86_64 with software")
    w("emulation on the 2-core build machine, with the host's / shared read-only")
    w("over virtio-9p under a tmpfs overlay and the host's non-sanitized build).")
    w("Do not edit by hand: run `make matrix` again.")
    w("")
    names = " and ".join(f"`{k['kernel']}` ({n})" for n, k in kernels)
    w(f"Kernels: {names}.")
    if timing:
        w("")
        w(
            "Time: boot to the first test %s s, suite %s s, all told %s s (qemu started to stopped)."
            % (timing.get("boot", "?"), timing.get("suite", "?"), timing.get("total", "?"))
        )
        if "cpu" in timing:
            w("")
            w(
                "Guest CPU model: `-cpu %s` (`MATRIX_CPU`; with `max` the guest hung in 2 of 3 full"
                " runs on 2026-12-02, both vCPUs spinning in the kernel as agentd started; the cause"
                " is not known)." % timing["cpu"]
            )
    w("")
    w("How to read the failures: the guest runs under software emulation (TCG),")
    w("some 5 to 20 times slower than the host and with millisecond stalls.")
    w("Checks with an absolute timing bound made for a real machine (a median")
    w("within 1 ms, a write under 2 ms) fail there for that reason alone; a")
    w("failure of what was loaded, chosen, dropped, delayed or cleaned up is a")
    w("finding. Tests that pick their backend by the probe skip the ones this")
    w("kernel lacks (tcx on 6.1), with the reason.")
    w("")
    w("## Backend per fault kind (the probe's choice: `agentctl doctor`)")
    w("")
    w("| kind | " + " | ".join(k["kernel"] for _, k in kernels) + " |")
    w("|---|" + "---|" * len(kernels))
    for kind in guest["backends"]:
        cells = []
        for _, k in kernels:
            b = k["backends"].get(kind, {})
            cell = b.get("backend") or "NONE"
            if not b.get("served", True):
                cell += " (not served yet)"
            cells.append(cell)
        w(f"| {kind} | " + " | ".join(cells) + " |")
    w("")
    w("## What the probe found")
    w("")
    w("| fact | " + " | ".join(k["kernel"] for _, k in kernels) + " |")
    w("|---|" + "---|" * len(kernels))
    for fact in guest["facts"]:
        cells = []
        for _, k in kernels:
            r = k["facts"].get(fact)
            cells.append("?" if r is None else ("yes: " if r["ok"] else "**no**: ") + r["detail"].replace("|", "/"))
        w(f"| {fact} | " + " | ".join(cells) + " |")
    w("")
    w(f"## Tests on {guest['kernel']}")
    w("")
    w("| test | pass | fail | skip | seconds |")
    w("|---|---|---|---|---|")
    tot = [0, 0, 0]
    for t in sorted(checks.keys() | times.keys()):
        c = checks.get(t, [])
        n = [sum(1 for s in c if s[0] == k) for k in ("PASS", "FAIL", "SKIP")]
        tot = [a + b for a, b in zip(tot, n)]
        w(f"| {t} | {n[0]} | {n[1]} | {n[2]} | {times.get(t, '?')} |")
    w(f"| all | {tot[0]} | {tot[1]} | {tot[2]} | {sum(times.values())} |")
    w("")
    for status, title in (("FAIL", "Failed checks"), ("SKIP", "Skipped checks")):
        rows = [(t, n, why) for t in sorted(checks) for s, n, why in checks[t] if s == status]
        if not rows:
            continue
        w(f"### {title}")
        w("")
        for t, n, why in rows:
            w(f"- {t}: `{n}` {why}".rstrip())
        w("")
    print("\n".join(out).rstrip() + "\n")


if __name__ == "__main__":
    main()
