#!/usr/bin/env bash
# `npm start`: from a fresh machine to the whole kit running, step by step, idempotent.
#   npm deps -> Docker engine -> images (pull, else offline stand-ins) -> compose profile `all`
#   (3 chat, 2 users) -> wait until every container is healthy -> URLs and what to try.
# Env: CHAT_REPLICAS (3), USERS_REPLICAS (2), NGINX_PORT (8080), ENVOY_PORT (9000), and every
# *_IMAGE variable of compose/compose.yaml.
# --check: once healthy, check the stack from the host (scripts/check-stack.sh), then stop it
#          (`npm run down`): what CI runs, the README's command proved on every change.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
check=0
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    *) fail "unknown option '$arg' (npm start [-- --check])" ;;
  esac
done
mkdir -p .tmp
began=$SECONDS

step "Node.js and npm dependencies"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  fail "Node.js >= 20.19 is needed (this is $(node --version))"
ensure_node_modules
ok "node $(node --version), dependencies installed"

step "Docker engine"
ensure_docker

bash "$REPO_ROOT/scripts/prepare-images.sh"
load_images_env

chat_replicas=${CHAT_REPLICAS:-3}
users_replicas=${USERS_REPLICAS:-2}
services=(redis users chat nginx)
profiles=(--profile all)
# The gRPC front door on :9000: Envoy, else nginx/grpc.conf in its place (never both: one port).
if [[ ${ENVOY_AVAILABLE:-0} == 1 ]]; then services+=(envoy); front_door="Envoy"
else services+=(grpc-nginx); profiles+=(--profile grpc-nginx); front_door="nginx, Envoy's stand-in"; fi
step "Starting profile all: ${services[*]} (chat x$chat_replicas, users x$users_replicas)"
compose "${profiles[@]}" up -d --no-build --scale "chat=$chat_replicas" --scale "users=$users_replicas" "${services[@]}" \
  >.tmp/up.log 2>&1 || { tail -30 .tmp/up.log >&2; fail "compose up failed (log: .tmp/up.log)"; }

step "Waiting for every container to be healthy"
deadline=$((SECONDS + 180))
while :; do
  states=$(docker ps -a --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" \
    --format '{{.Label "com.docker.compose.service"}} {{.State}} {{.Status}}')
  waiting=$(grep -v -E 'running Up .*\(healthy\)' <<<"$states" | grep -v -E '^envoy running' || true)
  [[ -z $waiting ]] && break
  if ((SECONDS > deadline)); then
    printf '%s\n' "$waiting" >&2
    fail "not healthy after 180 s: see '$(compose_cmd) -p $COMPOSE_PROJECT -f compose/compose.yaml logs'"
  fi
  sleep 2
done
while read -r service count; do ok "$service: $count healthy"; done < <(awk '{print $1}' <<<"$states" | sort | uniq -c | awk '{print $2, $1}')

nginx_port=${NGINX_PORT:-8080}
grpc_port=${ENVOY_PORT:-9000}
grpc_target=localhost:$grpc_port

step "Ready in $((SECONDS - began)) s"
cat <<INFO
    Chat (web client, through nginx):   ${BOLD}http://localhost:${nginx_port}${RESET}   open it in two browsers or a private window
    REST (the page's users form):       POST/PUT/DELETE http://localhost:${nginx_port}/api/users
INFO
cat <<INFO
    gRPC front door (${front_door}):  localhost:${grpc_port}    npm run -s grpc -- --target localhost:${grpc_port} list
INFO
if [[ ${ENVOY_AVAILABLE:-0} == 1 ]]; then
  cat <<INFO
    Envoy admin (per-replica counts):   http://localhost:${ENVOY_ADMIN_PORT:-9901}/clusters
INFO
else
  cat <<INFO
      ${YELLOW}No Envoy image here (it cannot be pulled and has no stand-in): nginx/grpc.conf is the
      front door instead, round robin per call over the users replicas.${RESET}
INFO
fi
cat <<INFO

    Try next:
      npm run -s grpc -- --target localhost:${grpc_port} subscribe      # live user changes; create one in another terminal
      docker kill \$(docker ps -q --filter label=com.docker.compose.project=$COMPOSE_PROJECT --filter label=com.docker.compose.service=chat | head -1)
                       # ^ kills one chat replica: its clients reconnect through nginx and lose nothing
      $(compose_cmd) -p $COMPOSE_PROJECT -f compose/compose.yaml --profile all up -d --no-build --scale chat=5 chat   # nginx picks them up
      CHAT_LB=cookie npm start   # one laptop's tabs on different replicas (default ip_hash: one address, one replica)
      npm run down     # stop, keep data        npm run reset    # stop and drop the Redis volume
INFO

if ((check)); then
  trap 'bash "$REPO_ROOT/scripts/down.sh" >/dev/null 2>&1 || true' EXIT
  step "Checking the stack from the host (--check), then stopping it"
  NGINX_PORT=$nginx_port GRPC_TARGET=${grpc_target} bash "$REPO_ROOT/scripts/check-stack.sh"
fi
