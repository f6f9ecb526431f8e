#!/usr/bin/env bash
# Mix files: an expected 404 counts as a pass; an unexpected 500 is a
# failure and breaks --slo error_rate<0.1% (exit 1). The idempotency mode
# sends each key twice, at once.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"
command -v nginx >/dev/null || { skip mix "(nginx not installed)"; exit 0; }
port=$(lg_port)
lg_nginx "$port" || { fail mix_nginx "(nginx did not start)"; exit 1; }
url=http://127.0.0.1:$port/

cat >"$LG_TMP/good.json" <<'EOF2'
{"requests": [
  {"weight": 3, "path": "/", "expect": 200},
  {"weight": 1, "path": "/missing", "expect": 404}
]}
EOF2
"$LG" "$url" -c 8 -t 1 --requests 2000 --mix "$LG_TMP/good.json" --slo 'error_rate<0.1%' \
	--json "$LG_TMP/good.out.json" --ledger "$LG_TMP/good.ledger" -q >/dev/null 2>&1
check mix_expected_404_exit_0 [ $? -eq 0 ]
check mix_expected_404_all_ok [ "$(jget "$LG_TMP/good.out.json" ok)" -eq 2000 ]
n404=$("$LG" --dump-ledger "$LG_TMP/good.ledger" | awk -F'\t' '$9==404 && $8=="ok" && $15==1' | wc -l)
check mix_weights_about_1_in_4 fcmp "abs($n404 - 500)" '<' 100
check mix_slo_pass [ "$(jget "$LG_TMP/good.out.json" slo/pass)" = True ]

cat >"$LG_TMP/bad.json" <<'EOF2'
{"requests": [
  {"weight": 9, "path": "/", "expect": 200},
  {"weight": 1, "path": "/fail", "expect": 200}
]}
EOF2
"$LG" "$url" -c 8 -t 1 --requests 2000 --mix "$LG_TMP/bad.json" --slo 'error_rate<0.1%' \
	--json "$LG_TMP/bad.out.json" -q >"$LG_TMP/bad.out" 2>&1
check mix_unexpected_500_exit_1 [ $? -eq 1 ]
nst=$(jget "$LG_TMP/bad.out.json" errors/status)
check mix_unexpected_500_counted fcmp "abs($nst - 200)" '<' 80
check mix_failed_equals_status [ "$(jget "$LG_TMP/bad.out.json" failed)" -eq "$nst" ]
check mix_slo_broken_said grep -q 'error_rate<0.1%: .* BROKEN.* FAIL' "$LG_TMP/bad.out"
# without an SLO, failures alone do not change the exit code
"$LG" "$url" -c 8 -t 1 --requests 200 --mix "$LG_TMP/bad.json" -q >/dev/null 2>&1
check mix_no_slo_exit_0 [ $? -eq 0 ]
# latency SLO: nobody answers nginx's "ok" in under a nanosecond
"$LG" "$url" -c 8 -t 1 --requests 200 --slo 'p50<1ns' -q >/dev/null 2>&1
check mix_latency_slo_exit_1 [ $? -eq 1 ]

# idempotency: each key twice, both ids different
cat >"$LG_TMP/idem.json" <<'EOF2'
{"requests": [
  {"method": "POST", "path": "/post", "body": "{\"order\":1}", "expect": 201,
   "headers": {"Content-Type": "application/json"}, "idempotency": "Idempotency-Key"}
]}
EOF2
: >"$NGINX_DIR/access.log"
"$LG" "$url" -c 8 -t 1 --requests 400 --mix "$LG_TMP/idem.json" --json "$LG_TMP/idem.out.json" -q >/dev/null 2>&1
check mix_idem_exit_0 [ $? -eq 0 ]
check mix_idem_all_201 [ "$(jget "$LG_TMP/idem.out.json" ok)" -eq 400 ]
sleep 0.3
awk '$3=="/post" {print $4}' "$NGINX_DIR/access.log" | sort | uniq -c | awk '{print $1}' | sort -u >"$LG_TMP/idem.counts"
check mix_idem_each_key_twice [ "$(cat "$LG_TMP/idem.counts")" = 2 ]
check mix_idem_200_keys [ "$(awk '$3=="/post" {print $4}' "$NGINX_DIR/access.log" | sort -u | wc -l)" -eq 200 ]
check mix_idem_400_ids [ "$(awk '$3=="/post" {print $1}' "$NGINX_DIR/access.log" | sort -u | wc -l)" -eq 400 ]

# big bodies both ways: a 1 MB upload (partial writes) and a 64 KiB download
head -c 1000000 /dev/urandom >"$LG_TMP/body.bin"
"$LG" "${url}post" -X POST --body "$LG_TMP/body.bin" -c 4 -t 1 --requests 100 --json "$LG_TMP/up.json" -q >/dev/null 2>&1
check mix_upload_ok [ "$(jget "$LG_TMP/up.json" ok)" -eq 100 ]
check mix_upload_bytes [ "$(jget "$LG_TMP/up.json" bytes_out)" -ge 100000000 ]
"$LG" "${url}big" -c 4 -t 1 --requests 100 --json "$LG_TMP/down.json" -q >/dev/null 2>&1
check mix_download_ok [ "$(jget "$LG_TMP/down.json" ok)" -eq 100 ]
check mix_download_bytes [ "$(jget "$LG_TMP/down.json" bytes_in)" -ge 6553600 ]

# a chunked response from nginx (gzip on the fly) is read to its end, and
# the connection is reused
"$LG" "${url}gz" -H 'Accept-Encoding: gzip' -c 2 -t 1 --requests 200 --json "$LG_TMP/gz.json" --ledger "$LG_TMP/gz.ledger" -q >/dev/null 2>&1
check mix_chunked_ok [ "$(jget "$LG_TMP/gz.json" ok)" -eq 200 ]
check mix_chunked_keepalive [ "$("$LG" --dump-ledger "$LG_TMP/gz.ledger" | awk -F'\t' 'NR>1 {print $11}' | sort -u | wc -l)" -eq 2 ]
check mix_chunked_was_chunked grep -q 'Transfer-Encoding: chunked' <(printf 'GET /gz HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n' | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
d = b""
while True:
    b = s.recv(65536)
    if not b: break
    d += b
print(d.split(b"\r\n\r\n")[0].decode())' "$port" 2>/dev/null)
