#!/usr/bin/env bash
# Several faults at once: two on one device and direction (one program, two
# rules, each with its own counters), one on another device; clearing one
# leaves the others working, and the program leaves the device with its
# last fault.
. "$(dirname "$0")/../lib.sh"
need_root drop_multi

NS=${FL_TEST_ID}m
CLI=${FL_TEST_ID}n
make_netns "$NS"
make_netns "$CLI"
veth_pair "$CLI" "${FL_TEST_ID}a" 10.251.11.1/24 "$NS" "${FL_TEST_ID}b" 10.251.11.2/24
veth_pair "$CLI" "${FL_TEST_ID}c" 10.251.12.1/24 "$NS" "${FL_TEST_ID}d" 10.251.12.2/24
start_nginx "$NS" 8080
start_nginx "$NS" 8081
start_nginx "$NS" 8082
start_agentd

connects() { ip netns exec "$CLI" timeout 1.5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
blocked() { ! connects "$@"; }
counter() { ctl list --json | python3 -c "
import json, sys
print([f[sys.argv[2]] for f in json.load(sys.stdin) if f['id'] == int(sys.argv[1])][0])" "$1" "$2"; }
progs() { ip netns exec "$NS" python3 - "$1" <<'PY'
import ctypes, socket, sys
# BPF_PROG_QUERY on tcx ingress: how many programs the device holds.
libc = ctypes.CDLL(None, use_errno=True)
class Q(ctypes.Structure):
    _fields_ = [("target_fd", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                ("query_flags", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("prog_ids", ctypes.c_uint64), ("prog_cnt", ctypes.c_uint32),
                ("pad", ctypes.c_uint32 * 16)]
q = Q(target_fd=socket.if_nametoindex(sys.argv[1]), attach_type=46)
ids = (ctypes.c_uint32 * 8)()
q.prog_ids = ctypes.addressof(ids)
q.prog_cnt = 8
r = libc.syscall(321, 16, ctypes.byref(q), ctypes.sizeof(q))
print(q.prog_cnt if r == 0 else 0)
PY
}

a=$(ctl inject drop --dev "${FL_TEST_ID}b" --netns "$NS" --proto tcp --dport 8080 --name a)
b=$(ctl inject drop --dev "${FL_TEST_ID}b" --netns "$NS" --proto tcp --dport 8081 --name b)
c=$(ctl inject drop --dev "${FL_TEST_ID}d" --netns "$NS" --proto tcp --dport 8082 --name c)
check drop_multi_three_listed test "$(ctl list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3
# The count is of tcx programs: where the kernel has no tcx (6.1), drops go
# on classic tc and there is nothing to count.
tcx=no
kernel_has tcx && tcx=yes
[ $tcx = yes ] && check drop_multi_one_program_per_device test "$(progs "${FL_TEST_ID}b")" = 1 -a "$(progs "${FL_TEST_ID}d")" = 1
check drop_multi_a_blocks blocked 10.251.11.2 8080
check drop_multi_b_blocks blocked 10.251.11.2 8081
check drop_multi_c_blocks blocked 10.251.12.2 8082
check drop_multi_other_port_passes connects 10.251.11.2 8082
check drop_multi_c_spares_first_device connects 10.251.11.2 8082
check drop_multi_a_spares_second_device connects 10.251.12.2 8080
da=$(counter "$a" dropped) db=$(counter "$b" dropped) dc=$(counter "$c" dropped)
echo "# dropped: a $da, b $db, c $dc"
check drop_multi_counters_separate test "$da" -ge 1 -a "$db" -ge 1 -a "$dc" -ge 1

ctl clear "$a" >/dev/null
check drop_multi_a_cleared connects 10.251.11.2 8080
check drop_multi_b_still_blocks blocked 10.251.11.2 8081
check drop_multi_b_counter_kept test "$(counter "$b" dropped)" -ge "$db"
ctl clear "$b" >/dev/null
[ $tcx = yes ] && check drop_multi_program_left_with_last test "$(progs "${FL_TEST_ID}b")" = 0 -a "$(progs "${FL_TEST_ID}d")" = 1
check drop_multi_c_still_blocks blocked 10.251.12.2 8082
ctl clear --all >/dev/null
check drop_multi_all_cleared connects 10.251.12.2 8082
