#!/usr/bin/env bash
# `npm run swarm:down`: removes the stack swarm:up deployed and waits until its containers and
# network are gone (`docker stack rm` only asks for it). The Redis volume stays unless --volumes.
# Options: --volumes  also drop the stack's volumes (Redis data)
#          --leave    then leave the swarm, if no other stack is left on it (and drop docker_gwbridge)
# Env: STACK_NAME (clusterkit-swarm), SWARM_WAIT_SECONDS (120).
set -euo pipefail
# shellcheck source=scripts/swarm/lib.sh
. "$(dirname "$0")/swarm/lib.sh"
volumes=0 leave=0
for arg in "$@"; do
  case $arg in
    --volumes) volumes=1 ;;
    --leave) leave=1 ;;
    *) fail "unknown option '$arg' (npm run swarm:down [-- --volumes] [-- --leave])" ;;
  esac
done
docker_up || { ok "no Docker engine running: nothing to stop"; exit 0; }
[[ $(swarm_state) == active ]] || { ok "the engine is in no swarm: no stack to remove"; exit 0; }

label="label=com.docker.stack.namespace=$STACK_NAME"
step "Removing stack $STACK_NAME"
docker stack rm "$STACK_NAME" >/dev/null
deadline=$((SECONDS + ${SWARM_WAIT_SECONDS:-120}))
# Tasks stop with their grace period; the network goes once its last container has.
while [[ -n $(docker ps -aq --filter "$label") || -n $(docker network ls -q --filter "$label") ]]; do
  ((SECONDS < deadline)) || fail "stack $STACK_NAME still has containers or networks after ${SWARM_WAIT_SECONDS:-120} s"
  sleep 1
done
ok "services, containers and network gone"
if ((volumes)); then
  mapfile -t names < <(docker volume ls -q --filter "$label")
  [[ ${#names[@]} -gt 0 ]] && docker volume rm "${names[@]}" >/dev/null
  ok "volumes dropped${names[*]:+: ${names[*]}}"
fi
if ((leave)); then
  if [[ -n $(docker stack ls --format '{{.Name}}') ]]; then warn "other stacks remain: staying in the swarm"
  else
    docker swarm leave --force >/dev/null && ok "left the swarm"
    # swarm init made it (the bridge of swarm tasks' outside traffic); nothing else uses it.
    docker network rm docker_gwbridge >/dev/null 2>&1 || true
  fi
fi
