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
"$work/decnet" agent teardown --socket "$sock" >/dev/null
