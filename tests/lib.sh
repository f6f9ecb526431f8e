# Helpers for integration tests. Source it, then call pass/fail/skip once per
# check. Everything made with the helpers below is removed by the EXIT trap,
# even when the test fails.
#   FL_BIN: folder of the built binaries (set by tests/run.sh or make test)
set -u
FL_BIN=${FL_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/bin}
FL_TEST_ID=fl$$
_cleanups=()
_failed=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+ $2}"; _failed=1; }
skip() { echo "SKIP $1${2:+ $2}"; }
# check NAME COMMAND...: PASS when the command succeeds.
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n" "($*)"; fi; }

# at_exit CMD: run CMD (a string) on exit, last registered first.
at_exit() { _cleanups+=("$1"); }
_run_cleanups() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[$i]}" >/dev/null 2>&1 || true; done
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

need_root() {
	if [ "$(id -u)" -ne 0 ]; then skip "${1:-root}" "(needs root)"; exit 0; fi
}

# make_netns NAME: a network namespace removed on exit, with lo up.
make_netns() {
	ip netns add "$1" || return 1
	at_exit "ip netns del $1"
	ip -n "$1" link set lo up
}

# veth_pair NS_A IF_A ADDR_A NS_B IF_B ADDR_B: addresses are CIDRs (v4 or v6);
# NS "" means the root namespace. Pass extra address pairs with veth_addr.
veth_pair() {
	local na=$1 ia=$2 aa=$3 nb=$4 ib=$5 ab=$6
	ip link add "$ia" type veth peer name "$ib" || return 1
	at_exit "ip link del $ia"
	[ -n "$na" ] && ip link set "$ia" netns "$na"
	[ -n "$nb" ] && ip link set "$ib" netns "$nb"
	_nsip "$na" addr add "$aa" dev "$ia" nodad 2>/dev/null || _nsip "$na" addr add "$aa" dev "$ia"
	_nsip "$nb" addr add "$ab" dev "$ib" nodad 2>/dev/null || _nsip "$nb" addr add "$ab" dev "$ib"
	_nsip "$na" link set "$ia" up
	_nsip "$nb" link set "$ib" up
}
_nsip() { local ns=$1; shift; if [ -n "$ns" ]; then ip -n "$ns" "$@"; else ip "$@"; fi; }

