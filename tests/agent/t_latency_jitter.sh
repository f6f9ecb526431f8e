#!/usr/bin/env bash
# Latency with jitter and probability, measured on the real kernel:
#  - 50 ms +- 20 ms uniform, per request: every delay the agent applied in
#    [30, 70] ms (its events; past 71 ms, by its own late wake-up, at most
#    1 in 100, none past 80) with quartiles where a uniform spread puts
#    them (40, 50, 60 ms, +- 4), which a normal spread of the same width
#    would miss; every request 30 ms later or more than one after 50 ms of
#    quiet, at most 5 of 300 over 70 ms plus the p99 noise of such requests
#    here, the median 50 +- 3 ms.
#  - per packet with jitter on a UDP stream: nothing lost, nothing
#    reordered, every packet held 30..70 ms (the agent's events; past
#    71 ms only in at most 2 stalls of the agent, none past 90).
#  - per connection on UDP: the first packet of a flow pays it, the packets
#    close behind wait behind it, later ones go free, a new flow pays again.
#  - --prob 0.5: the number of delayed requests inside binomial bounds
#    (4 standard deviations), and the agent counts the same number.
. "$(dirname "$0")/../lib.sh"
need_root latency_jitter
. "$(dirname "$0")/lib_latency.sh"

lat_setup latency_jitter 2
total() { times "$@" | awk '{ print $2 }'; }

total 8080 41 | tail -n +2 >"$T/base"
BASE=$(sort -n "$T/base" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
# Delayed requests follow 30..70 ms of quiet: their reference is a request
# after 50 ms of quiet (QBASE), and NOISE what such a request adds at p99.
quiet_base 8080

# ---- uniform jitter ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 \
	--delay 50ms --jitter 20ms --distribution uniform --for 60s)
[ -n "$id" ] || { fail latency_jitter_inject; exit 1; }
ka 8080 300 0 | awk '{ print $2 }' >"$T/jit"
ctl clear "$id" >/dev/null
python3 - "$T/jit" "$QBASE" "$NOISE" >"$T/jit.out" <<'PY'
import sys
base, noise = float(sys.argv[2]), float(sys.argv[3])
v = sorted(float(l) - base for l in open(sys.argv[1]) if l.strip())
q = lambda p: v[int(round(p * (len(v) - 1)))]
out = sum(1 for x in v if x < 29.5 or x > 71.5 + noise)
print("n=%d min=%.2f q1=%.2f med=%.2f q3=%.2f max=%.2f outside=%d" % (len(v), v[0], q(.25), q(.5), q(.75), v[-1], out))
bad = []
if len(v) != 300: bad.append("count")
# None below 30 ms; above 70 (+ the machine's own p99 noise), at most 5 of 300.
if v[0] < 29.5 or out > 5: bad.append("bounds")
if abs(q(.5) - 50) > 3: bad.append("median")
print("BAD " + ",".join(bad) if bad else "OK")
PY
if grep -q '^OK' "$T/jit.out"; then pass latency_jitter_uniform; else fail latency_jitter_uniform "($(tr '\n' ' ' <"$T/jit.out"))"; fi
# What the agent applied, packet by packet (its event records): none outside.
# Their quartiles: where a uniform spread puts them (40, 50, 60 +- 4 ms,
# about 4 standard deviations at n = 300; at n = 120 chance alone put one
# outside every few dozen runs); a normal one of sd 20 would put them at
# 36.5 and 63.5.
ev_in() {
	zcat -f "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
d = sorted(json.loads(l)['delay_ns'] / 1e6 for l in sys.stdin
     if '\"delay_ns\"' in l and json.loads(l)['fault_id'] == $id)
q = lambda p: d[int(round(p * (len(d) - 1)))] if d else 0
print(len(d), min(d or [0]), max(d or [0]), q(.25), q(.5), q(.75), sum(1 for x in d if x > 71))" >"$T/evj"
	[ "$(cut -d' ' -f1 "$T/evj")" -ge 300 ]
}
wait_until 3 ev_in
read -r n mn mx q1 q2 q3 late <"$T/evj"
# None early; late past 70 ms only by the agent's own wake-up on a busy
# machine: over 71 ms at most 1 in 100, none over 80.
if [ "$n" -ge 300 ] && python3 -c "import sys; sys.exit(0 if 30 <= $mn and $mx <= 80 and $late <= $n // 100 else 1)"; then
	pass latency_jitter_applied_bounds
