#!/usr/bin/env bash
# A drop on IPv6 works like IPv4: TCP to one port by destination prefix,
# ICMPv6 echo by source address, and an IPv4 match leaves IPv6 alone.
. "$(dirname "$0")/../lib.sh"
need_root drop_ipv6

NS=${FL_TEST_ID}6
DEV=${FL_TEST_ID}b
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" fd51:251::1/64 "$NS" "$DEV" fd51:251::2/64
ip addr add 10.251.4.1/24 dev "${FL_TEST_ID}a"
ip -n "$NS" addr add 10.251.4.2/24 dev "$DEV"
start_nginx "$NS" 8080
start_nginx "$NS" 8081
start_agentd

connects() { timeout 1.5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
pings6() { ping -6 -c 1 -W 0.5 fd51:251::2 >/dev/null 2>&1; }
wait_until 5 connects fd51:251::2 8080 # addresses usable (no DAD with nodad)

check drop_ipv6_baseline connects fd51:251::2 8080
id=$(ctl inject drop --dev "$DEV" --netns "$NS" --proto tcp --dst fd51:251::/64 --dport 8080)
if connects fd51:251::2 8080; then fail drop_ipv6_tcp_blocked; else pass drop_ipv6_tcp_blocked; fi
check drop_ipv6_other_port connects fd51:251::2 8081
check drop_ipv6_v4_untouched connects 10.251.4.2 8080
ctl clear "$id" >/dev/null

check drop_ipv6_icmp6_baseline pings6
id=$(ctl inject drop --dev "$DEV" --netns "$NS" --proto icmp6 --src fd51:251::1)
if pings6; then fail drop_ipv6_icmp6_blocked; else pass drop_ipv6_icmp6_blocked; fi
ctl clear "$id" >/dev/null
check drop_ipv6_icmp6_cleared pings6

id=$(ctl inject drop --dev "$DEV" --netns "$NS" --proto tcp --dst 10.251.4.2 --dport 8080)
if connects 10.251.4.2 8080; then fail drop_ipv6_v4_rule_blocks_v4; else pass drop_ipv6_v4_rule_blocks_v4; fi
check drop_ipv6_v4_rule_spares_v6 connects fd51:251::2 8080
ctl clear "$id" >/dev/null
