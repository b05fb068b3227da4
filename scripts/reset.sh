#!/usr/bin/env bash
# `npm run reset`: stops the kit and drops its volumes (Redis data). Images stay, so the next
# npm start is still fast.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
docker_up || { ok "no Docker engine running: nothing to reset"; exit 0; }
step "Stopping the kit and dropping its data"
compose --profile all --profile grpc-nginx down --remove-orphans --volumes
ok "reset; npm start begins from an empty Redis"
