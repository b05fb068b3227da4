#!/usr/bin/env bash
# `npm run down`: stops and removes the kit's containers; the Redis volume (users, history) stays.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
docker_up || { ok "no Docker engine running: nothing to stop"; exit 0; }
step "Stopping the kit (data kept)"
compose --profile all --profile grpc-nginx down --remove-orphans
ok "stopped; npm start brings it back with the same data"
