#!/usr/bin/env bash
# 100% drop of TCP to one port: connects to it fail, another port on the same
# host still works; on both the tcx and the classic tc backend, and with the
# device named by netns name, path and pid:PID.
. "$(dirname "$0")/../lib.sh"
need_root drop_tcp

NS=${FL_TEST_ID}s
make_netns "$NS"
veth_pair "" "${FL_TEST_ID}a" 10.251.1.1/24 "$NS" "${FL_TEST_ID}b" 10.251.1.2/24
start_nginx "$NS" 8080
start_nginx "$NS" 8081
start_agentd

connects() { timeout 1.5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

check drop_tcp_baseline connects 10.251.1.2 8080
ip netns exec "$NS" sleep 300 &
NSPID=$!
at_exit "kill $NSPID"

i=0
for backend in tcx tc; do
	# A kernel before 6.6 has no tcx (Debian's 6.1 in the kernel matrix).
	have_backend drop_tcp "$backend" || continue
	for ns in "$NS" "/var/run/netns/$NS" "pid:$NSPID"; do
		i=$((i + 1))
		id=$(ctl inject drop --dev "${FL_TEST_ID}b" --netns "$ns" --ingress --proto tcp \
			--dport 8080 --backend "$backend" --for 60s --name tcp$i)
		if [ -z "$id" ]; then
			fail "drop_tcp_${backend}_inject_$i" "(netns $ns)"
			continue
		fi
		if connects 10.251.1.2 8080; then
			fail "drop_tcp_${backend}_blocks_$i" "(port 8080 still connects, netns $ns)"
		else
			pass "drop_tcp_${backend}_blocks_$i"
		fi
		check "drop_tcp_${backend}_other_port_$i" connects 10.251.1.2 8081
		dropped=$(ctl list --json | python3 -c "import json,sys; print([f['dropped'] for f in json.load(sys.stdin) if f['id']==$id][0])")
		check "drop_tcp_${backend}_counted_$i" test "${dropped:-0}" -ge 1
		ctl clear "$id" >/dev/null
		check "drop_tcp_${backend}_cleared_$i" connects 10.251.1.2 8080
	done
done

# After the last clear nothing of ours is on the device.
if tc -n "$NS" filter show dev "${FL_TEST_ID}b" ingress | grep -q . ||
	tc -n "$NS" qdisc show dev "${FL_TEST_ID}b" | grep -q clsact; then
	fail drop_tcp_nothing_left "($(tc -n "$NS" qdisc show dev "${FL_TEST_ID}b" | tr '\n' ' '))"
else
	pass drop_tcp_nothing_left
fi
