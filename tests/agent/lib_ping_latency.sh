# Helpers for latency tests by ping (sourced after lib.sh), for the
# backends whose delay the kernel applies (edt, netem): $T a temp folder,
# $NS the namespace, $DEV the device with the fault, pings to FAULT_ADDR
# (through $DEV) and CTRL_ADDR (a control device beside it).

# rtts ADDR N: N pings, 0.1 s apart; one RTT in ms a line.
rtts() { ping -n -c "$2" -i 0.1 -W 2 "$1" | sed -n 's/.*time=\([0-9.]*\) ms/\1/p'; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : -1 }'; }
# added N: ms that FAULT_ADDR's replies take over CTRL_ADDR's, median of N
# pings each, run at the same time.
added() {
	rtts "$CTRL_ADDR" "$1" >"$T/ctrl" &
	local p=$!
	rtts "$FAULT_ADDR" "$1" >"$T/dev"
	wait "$p"
	python3 -c "print(round($(median "$T/dev") - $(median "$T/ctrl"), 1))"
}
within() { python3 -c "import sys; sys.exit(0 if $2 <= $1 <= $3 else 1)"; }
root_of() { tc -n "$NS" qdisc show dev "$1" root | head -1; }
egress_filters() { tc -n "$NS" filter show dev "$DEV" egress 2>/dev/null; }
# One ping slower than 100 ms / faster than 100 ms.
slow() { ping -n -c 1 -W 2 "$FAULT_ADDR" | grep -Eq 'time=[0-9]{3}'; }
fast() { ping -n -c 1 -W 2 "$FAULT_ADDR" | grep -Eq 'time=[0-9]{1,2}(\.[0-9]+)? ms'; }