# start_agentd ARGS...: agentd in the background on a private socket and
# state folder ($FL_RUN, kept across restarts within one test); sets
# AGENT_PID and FL_SOCK; stopped on exit. Its log is $FL_RUN/agentd.log.
# AGENTD_WRAP="ip netns exec NS" runs it inside another network namespace.
start_agentd() {
	if [ -z "${FL_RUN:-}" ]; then
		FL_RUN=$(mktemp -d /tmp/fl-run.XXXXXX)
		at_exit "rm -rf $FL_RUN"
		at_exit "stop_agentd"
	fi
	export FL_SOCK=$FL_RUN/agent.sock
	local metrics=(--metrics-port 0)
	[[ " $* " == *" --metrics-port "* ]] && metrics=()
	${AGENTD_WRAP:-} "$FL_BIN/agentd" --socket "$FL_SOCK" --state-dir "$FL_RUN" "${metrics[@]}" "$@" \
		>>"$FL_RUN/agentd.log" 2>&1 &
	AGENT_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$FL_SOCK" ] && "$FL_BIN/agentctl" --socket "$FL_SOCK" status >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "agentd did not start:" >&2
	cat "$FL_RUN/agentd.log" >&2
	return 1
}
stop_agentd() {
	[ -n "${AGENT_PID:-}" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	local i
	for ((i = 0; i < 50; i++)); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}
ctl() { "$FL_BIN/agentctl" --socket "$FL_SOCK" "$@"; }

# wait_until SECONDS CMD...: poll CMD every 0.1 s; fail after SECONDS.
wait_until() {
	local t=$1 i; shift
	for ((i = 0; i < t * 10; i++)); do "$@" && return 0; sleep 0.1; done
	return 1
}

# A fresh nginx serving `return 200` on PORT inside NETNS; stopped on exit.
# NGINX_ACCESS_LOG=PATH writes receipts in the faultline log format
# (docs/receipts.md); NGINX_DIR is its folder.
start_nginx() {
	local ns=$1 port=$2 dir access=off
	[ -n "${NGINX_ACCESS_LOG:-}" ] && access="$NGINX_ACCESS_LOG faultline"
	dir=$(mktemp -d /tmp/fl-nginx.XXXXXX)
	at_exit "rm -rf $dir"
	nginx_conf "$dir" "log_format faultline '\$msec \$http_x_request_id \$status \$request_time';
	access_log $access;
	server { listen $port reuseport; listen [::]:$port; location / { return 200 \"ok\\n\"; } }"
	if [ -n "$ns" ]; then ip netns exec "$ns" nginx -c "$dir/nginx.conf" -p "$dir"; else nginx -c "$dir/nginx.conf" -p "$dir"; fi || return 1
	at_exit "kill \$(cat $dir/nginx.pid)"
	NGINX_DIR=$dir
}

# nginx_conf DIR HTTP: DIR/nginx.conf, a daemon with one worker whose pid,
# error log and temporary files are in DIR, with HTTP inside its http block.
nginx_conf() {
	cat >"$1/nginx.conf" <<NGX
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log;
daemon on;
events { worker_connections 4096; }
http {
	client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1;
	uwsgi_temp_path $1; scgi_temp_path $1;
	$2
}
NGX
}

# start_nginx_proxy NETNS PORT UPSTREAM: an nginx API on PORT inside NETNS
# in front of http://UPSTREAM (proxy_pass; connect timeout 1 s, read timeout
# NGINX_READ_TIMEOUT, default 2s). NGINX_ACCESS_LOG=PATH: receipts with the
# upstream it called (docs/reconcile.md, "Receipts"); NGINX_PLAIN_LOG=PATH:
# also receipts without it. Stopped on exit; PROXY_DIR is its folder.
start_nginx_proxy() {
	local ns=$1 port=$2 up=$3 dir logs=""
	[ -n "${NGINX_ACCESS_LOG:-}" ] && logs="access_log $NGINX_ACCESS_LOG full;"
	[ -n "${NGINX_PLAIN_LOG:-}" ] && logs="$logs access_log $NGINX_PLAIN_LOG plain;"
	dir=$(mktemp -d /tmp/fl-proxy.XXXXXX)
	at_exit "rm -rf $dir"
	nginx_conf "$dir" "log_format full '\$msec \$http_x_request_id \$status \$request_time \$upstream_addr \$upstream_status \$upstream_connect_time';
	log_format plain '\$msec \$http_x_request_id \$status \$request_time';
	${logs:-access_log off;}
	server {
		listen $port reuseport;
		location / {
			proxy_pass http://$up;
			proxy_connect_timeout 1s;
			proxy_read_timeout ${NGINX_READ_TIMEOUT:-2s};
		}
	}"
	ip netns exec "$ns" nginx -c "$dir/nginx.conf" -p "$dir" || return 1
	at_exit "kill \$(cat $dir/nginx.pid)"
	PROXY_DIR=$dir
}

# json_field FILE A.B.0.C: that value of a JSON file (a number: a list's index)
json_field() {
	python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
for k in sys.argv[2].split('.'):
    r = r[int(k)] if isinstance(r, list) else r[k]
print(r)" "$1" "$2"
}

# kernel_has FACT: ask the running agent's fact table (agentctl doctor).
# Exit 0 yes, 1 no, 2 the table has no such fact.
kernel_has() {
	ctl doctor --json | python3 -c "
import json, sys
f = json.load(sys.stdin).get('facts', {}).get(sys.argv[1])
sys.exit(2 if f is None else 0 if f['ok'] else 1)" "$1"
}

# have_backend TEST BACKEND: true when the kernel has BACKEND (a fact of the
# same name); otherwise reports TEST_BACKEND as skipped (the kernel lacks it)
# or failed (no such fact) and is false.
have_backend() {
	kernel_has "$2"
	case $? in
	0) return 0 ;;
	1) skip "$1_$2" "(this kernel has no $2: see agentctl doctor)" ;;
	*) fail "$1_$2" "(no $2 in the fact table)" ;;
	esac
	return 1
}

# make_cgroup MOUNT NAME: the cgroup MOUNT/faultline-test-$FL_TEST_ID-NAME
# (MOUNT: the cgroup2 mount or a v1 hierarchy), its path in CGROUP_DIR. On
# exit it is thawed, its processes are sent SIGCONT and SIGKILL, and it is
# removed. in_cgroup DIR CMD...: run CMD in the background inside DIR.
make_cgroup() {
	CGROUP_DIR=$1/faultline-test-$FL_TEST_ID-$2
	mkdir "$CGROUP_DIR" || return 1
	at_exit "_rm_cgroup $CGROUP_DIR"
}
_rm_cgroup() {
	local i p
	[ -f "$1/cgroup.freeze" ] && echo 0 >"$1/cgroup.freeze"
	for ((i = 0; i < 30; i++)); do
		for p in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -CONT "$p"; kill -KILL "$p"; done
		rmdir "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
in_cgroup() {
	local dir=$1; shift
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$dir" "$@" &
}
# cgroup2_mount: where cgroup v2 is mounted (empty when it is not).
cgroup2_mount() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }
