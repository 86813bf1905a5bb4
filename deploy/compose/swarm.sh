#!/usr/bin/env bash
# Run the compose swarm: a master and two enrolled agents.
#   DECNET_STATE=/srv/decnet-swarm deploy/compose/swarm.sh up     start, enroll, print the admin password
#   DECNET_STATE=/srv/decnet-swarm deploy/compose/swarm.sh down   stop and remove everything (volumes too)
# Build the image first: CGO_ENABLED=0 go build -o decnet ./cmd/decnet && ./decnet image build --tag decnet:dev
# Each agent joins with a single-use token the master makes; its host id is
# $DECNET_HOST_PREFIX-1 and -2 (default agent-1, agent-2).
set -euo pipefail
cd "$(dirname "$0")"
: "${DECNET_STATE:?set DECNET_STATE to a host directory for the agent state}"
prefix=${DECNET_HOST_PREFIX:-agent}
compose() { docker-compose "$@"; }
mdecnet() { compose exec -T master /usr/bin/decnet "$@"; }

case ${1:-} in
up)
  mkdir -p "$DECNET_STATE/agent-1" "$DECNET_STATE/agent-2"
  chmod 700 "$DECNET_STATE/agent-1" "$DECNET_STATE/agent-2"
  compose up -d master
  for _ in $(seq 1 60); do
    mdecnet swarm hosts --data /var/lib/decnet/master >/dev/null 2>&1 && break
    sleep 1
  done
  for n in 1 2; do
    if [ ! -e "$DECNET_STATE/agent-$n/pki/agent.crt" ]; then
      tok=$(mdecnet swarm join-token --data /var/lib/decnet/master --name "$prefix-$n" --advertise master:7946 --json)
      token=$(printf '%s' "$tok" | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
      ca=$(printf '%s' "$tok" | sed -n 's/.*"ca_hash": *"\([^"]*\)".*/\1/p')
      compose run --rm --no-deps agent-$n agent join --master master:7946 --token "$token" --ca-hash "$ca" \
        --dir "$DECNET_STATE/agent-$n"
    fi
  done
  compose up -d agent-1 agent-2
  echo "API: https://127.0.0.1:${DECNET_API_PORT:-8443}/api/v1"
  compose logs master 2>/dev/null | sed -n 's/.*the admin password is \([^ ]*\).*/admin password: \1/p' | head -n 1
  ;;
down)
  compose down -v --remove-orphans
  ;;
*)
  echo "usage: swarm.sh up|down" >&2
  exit 2
  ;;
esac
