# Helpers for the loadgen tests (sourced after tests/lib.sh).
LG=$FL_BIN/loadgen
LG_TMP=$(mktemp -d /tmp/fl-lg.XXXXXX)
at_exit "rm -rf $LG_TMP"

# lg_port: a free-looking loopback port, different per test process.
lg_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + (RANDOM + $$) % 20000))
		# free, and its neighbour too (some tests use PORT+1)
		ss -Htan "( sport = :$p or sport = :$((p + 1)) )" 2>/dev/null | grep -q . || break
	done
	echo "$p"
}

# lg_bad MODE: start badserver.py; sets BAD_PORT and BAD_PID.
lg_bad() {
	local pf=$LG_TMP/bad.$1.port
	rm -f "$pf"
	python3 "$(dirname "${BASH_SOURCE[0]}")/badserver.py" "$pf" "$1" &
	BAD_PID=$!
	at_exit "kill $BAD_PID"
	wait_until 5 test -s "$pf" || return 1
	BAD_PORT=$(cat "$pf")
}

# lg_nginx PORT [EXTRA]: nginx on 127.0.0.1:PORT with an access log that
# names each request id ($NGINX_DIR/access.log: id status uri idem-key).
# Locations: / -> 200, /missing -> 404, /fail -> 500, /big -> 64 KiB body,
# /gz -> the same gzipped on the fly (chunked), /post -> 201.
lg_nginx() {
	local port=$1 dir
	dir=$(mktemp -d /tmp/fl-nginx.XXXXXX)
	at_exit "rm -rf $dir"
	head -c 65536 /dev/zero | tr '\0' 'x' >"$dir/big"
	cat >"$dir/nginx.conf" <<NGX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
daemon on;
events { worker_connections 4096; }
http {
	log_format rid '\$http_x_request_id \$status \$uri \$http_idempotency_key \$server_protocol';
	access_log ${LG_ACCESS_LOG:-$dir/access.log rid};
	keepalive_requests 100000;
	client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
	uwsgi_temp_path $dir; scgi_temp_path $dir;
	server {
		listen 127.0.0.1:$port reuseport;
		location = / { return 200 "ok\n"; }
		location = /missing { return 404 "no\n"; }
		location = /fail { return 500 "broken\n"; }
		location = /big { root $dir; try_files /big =404; }
		location = /gz { gzip on; gzip_types *; gzip_min_length 0; root $dir; try_files /big =404; }
		location = /post { return 201 "made\n"; }
		${2:-}
	}
}
NGX
	nginx -c "$dir/nginx.conf" -p "$dir" || return 1
	at_exit "kill \$(cat $dir/nginx.pid)"
	NGINX_DIR=$dir
	wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
}

# jq-free JSON field reader: jget FILE a/b/c
jget() { python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("/"): v=v[k]
print(v)' "$1" "$2"; }

# fcmp A OP B: float comparison, e.g. fcmp 1.2 '<' 3
fcmp() { python3 -c "import sys; sys.exit(0 if ($1) $2 ($3) else 1)"; }