else
	fail latency_jitter_applied_bounds "($n delays, $mn..$mx ms, $late over 71 ms)"
fi
if python3 -c "import sys; sys.exit(0 if abs($q1 - 40) <= 4 and abs($q2 - 50) <= 4 and abs($q3 - 60) <= 4 else 1)"; then
	pass latency_jitter_applied_uniform
else
	fail latency_jitter_applied_uniform "(quartiles $q1 $q2 $q3 ms)"
fi

# ---- per packet jitter on a UDP stream: order kept ----
cat >"$T/udp.py" <<'PY'
import os, socket, struct, sys, time
mode, n = sys.argv[1], int(sys.argv[2])
if mode == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((os.environ["SRV"], 9999))
    s.settimeout(3)
    open(sys.argv[3], "w").write("ready\n")
    out = []
    try:
        while len(out) < n:
            d = s.recv(64)
            seq, sent = struct.unpack("!Id", d[:12])
            out.append((seq, (time.monotonic() - sent) * 1000))
    except socket.timeout:
        pass
    seqs = [x[0] for x in out]
    lat = [x[1] for x in out]
    ordered = all(a < b for a, b in zip(seqs, seqs[1:]))
    print("got=%d ordered=%s min=%.2f max=%.2f" % (len(out), ordered, min(lat or [0]), max(lat or [0])))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(struct.pack("!Id", i, time.monotonic()), (os.environ["SRV"], 9999))
        time.sleep(0.001)
PY
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto udp --dport 9999 \
	--delay 50ms --jitter 20ms --per packet --for 60s)
ip netns exec "$NS" python3 "$T/udp.py" recv 300 "$T/ready" >"$T/udp.out" &
UDP_ID=$id
RPID=$!
at_exit "kill $RPID"
wait_until 5 test -s "$T/ready"
ip netns exec "$NC" python3 "$T/udp.py" send 300
wait "$RPID"
ctl clear "$id" >/dev/null
read -r got ordered mn mx < <(sed 's/[a-z]*=//g' "$T/udp.out")
check latency_jitter_udp_all_arrived test "$got" = 300
check latency_jitter_udp_in_order test "$ordered" = True
# Holding a packet behind its flow's earlier ones never takes it past the
# longest delay: every packet's delay as the agent applied it (its events).
# What can take one past it is the agent's own late wake-up (a descheduled
# vCPU, seen in CI: one stall of 8 ms that made 6 packets sent 1 ms apart
# late together): the late ones are counted by stall, late releases within
# 2 ms of each other being one, at most 2 in the run, and none may pass 90 ms
# (a hold behind a whole earlier delay would give up to 140).
udp_ev() {
	zcat -f "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c "
import json, sys
e = [json.loads(l) for l in sys.stdin if '\"delay_ns\"' in l]
e = [(r['mono_ns'], r['delay_ns']) for r in e if r['fault_id'] == $UDP_ID]
d = [v / 1e6 for _, v in e]
late = sorted(t + v for t, v in e if v > 71e6)
stalls = sum(1 for i, x in enumerate(late) if i == 0 or x - late[i - 1] > 2e6)
print(len(d), min(d or [0]), max(d or [0]), sum(1 for x in d if x > 71), stalls)" >"$T/evu"
	[ "$(cut -d' ' -f1 "$T/evu")" -ge 300 ]
}
wait_until 3 udp_ev
read -r n mn mx late stalls <"$T/evu"
echo "# udp: $n delays, $mn..$mx ms, $late over 71 ms in $stalls stalls"
if [ "$n" = 300 ] && python3 -c "import sys; sys.exit(0 if 30 <= $mn and $mx <= 90 and $stalls <= 2 else 1)"; then
	pass latency_jitter_udp_bounds
else
	fail latency_jitter_udp_bounds "($n delays, $mn..$mx ms, $late over 71 ms in $stalls stalls; receiver: $(cat "$T/udp.out"))"
fi

