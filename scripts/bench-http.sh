#!/usr/bin/env bash
# Requests per second of the http decky against Debian's nginx, side by
# side on this machine: both serve their default page on loopback to the
# same wrk load. Prints both figures and the ratio.
# Usage: scripts/bench-http.sh [seconds] [connections] [rounds]
set -euo pipefail
secs=${1:-10}
conns=${2:-64}
work=$(mktemp -d)
chmod 755 "$work"
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null; kill $decky_pid 2>/dev/null; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/decnet" ./cmd/decnet
version=$(nginx -v 2>&1 | sed 's/.*version: //')
mkdir -p "$work/html" && cp /var/www/html/index.nginx-debian.html "$work/html/index.html"
cat > "$work/nginx.conf" <<CONF
worker_processes 1; pid $work/nginx.pid; error_log $work/error.log;
events { worker_connections 1024; }
http { access_log off; include /etc/nginx/mime.types;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:18080; root $work/html; }
  server { listen 127.0.0.1:18081; root $work/html; access_log $work/access.log; } }
CONF
nginx -c "$work/nginx.conf"
cat > "$work/spec.yaml" <<SPEC
name: bench
seed: 00112233445566778899aabbccddeeff
lans: [{name: lo, subnet: 127.66.0.0/24, dmz: true}]
deckies:
  - name: web
    persona: {os: linux, distro: debian, hostname: web01}
    addresses: [{lan: lo, ip: 127.66.0.10}]
    services: [http]
    service_config: {http: {server_header: "$version"}}
SPEC
"$work/decnet" decky run --spec "$work/spec.yaml" --decky web --spool "$work/spool" --log-level warn &
decky_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.66.0.10/ && break; sleep 0.1; done
rps() { wrk -t2 -c"$conns" -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
# Rounds alternate the three servers, so a change of load on a shared
# machine hits all of them; each round's ratio is against the nginx of the
# same round, and the median round is the figure.
rounds=${3:-3}
ratios_off=() ratios_on=()
for r in $(seq "$rounds"); do
  ngx=$(rps http://127.0.0.1:18080/)
  ngxlog=$(rps http://127.0.0.1:18081/)
  dky=$(rps http://127.66.0.10/)
  off=$(echo "scale=2; $dky / $ngx" | bc) on=$(echo "scale=2; $dky / $ngxlog" | bc)
  ratios_off+=("$off") ratios_on+=("$on")
  echo "round $r: nginx $version log off $ngx req/s, log on $ngxlog req/s; http decky $dky req/s; ratio $off (log off), $on (log on)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median ratio decky/nginx over $rounds rounds: $(median "${ratios_off[@]}") (log off), $(median "${ratios_on[@]}") (log on)"
