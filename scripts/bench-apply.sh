#!/usr/bin/env bash
# Measures the Docker driver: time to apply N deckies on one LAN (cold: the
# decky image is built first; warm: a second topology of N new deckies) and
# the RSS of each idle decky process. Needs root and a Docker engine.
# Usage: scripts/bench-apply.sh [N]
set -euo pipefail
n=${1:-50}
work=$(mktemp -d)
trap 'kill $agent_pid 2>/dev/null; wait $agent_pid 2>/dev/null; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/decnet" ./cmd/decnet
sock="$work/agent.sock"
"$work/decnet" agent --dir "$work/agent" --socket "$sock" --host-id "bench-$$" --log-level warn &
agent_pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
b=$((RANDOM % 250))
for round in 1 2; do
  cat > "$work/fleet$round.yaml" <<YAML
name: bench$round
seed: 00112233445566778899aabbccddee0$round
lans: [{name: lan, subnet: 10.251.$((b + round - 1)).0/24, dmz: true}]
deckies:
YAML
  for i in $(seq "$n"); do
    printf '  - {name: d%03d, persona: {os: linux, distro: debian}, addresses: [{lan: lan, ip: 10.251.%d.%d}], services: []}\n' "$i" $((b + round - 1)) $((i + 9)) >> "$work/fleet$round.yaml"
  done
  start=$(date +%s.%N)
  "$work/decnet" agent apply --socket "$sock" "$work/fleet$round.yaml" >/dev/null
  end=$(date +%s.%N)
  what=$([ "$round" = 1 ] && echo "cold, image build included" || echo "superseding the previous $n")
  echo "round $round ($what): applied $n deckies in $(echo "$end - $start" | bc) s"
done
total=0
for pid in $(docker ps -q --filter "label=io.decnet.agent=bench-$$" | xargs docker inspect -f '{{.State.Pid}}'); do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  total=$((total + rss))
done
echo "RSS per idle decky: $((total / n)) KiB (mean over $n)"
image=$(docker ps --filter "label=io.decnet.agent=bench-$$" --format '{{.Image}}' | head -n 1)
"$work/decnet" agent teardown --socket "$sock" >/dev/null
# The reference, same engine, same run: docker run of n containers of the
# decky image (which exit at once) on one user network with an address
# each, 16 at a time, then docker rm of them.
net="bench-ref-$$"
docker network create --label "io.decnet.bench=ref-$$" --subnet "10.251.$((b + 2)).0/24" "$net" >/dev/null
start=$(date +%s.%N)
seq 10 $((n + 9)) | xargs -P 16 -I{} docker run -d --label "io.decnet.bench=ref-$$" --network "$net" --ip "10.251.$((b + 2)).{}" \
  --read-only --cap-drop ALL --memory 256m "$image" version >/dev/null
end=$(date +%s.%N)
echo "reference: docker run of $n containers of the decky image on one network, 16 at a time: $(echo "$end - $start" | bc) s"
docker ps -aq --filter "label=io.decnet.bench=ref-$$" | xargs -r docker rm -f >/dev/null
docker network rm "$net" >/dev/null || echo "left network $net behind (the engine still lists an endpoint)"
docker rmi "$image" >/dev/null 2>&1 || true
