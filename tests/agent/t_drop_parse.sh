#!/usr/bin/env bash
# The packet parser (bpf/pkt_parse.h) on the real kernel, on every drop
# backend: IPv6 extension headers are walked so that port rules match (and a
# chain past the bound, or a later fragment, gives no ports); VLAN tags are
# skipped, in the frame and in skb metadata; an IPv4 header with IHL 4 is not
# parsed past its addresses, so no port rule matches it. Each frame kind has
# a rule that must match it and one that must not.
#
# Three parts:
# - hand-made frames (tests/agent/rawframe.py, AF_PACKET): the tags are in
#   the frame on the sender's egress and, for xdp, on the receiver's
#   ingress; tc ingress finds the outer tag moved to skb->vlan_tci. Counted
#   with `agentctl list --json` and the event log.
# - IP packets written into a tun device: raw IP, no link header (tc goes by
#   skb->protocol, xdp by the IP version).
# - real traffic through the stack: TCP over IPv6 with hop-by-hop and
#   destination options (setsockopt); TCP tagged by a tc filter of the
#   test's own (vlan_tag.bpf.c: one tag in metadata, or two with the inner
#   in the frame); TCP through a vlan device on top of the veth, the fault
#   on the lower device and on the vlan device, where the kernel has them.
. "$(dirname "$0")/../lib.sh"
need_root drop_parse

CNS=${FL_TEST_ID}pc
SNS=${FL_TEST_ID}ps
A=${FL_TEST_ID}pa # client end, in $CNS
B=${FL_TEST_ID}pb # server end, in $SNS
RAW=$(cd "$(dirname "$0")" && pwd)/rawframe.py
N=5
make_netns "$CNS"
make_netns "$SNS"
veth_pair "$CNS" "$A" 10.251.20.1/24 "$SNS" "$B" 10.251.20.2/24
ip -n "$CNS" addr add fd51:2520::1/64 dev "$A" nodad
ip -n "$SNS" addr add fd51:2520::2/64 dev "$B" nodad
MAC_B=$(ip netns exec "$SNS" cat "/sys/class/net/$B/address")
start_nginx "$SNS" 8080
start_nginx "$SNS" 8081
start_agentd

