#!/usr/bin/env bash
# The curl engine: same ids in the same header, same ledger, over http and
# over https with HTTP/2.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_loadgen.sh"
command -v nginx >/dev/null || { skip curl "(nginx not installed)"; exit 0; }
port=$(lg_port)
sport=$((port + 1))
tls=""
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$LG_TMP/key.pem" -out "$LG_TMP/cert.pem" \
		-days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1 &&
		tls="} server { listen 127.0.0.1:$sport ssl http2; ssl_certificate $LG_TMP/cert.pem; ssl_certificate_key $LG_TMP/key.pem; location = / { return 200 \"ok\\n\"; }"
fi
lg_nginx "$port" "$tls" || { fail curl_nginx "(nginx did not start)"; exit 1; }

"$LG" "http://127.0.0.1:$port/" --engine curl -c 8 -t 2 --requests 2000 \
	--ledger "$LG_TMP/c.ledger" --json "$LG_TMP/c.json" -q >"$LG_TMP/c.out" 2>&1
check curl_exit_0 [ $? -eq 0 ]
check curl_engine_named [ "$(jget "$LG_TMP/c.json" engine)" = curl ]
check curl_2000_ok [ "$(jget "$LG_TMP/c.json" ok)" -eq 2000 ]
sleep 0.3
"$LG" --dump-ledger "$LG_TMP/c.ledger" | awk -F'\t' 'NR>1 {print $1"\t"$9}' | sort >"$LG_TMP/lg.ids"
awk '$3=="/" {print $1"\t"$2}' "$NGINX_DIR/access.log" | sort >"$LG_TMP/nginx.ids"
check curl_nginx_same_ids diff -q "$LG_TMP/lg.ids" "$LG_TMP/nginx.ids"
check curl_local_ports [ "$("$LG" --dump-ledger "$LG_TMP/c.ledger" | awk -F'\t' 'NR>1 && $11==0' | wc -l)" -eq 0 ]
check curl_v2_addrs [ "$("$LG" --dump-ledger "$LG_TMP/c.ledger" | awk -F'\t' -v p="$port" 'NR>1 && ($18!="127.0.0.1" || $19!="127.0.0.1" || $20!=p)' | wc -l)" -eq 0 ]
check curl_socket_cookies [ "$("$LG" --dump-ledger "$LG_TMP/c.ledger" | awk -F'\t' 'NR>1 && $17==0' | wc -l)" -eq 0 ]

if [ -n "$tls" ]; then
	"$LG" "https://127.0.0.1:$sport/" -k -c 4 -t 1 --requests 500 --json "$LG_TMP/s.json" -q >/dev/null 2>&1
	check curl_https_exit_0 [ $? -eq 0 ]
	check curl_https_500_ok [ "$(jget "$LG_TMP/s.json" ok)" -eq 500 ]
	check curl_https_default_engine [ "$(jget "$LG_TMP/s.json" engine)" = curl ]
	sleep 0.3
	check curl_https_http2 [ "$(awk '$5=="HTTP/2.0"' "$NGINX_DIR/access.log" | wc -l)" -eq 500 ]
	# without -k the self-signed certificate is refused, by kind, not a crash
	"$LG" "https://127.0.0.1:$sport/" -c 2 -t 1 --requests 20 --json "$LG_TMP/v.json" -q >/dev/null 2>&1
	check curl_https_verify_fails [ "$(jget "$LG_TMP/v.json" ok)" -eq 0 ] 
else
	skip curl_https "(openssl not installed)"
fi
# refused, through curl
"$LG" "http://127.0.0.1:9/" --engine curl -c 2 -t 1 --requests 20 --json "$LG_TMP/r.json" -q >/dev/null 2>&1
check curl_refused_counted [ "$(jget "$LG_TMP/r.json" errors/connect)" -eq 20 ]
