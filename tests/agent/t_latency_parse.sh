#!/usr/bin/env bash
# The latency selector's parser (bpf/latency.bpf.c, and the agent's side of
# the queue, agent/kinds/latency_hold.c) on the real kernel, on every latency
# backend this kernel has: IPv6 extension headers are walked, so that a port
# rule matches past them, and a chain past FL_IPV6_EXT_MAX gives no ports
# (an address rule still matches it). Each frame has a rule that must match
# and one that must not. Hand-made frames (tests/agent/rawframe.py,
# AF_PACKET) from the client's veth: nfqueue sees them on the server's
# ingress (PREROUTING); edt and netem on the client's egress (tc).
. "$(dirname "$0")/../lib.sh"
need_root latency_parse

CNS=${FL_TEST_ID}lc
SNS=${FL_TEST_ID}ls
A=${FL_TEST_ID}la # client end, in $CNS
B=${FL_TEST_ID}lb # server end, in $SNS
RAW=$(cd "$(dirname "$0")" && pwd)/rawframe.py
N=5
make_netns "$CNS"
make_netns "$SNS"
veth_pair "$CNS" "$A" 10.251.24.1/24 "$SNS" "$B" 10.251.24.2/24
ip -n "$CNS" addr add fd51:2524::1/64 dev "$A" nodad
ip -n "$SNS" addr add fd51:2524::2/64 dev "$B" nodad
MAC_B=$(ip netns exec "$SNS" cat "/sys/class/net/$B/address")
start_agentd

S6=fd51:2524::1 D6=fd51:2524::2
chain8=hop,dst,dst,dst,dst,dst,dst,dst
# The frames: name, then rawframe.py arguments, each to its own port or
# address so that only its own rules can match it.
frames=(
	"v6_plain --ip6 $S6 $D6 --dport 7000"
	"v6_hop_dst --ip6 $S6 $D6 --ext hop,dst --dport 7001"
	"v6_every_ext --ip6 $S6 $D6 --ext hop,dst,rt,frag0,dst --dport 7002"
	"v6_ah --ip6 $S6 $D6 --ext hop,ah --dport 7005"
	"v6_chain8 --ip6 $S6 $D6 --ext $chain8 --dport 7003"
	"v6_chain9 --ip6 $S6 fd51:2524::9 --ext $chain8,dst --dport 7004"
)
# The rules: name, packets it must select (0 or N), inject arguments. A
# packet is taken by the first rule that selects it, so the rules that must
# not match come first.
rules=(
	"v6_hop_dst_other_port 0 --proto udp --dport 7101"
	"v6_every_ext_other_port 0 --proto udp --dport 7102"
	"v6_chain9_port 0 --proto udp --dport 7004"
	"v6_ah AH --proto udp --dport 7005"
	"v6_plain $N --proto udp --dport 7000"
	"v6_hop_dst $N --proto udp --dport 7001"
	"v6_every_ext $N --proto udp --dport 7002"
	"v6_chain8 $N --proto udp --dport 7003"
	"v6_chain9_address $N --dst fd51:2524::9"
)
# AH: the selector walks it, but on nfqueue iptables' own match comes first,
# and iptables-nft takes AH for the upper-layer protocol (nft's l4proto), so
# no UDP port rule gets past it there (docs/latency.md); on tc it matches.

# counters: "ID matched delayed" per fault
counters() { ctl list --json | python3 -c '
import json, sys
for f in json.load(sys.stdin):
    print(f["id"], f.get("matched", 0), f.get("delayed", 0))'; }

# Every frame, N times each, from one python (rawframe.py --batch).
BATCH=$(mktemp /tmp/fl-latparse.XXXXXX)
at_exit "rm -f $BATCH"
for f in "${frames[@]}"; do echo "--dev $A --dst-mac $MAC_B --count $N ${f#* }"; done >"$BATCH"
send_frames() {
	ip netns exec "$CNS" python3 "$RAW" --batch "$BATCH" || fail "latency_parse_${backend}_send"
}
# want_of WANT: the packets a rule must select on this backend
want_of() { [ "$1" = AH ] && { [ "$backend" = nfqueue ] && echo 0 || echo $N; } || echo "$1"; }
# check_rule I ID COUNTERS: the rule's matched and delayed are what it wants
check_rule() {
	local name want args m d
	read -r name want args <<<"${rules[$1]}"
	want=$(want_of "$want")
	read -r m d < <(awk -v id="$2" '$1 == id { print $2, $3 }' <<<"$3")
	check "latency_parse_${backend}_$name" test "${m:-x}" = "$want" -a "${d:-x}" = "$want"
}
inject_rule() { # I DEV NETNS DIRECTION: the fault's id
	local name want args
	read -r name want args <<<"${rules[$1]}"
	# shellcheck disable=SC2086
	ctl inject latency --dev "$2" --netns "$3" "--$4" --backend "$backend" \
		--delay 5ms --per packet --for 2m --name "$name" $args
}
inject_failed() { fail "latency_parse_${backend}_inject_${rules[$1]%% *}"; }

# rules_at BACKEND NETNS DEV DIRECTION together|alone
# together: every rule on the device at once, then the frames (nfqueue: on
# ingress the packets reach the queue after the sender returns, so the last
# rule that must match is waited for, and then every counter is final).
# alone: one rule at a time, the frames sent to each (edt and netem: on a
# kernel without tcx a device takes one such fault; on egress tc has run
# when the sender returns).
rules_at() {
	local id ids=() all i
	backend=$1
	if [ "$5" = together ]; then
		for i in "${!rules[@]}"; do
			id=$(inject_rule "$i" "$3" "$2" "$4") || { inject_failed "$i"; ctl clear --all >/dev/null; return; }
			ids+=("$id")
		done
		send_frames
		all_seen() { counters | awk -v id="${ids[-1]}" -v n=$N '$1 == id && $3 == n { ok = 1 } END { exit !ok }'; }
		wait_until 5 all_seen
		all=$(counters)
		for i in "${!rules[@]}"; do check_rule "$i" "${ids[$i]}" "$all"; done
	else
		for i in "${!rules[@]}"; do
			id=$(inject_rule "$i" "$3" "$2" "$4") || { inject_failed "$i"; continue; }
			send_frames
			check_rule "$i" "$id" "$(counters)"
			ctl clear "$id" >/dev/null
		done
	fi
	ctl clear --all >/dev/null
}

wait_until 5 ip netns exec "$CNS" ping -6 -c 1 -W 0.5 $D6 >/dev/null 2>&1
# backend and the kernel fact it needs
for b in nfqueue:nfqueue edt:qdisc_fq netem:qdisc_netem; do
	have_backend "latency_parse_${b%%:*}" "${b#*:}" || continue
	if [ "${b%%:*}" = nfqueue ]; then
		rules_at nfqueue "$SNS" "$B" ingress together
	else
		rules_at "${b%%:*}" "$CNS" "$A" egress alone
	fi
done
