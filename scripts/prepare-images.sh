#!/usr/bin/env bash
# Decides which image every compose service runs, and makes sure each one is here:
#   1. an *_IMAGE variable set by you wins;
#   2. else the official image, if it is already here or can be pulled;
#   3. else a stand-in built offline from Debian packages (scripts/build-standin-images.sh).
#      Envoy has none: ENVOY_AVAILABLE=0, and nginx (grpc-nginx) is the gRPC front door instead.
# Then builds the kit's own images (users, chat) on the chosen Node image.
# Writes the choices to .tmp/images.env, which compose-driving scripts and the container tests read,
# and to compose/.env, which compose itself reads when run by hand.
# A pull that failed once is not tried again (fast re-runs); CLUSTERKIT_REFRESH_IMAGES=1 retries.
#
# Usage: scripts/prepare-images.sh [--no-build | SERVICE...]   (services to build: users chat; default both)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

build_services=(users chat)
if [[ ${1:-} == --no-build ]]; then build_services=()
elif [[ $# -gt 0 ]]; then build_services=("$@"); fi

mkdir -p "$REPO_ROOT/.tmp"
declare -A previous=()
if [[ -r $IMAGES_ENV && ${CLUSTERKIT_REFRESH_IMAGES:-0} != 1 ]]; then
  while IFS='=' read -r key value; do [[ -n $key && $key != \#* ]] && previous[$key]=$value; done <"$IMAGES_ENV"
fi

standins_wanted=()
declare -A chosen=()

# pick VAR official standin-tag standin-target
pick() {
  local var=$1 official=$2 standin=$3 target=$4
  if [[ -n ${!var:-} ]]; then chosen[$var]=${!var}; info "$var=${!var} (set by you)"; return; fi
  if docker image inspect "$official" >/dev/null 2>&1; then chosen[$var]=$official; ok "$official (already here)"; return; fi
  if [[ ${previous[${var}_PULL]:-} != failed ]] && timeout 120 docker pull -q "$official" >/dev/null 2>&1; then
    chosen[$var]=$official; ok "$official (pulled)"; return
  fi
  chosen[${var}_PULL]=failed
  if [[ -z $standin ]]; then chosen[$var]=""; warn "$official cannot be pulled and has no stand-in"; return; fi
  chosen[$var]=$standin
  standins_wanted+=("$target")
  info "$official cannot be pulled: using the stand-in $standin"
}

step "Images (official when they can be pulled, else offline stand-ins)"
pick NODE_IMAGE node:20-bookworm-slim clusterkit/standin-node:20 node
pick REDIS_IMAGE redis:7 clusterkit/standin-redis:7 redis
pick NGINX_IMAGE nginx:1.27 clusterkit/standin-nginx:1.22 nginx
pick ENVOY_IMAGE envoyproxy/envoy:v1.31-latest "" ""

if [[ ${#standins_wanted[@]} -gt 0 ]]; then
  [[ $(id -u) == 0 ]] || fail "building stand-in images needs root (debootstrap): run as root, or make the official images available"
  if ! command -v debootstrap >/dev/null && is_debian_root; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  bash "$REPO_ROOT/scripts/build-standin-images.sh" "${standins_wanted[@]}"
fi

ENVOY_AVAILABLE=0
[[ -n ${chosen[ENVOY_IMAGE]} ]] && ENVOY_AVAILABLE=1
{
  echo "# Written by scripts/prepare-images.sh; delete it (or CLUSTERKIT_REFRESH_IMAGES=1) to choose again."
  for key in NODE_IMAGE REDIS_IMAGE NGINX_IMAGE ENVOY_IMAGE NODE_IMAGE_PULL REDIS_IMAGE_PULL NGINX_IMAGE_PULL ENVOY_IMAGE_PULL; do
    [[ -v chosen[$key] ]] && echo "$key=${chosen[$key]}"
  done
  echo "ENVOY_AVAILABLE=$ENVOY_AVAILABLE"
} >"$IMAGES_ENV.tmp"
mv "$IMAGES_ENV.tmp" "$IMAGES_ENV"
# compose reads .env beside the compose file by itself (v1 and v2), so a hand-typed
# `docker compose -f compose/compose.yaml ...` uses the same images and project name. Git ignores it.
{
  echo "# Written by scripts/prepare-images.sh (the images this machine can run)."
  echo "COMPOSE_PROJECT_NAME=$COMPOSE_PROJECT"
  for key in NODE_IMAGE REDIS_IMAGE NGINX_IMAGE ENVOY_IMAGE; do
    [[ -n ${chosen[$key]:-} ]] && echo "$key=${chosen[$key]}"
  done
} >"$REPO_ROOT/compose/.env"
if [[ $ENVOY_AVAILABLE == 0 ]]; then
  warn "No Envoy image: nginx (nginx/grpc.conf, service grpc-nginx) is the gRPC front door on :9000"
  warn "in its place (npm run check:envoy still validates envoy.yaml)."
fi

if [[ ${#build_services[@]} -gt 0 ]]; then
  step "Building the kit's images (${build_services[*]}) on ${chosen[NODE_IMAGE]}"
  # The images run the services compiled: bring the shared packages' dist/ (packages/*), grpc-demo/dist
  # and websocket-chat/dist up to date (tsc -b, only when src/ changed), since the image builds copy
  # them instead of compiling.
  node "$REPO_ROOT/scripts/ensure-built.mjs" packages/redis-kit packages/service-kit grpc-demo websocket-chat ||
    fail "compiling packages/redis-kit, packages/service-kit, grpc-demo and websocket-chat failed (tsc -b above)"
  # The CA bundle lets npm inside the build work behind a TLS-intercepting proxy.
  [[ -r /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$REPO_ROOT/.tmp/ca-certificates.crt"
  for service in "${build_services[@]}"; do
    started=$SECONDS
    log="$REPO_ROOT/.tmp/build-$service.log"
    compose --profile all build --force-rm "$service" >"$log" 2>&1 ||
      { tail -30 "$log" >&2; fail "building the $service image failed (log: .tmp/build-$service.log)"; }
    ok "$service image built ($((SECONDS - started)) s)"
  done
fi