frame() { ip netns exec "$CNS" python3 "$RAW" --dev "$A" --dst-mac "$MAC_B" --count $N "$@"; }
sender=frame
# counters: "ID matched dropped" per line, for every fault
counters() { ctl list --json | python3 -c '
import json, sys
for f in json.load(sys.stdin):
    print(f["id"], f["matched"], f["dropped"])'; }
# logged ID PROTO DPORT: inject records of fault ID with that protocol and port
logged() { zcat "$FL_RUN/events.ndjson.gz" 2>/dev/null | python3 -c '
import json, sys
n = 0
for l in sys.stdin:
    r = json.loads(l)
    n += r["type"] == "inject" and r["fault_id"] == int(sys.argv[1]) and \
        r["proto"] == sys.argv[2] and r.get("dport") == int(sys.argv[3])
print(n)' "$@"; }
logged_is() { test "$(logged "$1" "$2" "$3")" -eq "$4"; }

# The frames: name, then rawframe.py arguments. Each uses its own port (or
# destination address), so that only its own rules can match it.
S4=10.251.20.1 D4=10.251.20.2 S6=fd51:2520::1 D6=fd51:2520::2
chain8=hop,dst,dst,dst,dst,dst,dst,dst
frames=(
	"v6_hop_dst --ip6 $S6 $D6 --ext hop,dst --dport 7001"
	"v6_every_ext --ip6 $S6 $D6 --ext hop,dst,rt,frag0,ah,dst --dport 7002"
	"v6_chain8 --ip6 $S6 $D6 --ext $chain8 --dport 7003"
	"v6_chain9 --ip6 $S6 fd51:2520::9 --ext $chain8,dst --dport 7004"
	"v6_frag_later --ip6 $S6 fd51:2520::4 --ext frag8 --dport 7005"
	"vlan_8021q_v4 --vlan 8100:5 --ip4 $S4 $D4 --dport 7006"
	"vlan_qinq_v6 --vlan 88a8:100 --vlan 8100:5 --ip6 $S6 $D6 --ext hop --dport 7007"
	"v4_ihl4 --ip4 $S4 10.251.20.4 --ihl 4 --dport 7008"
	"v4_ihl6 --ip4 $S4 $D4 --ihl 6 --dport 7009"
	"v4_frag_later --ip4 $S4 10.251.20.5 --frag-off 8 --dport 7010"
)
# The rules: name, frames it must match (0 or N), inject arguments. The
# rules that must not match come first: a packet is dropped by the first
# rule that drops it, so only rules in front of that one see it.
rules=(
	"v6_hop_dst_other_port 0 --proto udp --dport 7101"
	"v6_every_ext_other_port 0 --proto udp --dport 7102"
	"v6_chain9_port 0 --proto udp --dport 7004"
	"v6_chain9_proto 0 --proto udp --dst fd51:2520::9"
	"v6_frag_later_port 0 --proto udp --dport 7005"
	"vlan_8021q_v4_other_port 0 --proto udp --dport 7106"
	"vlan_qinq_v6_other_port 0 --proto udp --dport 7107"
	"v4_ihl4_port_at_20 0 --proto udp --dport 7008"
	"v4_ihl4_port_at_16 0 --proto udp --dport 5124" # what IHL 4 taken as 16 bytes gives
	"v4_ihl6_other_port 0 --proto udp --dport 7109"
	"v4_frag_later_port 0 --proto udp --dport 7010"
	"v6_hop_dst $N --proto udp --dport 7001"
	"v6_every_ext $N --proto udp --dport 7002"
	"v6_chain8 $N --proto udp --dport 7003"
	"v6_chain9_address $N --dst fd51:2520::9"
	"v6_frag_later_proto $N --proto udp --dst fd51:2520::4"
	"vlan_8021q_v4 $N --proto udp --dport 7006"
	"vlan_qinq_v6 $N --proto udp --dport 7007"
	"v4_ihl4_address $N --proto udp --dst 10.251.20.4"
	"v4_ihl6 $N --proto udp --dport 7009"
	"v4_frag_later_proto $N --proto udp --dst 10.251.20.5"
)

# Rules whose events must name the upper-layer protocol and port: rule, proto, port.
logged_rules=("v6_hop_dst udp 7001" "vlan_qinq_v6 udp 7007")

# frames_at PLACE NETNS DEV DIRECTION BACKEND: inject the rules, send the
# frames with $sender, check every rule's counters and the events.
frames_at() {
	local place=$1 ns=$2 dev=$3 dir=$4 backend=$5 r name want args id f ids=() all
	local -A idof
	for r in "${rules[@]}"; do
		read -r name want args <<<"$r"
		# shellcheck disable=SC2086
		id=$(ctl inject drop --dev "$dev" --netns "$ns" "--$dir" --backend "$backend" \
			--for 2m --name "$name" $args) || { fail "drop_parse_${place}_inject_$name"; return; }
		ids+=("$id")
		idof[$name]=$id
	done
	for f in "${frames[@]}"; do
		# shellcheck disable=SC2086
		$sender ${f#* } || fail "drop_parse_${place}_send_${f%% *}"
	done
	# The receiver handles frames after the sender returns: wait for the
	# last rule that must match, then read every counter.
	all_seen() { counters | awk -v id="${ids[-1]}" -v n=$N '$1 == id && $2 == n { ok = 1 } END { exit !ok }'; }
	wait_until 5 all_seen
	all=$(counters)
	for i in "${!rules[@]}"; do
		read -r name want args <<<"${rules[$i]}"
		read -r m d < <(awk -v id="${ids[$i]}" '$1 == id { print $2, $3 }' <<<"$all")
		check "drop_parse_${place}_$name" test "${m:-x}" = "$want" -a "${d:-x}" = "$want"
	done
	# The events name the fault and the upper-layer protocol and port.
	for r in "${logged_rules[@]}"; do
		read -r name args <<<"$r"
		# shellcheck disable=SC2086
		check "drop_parse_${place}_logged_$name" wait_until 3 logged_is "${idof[$name]}" $args $N
	done
	ctl clear --all >/dev/null
}

wait_until 5 ip netns exec "$CNS" ping -c 1 -W 0.5 $D4 >/dev/null 2>&1
for backend in tcx tc xdp; do
	have_backend drop_parse "$backend" || continue
	frames_at "ingress_$backend" "$SNS" "$B" ingress "$backend"
	[ "$backend" = xdp ] || frames_at "egress_$backend" "$CNS" "$A" egress "$backend"
done

# ---- a raw-IP device (no link header): a tun device, packets written into it ----
TUN=${FL_TEST_ID}pt
if ip -n "$SNS" tuntap add dev "$TUN" mode tun 2>/dev/null; then
	ip -n "$SNS" link set "$TUN" up
	frame_tun() { ip netns exec "$SNS" python3 "$RAW" --tun "$TUN" --count $N "$@"; }
	sender=frame_tun
	frames=(
		"v4 --ip4 $S4 $D4 --dport 7301"
		"v6_hop_dst --ip6 $S6 $D6 --ext hop,dst --dport 7302"
		"v4_ihl4 --ip4 $S4 10.251.20.4 --ihl 4 --dport 7303"
	)
	rules=(
		"v4_other_port 0 --proto udp --dport 7401"
		"v6_hop_dst_other_port 0 --proto udp --dport 7402"
		"v4_ihl4_port 0 --proto udp --dport 7303"
		"v4 $N --proto udp --dport 7301"
		"v6_hop_dst $N --proto udp --dport 7302"
		"v4_ihl4_address $N --proto udp --dst 10.251.20.4"
	)
	logged_rules=("v4 udp 7301" "v6_hop_dst udp 7302")
	# xdp too: attached in generic mode, it sees the IP header first (the
	# parser goes by the IP version; the program before it passed them all).
	for backend in tcx tc xdp; do
		kernel_has "$backend" && frames_at "rawip_$backend" "$SNS" "$TUN" ingress "$backend"
	done
else
	skip drop_parse_rawip "(no tun devices here)"
fi

# ---- real traffic ----
connects() { ip netns exec "$CNS" timeout 1.5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
# TCP over IPv6 with a hop-by-hop and a destination-options header on every
# packet the client sends (sticky options, RFC 3542).
connects6_ext() { ip netns exec "$CNS" python3 - "$1" <<'PY'
import socket, sys
pad = bytes([0, 0, 1, 4, 0, 0, 0, 0])  # next header, length 0, PadN of 4 bytes
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, pad)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, pad)
s.settimeout(1.5)
try:
    s.connect(("fd51:2520::2", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}
blocked6_ext() { ! connects6_ext "$1"; }
blocked() { ! connects "$@"; }
matched_some() { counters | awk -v id="$1" '$1 == id && $2 > 0 { ok = 1 } END { exit !ok }'; }

check drop_parse_v6_ext_baseline connects6_ext 8080
for backend in tcx tc xdp; do
	kernel_has "$backend" || continue
	for where in "ingress $SNS $B" "egress $CNS $A"; do
		read -r dir ns dev <<<"$where"
		[ "$backend:$dir" = xdp:egress ] && continue
		id=$(ctl inject drop --dev "$dev" --netns "$ns" "--$dir" --backend "$backend" --proto tcp --dport 8080)
		check "drop_parse_v6_ext_${dir}_${backend}_blocked" blocked6_ext 8080
		check "drop_parse_v6_ext_${dir}_${backend}_other_port" connects6_ext 8081
		check "drop_parse_v6_ext_${dir}_${backend}_logged" wait_until 3 eval '[ "$(logged "$id" tcp 8080)" -ge 1 ]'
		ctl clear "$id" >/dev/null
	done
done

# Real traffic with VLAN tags. This kernel may have no 802.1Q devices; a
# filter of the test's own (vlan_tag.bpf.c, classic tc, priority 1, on the
# client's egress) then tags every packet with VLAN id 0, which the receiving
# stack takes without a VLAN device. One tag: in skb metadata all the way
# (tc on both ends; xdp does not see it). Two (QinQ): the inner tag in the
# frame, the outer in metadata (xdp sees the inner one). Our tc filter on the
# client's egress runs after the tagger; our tcx program there runs before
# it, so it is not a case here.
if command -v clang >/dev/null; then
	obj=$FL_RUN/vlan_tag
	clang -O2 -g -target bpf -I"/usr/include/$(gcc -dumpmachine)" \
		-c "$(dirname "$0")/vlan_tag.bpf.c" -o "$obj.o" &&
		clang -O2 -g -target bpf -I"/usr/include/$(gcc -dumpmachine)" -DQINQ \
			-c "$(dirname "$0")/vlan_tag.bpf.c" -o "$obj-qinq.o" ||
		fail drop_parse_vlan_tagger_built
	tc -n "$CNS" qdisc add dev "$A" clsact
	for tags in 8021q qinq; do
		o=$obj.o
		[ $tags = qinq ] && o=$obj-qinq.o
		tc -n "$CNS" filter replace dev "$A" egress prio 1 handle 1 bpf da obj "$o" sec tc ||
			{ fail "drop_parse_vlan_${tags}_tagger"; continue; }
		check "drop_parse_vlan_${tags}_baseline" connects $D4 8080
		for backend in tcx tc xdp; do
			kernel_has "$backend" || continue
			for where in "ingress $SNS $B" "egress $CNS $A"; do
				read -r dir ns dev <<<"$where"
				[ "$dir" = egress ] && [ "$backend" != tc ] && continue
				n=drop_parse_vlan_${tags}_${dir}_${backend}
				id=$(ctl inject drop --dev "$dev" --netns "$ns" "--$dir" --backend "$backend" --proto tcp --dport 8080)
				check "${n}_blocked" blocked $D4 8080
				check "${n}_other_port" connects $D4 8081
				check "${n}_counted" matched_some "$id"
				ctl clear "$id" >/dev/null
			done
		done
	done
	tc -n "$CNS" filter del dev "$A" egress prio 1
else
	skip drop_parse_vlan_traffic "(no clang to build the test's tagging filter)"
fi

# And through a vlan device on top of the veth, where the kernel has them.
if ip -n "$CNS" link add link "$A" name "$A.5" type vlan id 5 2>/dev/null &&
	ip -n "$SNS" link add link "$B" name "$B.5" type vlan id 5; then
	ip -n "$CNS" addr add 10.251.21.1/24 dev "$A.5"
	ip -n "$SNS" addr add 10.251.21.2/24 dev "$B.5"
	ip -n "$CNS" link set "$A.5" up
	ip -n "$SNS" link set "$B.5" up
	check drop_parse_vlan_device_baseline wait_until 5 connects 10.251.21.2 8080
	for backend in tcx tc xdp; do
		kernel_has "$backend" || continue
		for where in "ingress $SNS $B" "ingress $SNS $B.5" "egress $CNS $A" "egress $CNS $A.5"; do
			read -r dir ns dev <<<"$where"
			[ "$dir" = egress ] && [ "$backend" = xdp ] && continue
			n=drop_parse_vlan_device_${dev#"$FL_TEST_ID"}_${dir}_${backend}
			id=$(ctl inject drop --dev "$dev" --netns "$ns" "--$dir" --backend "$backend" --proto tcp --dport 8080)
			check "${n}_blocked" blocked 10.251.21.2 8080
			check "${n}_other_port" connects 10.251.21.2 8081
			check "${n}_counted" matched_some "$id"
			ctl clear "$id" >/dev/null
		done
	done
else
	skip drop_parse_vlan_device "(this kernel has no 802.1Q devices: CONFIG_VLAN_8021Q)"
fi
check drop_parse_all_cleared connects $D4 8080
check drop_parse_nothing_left test -z "$(ctl list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)) or "")')"
