# The swarm scripts' helpers (swarm-up, swarm-down), on top of scripts/lib.sh. Source it.
# shellcheck shell=bash
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# Not `clusterkit`: that is the compose project's name, and the stack would share its network
# name and its Redis volume (two Redis servers on one append-only file).
STACK_NAME=${STACK_NAME:-clusterkit-swarm}

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

# Makes this engine a single-node swarm manager unless it is in a swarm already. The advertise
# address only matters to other nodes: 127.0.0.1 when the engine cannot pick one by itself
# (several addresses, or none but loopback).
ensure_swarm() {
  local state
  state=$(swarm_state)
  case $state in
    active) ok "engine is a swarm node already" ;;
    inactive)
      docker swarm init >/dev/null 2>&1 || docker swarm init --advertise-addr 127.0.0.1 >/dev/null ||
        fail "docker swarm init failed"
      ok "docker swarm init: this engine is now a single-node swarm (npm run swarm:down -- --leave undoes it)" ;;
    *) fail "the engine's swarm state is '$state': expected active or inactive (docker info)" ;;
  esac
}

# The stack's services as `name running/desired update-state`, one a line.
stack_status() {
  local ids
  ids=$(docker service ls -q --filter "label=com.docker.stack.namespace=$STACK_NAME")
  [[ -z $ids ]] && return
  # shellcheck disable=SC2086
  docker service inspect --format '{{.Spec.Name}} {{if .UpdateStatus}}{{.UpdateStatus.State}}{{else}}none{{end}}' $ids |
    sort | join - <(docker service ls --filter "label=com.docker.stack.namespace=$STACK_NAME" --format '{{.Name}} {{.Replicas}}' | sort) |
    awk '{print $1, $3, $2}'
}

# Waits until every service of the stack runs as many tasks as it wants, each passed its health
# check (swarm counts a task as running only then), with no update or rollback under way.
# Fails at once when an update is paused (swarm waits for a person then), and after $1 seconds
# otherwise, listing what is missing and why tasks did not start. A service whose last update
# was rolled back converges on its previous spec: said, not failed (the rollback may be old).
stack_wait() {
  local timeout=$1 deadline=$((SECONDS + $1)) status waiting
  while :; do
    status=$(stack_status)
    if grep -qE ' (paused|rollback_paused)$' <<<"$status"; then
      grep -E ' (paused|rollback_paused)$' <<<"$status" >&2
      fail "an update of stack $STACK_NAME is paused: docker service ps --no-trunc <service> says why"
    fi
    waiting=$(awk '{ split($2, r, "/"); if ($2 !~ /^[0-9]+\/[0-9]+$/ || r[1] != r[2] || $3 ~ /^(updating|rollback_started)$/) print }' <<<"$status")
    if [[ -n $status && -z $waiting ]]; then
      while read -r service _; do warn "$service: its last update was rolled back (docker service inspect $service)"; done < <(grep ' rollback_completed$' <<<"$status" || true)
      return 0
    fi
    if ((SECONDS > deadline)); then
      printf '%s\n' "$waiting" >&2
      docker stack ps --no-trunc --filter desired-state=running --format '{{.Name}} {{.CurrentState}} {{.Error}}' "$STACK_NAME" >&2 || true
      fail "stack $STACK_NAME not converged after $timeout s"
    fi
    sleep 1
  done
}