# ---- per connection on UDP: a flow's first packet pays, and what follows
# it closely waits behind it (order); later packets go free; a new flow
# (another source port) pays again ----
cat >"$T/uconn.py" <<'PY'
import os, socket, struct, sys, time
srv = (os.environ["SRV"], 9998)
if sys.argv[1] == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(srv)
    s.settimeout(3)
    open(sys.argv[2], "w").write("ready\n")
    got, at = {}, {}
    try:
        while len(got) < 21:
            d = s.recv(64)
            seq, sent = struct.unpack("!Id", d[:12])
            at[seq] = time.monotonic()
            got[seq] = (at[seq] - sent) * 1000
    except socket.timeout:
        pass
    first = got.get(0, -1)
    # The burst's arrivals against the first's: >= 0 (it waited behind it).
    gaps = [(at[i] - at[0]) * 1000 if i in at and 0 in at else -99 for i in range(1, 10)]
    later = [got.get(i, -1) for i in range(10, 20)]
    print("%d %.2f %.2f %.2f %.2f %.2f %.2f" % (len(got), first, min(gaps), max(gaps), sorted(later)[len(later) // 2], got.get(20, -1), max(later)))
else:
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(10):
        a.sendto(struct.pack("!Id", i, time.monotonic()), srv)
        time.sleep(0.001)
    time.sleep(0.15)
    for i in range(10, 20):
        a.sendto(struct.pack("!Id", i, time.monotonic()), srv)
        time.sleep(0.001)
    b.sendto(struct.pack("!Id", 20, time.monotonic()), srv)
PY
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto udp --dport 9998 \
	--delay 50ms --per connection --for 60s)
rm -f "$T/uready"
ip netns exec "$NS" python3 "$T/uconn.py" recv "$T/uready" >"$T/uconn.out" &
RPID=$!
at_exit "kill $RPID"
wait_until 5 test -s "$T/uready"
ip netns exec "$NC" python3 "$T/uconn.py" send
wait "$RPID"
ctl clear "$id" >/dev/null
read -r n first gmin gmax later newflow latemax <"$T/uconn.out"
check latency_udp_connection_all_arrived test "$n" = 21
# The burst (sent 1..12 ms after the first) came right behind the first,
# in order: it waited for it instead of passing it. The times are the
# receiver's (Python, one way): a stall of the machine adds to any one of
# them (seen in CI: the first at 58.2 ms and a later packet at 7.7 ms in
# the same run), so the first may be up to 15 ms late, and the later ones
# go by their median (under 5 ms) and their latest (under 40: one delayed
# would be 49 or more).
if within "$first" 49 65 && within "$gmin" 0 3 && within "$gmax" 0 3; then
	pass latency_udp_connection_first_pays
else
	fail latency_udp_connection_first_pays "(first $first ms, the burst $gmin..$gmax ms after it)"
fi
if within "$later" 0 5 && within "$latemax" 0 40; then pass latency_udp_connection_later_free; else fail latency_udp_connection_later_free "(later packets: median $later ms, latest $latemax ms)"; fi
if within "$newflow" 49 65; then pass latency_udp_connection_new_flow_pays; else fail latency_udp_connection_new_flow_pays "($newflow ms)"; fi

# ---- probability 0.5 ----
id=$(ctl inject latency --netns "$NS" --dev "$DEV" --proto tcp --dport 8080 \
	--delay 50ms --prob 0.5 --for 60s)
total 8080 201 | tail -n +2 >"$T/prob"
slow=$(awk -v b="$BASE" '$1 - b > 25' "$T/prob" | wc -l)
delayed=$(field "$id" delayed)
ctl clear "$id" >/dev/null
# Binomial(200, 0.5): mean 100, sd 7.1; 4 sd either way.
if [ "$slow" -ge 72 ] && [ "$slow" -le 128 ]; then pass latency_prob_binomial; else fail latency_prob_binomial "($slow of 200 delayed)"; fi
# The first request (its connection's first data packet) is counted too.
if [ $((delayed - slow)) -ge 0 ] && [ $((delayed - slow)) -le 2 ]; then
	pass latency_prob_counted
else
	fail latency_prob_counted "(agent says $delayed, client saw $slow)"
fi
check latency_jitter_nothing_left bash -c "! ip netns exec $NS iptables -t mangle -S | grep -q faultline-latency"
exit 0
