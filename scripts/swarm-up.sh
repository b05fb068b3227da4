#!/usr/bin/env bash
# `npm run swarm:up`: the kit as a Docker swarm stack on this engine (made a single-node swarm if
# it is in none): `docker stack deploy` of compose/compose.yaml (what swarm can take of it,
# scripts/swarm/stack-base.ts) with compose/stack.yaml merged over it (replicas, rolling updates,
# restart policy, resources, published ports), then waits until every task is healthy.
# Running it again on a changed file is a rolling update of what changed.
#
# Options: --no-build      use the kit's images as they are (scripts/prepare-images.sh not building)
#          -c FILE         one more compose file merged last (the container tests publish replicas)
#          --check         once converged, check it from the host (scripts/check-stack.sh)
# Env: STACK_NAME (clusterkit-swarm), NGINX_PORT (8080), ENVOY_PORT (9000): the same host ports
#      as `npm start`, so stop one before the other or set others; SWARM_WAIT_SECONDS (300);
#      every *_IMAGE variable of compose/compose.yaml.
set -euo pipefail
# shellcheck source=scripts/swarm/lib.sh
. "$(dirname "$0")/swarm/lib.sh"
cd "$REPO_ROOT"
build=1 check=0 extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --no-build) build=0 ;;
    --check) check=1 ;;
    -c) [[ $# -ge 2 ]] || fail "-c needs a file"; extra+=(-c "$2"); shift ;;
    *) fail "unknown option '$1' (npm run swarm:up [-- --no-build] [-- -c FILE] [-- --check])" ;;
  esac
  shift
done
began=$SECONDS
mkdir -p .tmp/swarm
# cookie pins a session to a replica only inside nginx's own /16 (chat-lb/cookie.conf), and in the
# stack nginx takes clients on docker_gwbridge (host-mode ports), not on the chat's network: every
# pin would be ignored and long-polling sessions would break. ip_hash and hash work.
[[ ${CHAT_LB:-ip_hash} != cookie ]] || fail "CHAT_LB=cookie does not work in the swarm stack (see compose/README.md); use ip_hash or hash"

step "Docker engine and swarm"
ensure_node_modules
ensure_docker
ensure_swarm

if ((build)); then bash scripts/prepare-images.sh; else bash scripts/prepare-images.sh --no-build >/dev/null; fi
load_images_env
# The gRPC front door, as npm start picks it: Envoy where its image exists, else nginx/grpc.conf.
if [[ ${ENVOY_AVAILABLE:-0} == 1 ]]; then export ENVOY_REPLICAS=1 GRPC_NGINX_REPLICAS=0; front_door=envoy
else export ENVOY_REPLICAS=0 GRPC_NGINX_REPLICAS=1; front_door=grpc-nginx; fi

step "Deploying stack $STACK_NAME (front door: $front_door)"
base=.tmp/swarm/$STACK_NAME.base.yaml
node --import tsx scripts/swarm/stack-base.ts "$base"
# --resolve-image never: the images are local (built or imported here), there is no registry to ask.
# Docker >= 26 waits for convergence unless --detach (older CLIs know no such flag); stack_wait waits.
detach=()
docker stack deploy --help 2>/dev/null | grep -q -- '--detach' && detach=(--detach=true)
docker stack deploy --resolve-image never --prune "${detach[@]}" -c "$base" -c compose/stack.yaml "${extra[@]}" "$STACK_NAME" \
  >.tmp/swarm/deploy.log 2>&1 || { cat .tmp/swarm/deploy.log >&2; fail "docker stack deploy failed"; }
deployed=$SECONDS

step "Waiting until every task is running and healthy"
stack_wait "${SWARM_WAIT_SECONDS:-300}"
while read -r service replicas _; do ok "$service $replicas"; done < <(stack_status)
step "Converged in $((SECONDS - deployed)) s (all in $((SECONDS - began)) s)"

nginx_port=${NGINX_PORT:-8080}
grpc_port=${ENVOY_PORT:-9000}
cat <<INFO
    Chat (through nginx, ${CHAT_LB:-ip_hash}):  ${BOLD}http://localhost:${nginx_port}${RESET}
    gRPC front door ($front_door):    localhost:${grpc_port}    npm run -s grpc -- --target localhost:${grpc_port} list

    Try next:
      docker stack ps $STACK_NAME                                 # every task, and where each update is
      docker service update --force ${STACK_NAME}_chat            # a rolling update: one replica at a time, start-first
      docker service scale ${STACK_NAME}_chat=5                   # nginx picks them up (run.sh watches DNS)
      docker service logs -f ${STACK_NAME}_chat
      npm run swarm:down              # stack gone, Redis volume kept    npm run swarm:down -- --volumes --leave
INFO

if ((check)); then
  step "Checking the stack from the host (--check)"
  NGINX_PORT=$nginx_port GRPC_TARGET=127.0.0.1:$grpc_port bash scripts/check-stack.sh
fi
