#!/usr/bin/env bash
# CI preparation for the container tests, on a fresh Debian machine as root with no stdin:
#   apt: docker.io, docker-compose, debootstrap -> dockerd running -> images (official if pullable,
#   else offline stand-ins) -> the kit's users and chat images built.
# Idempotent: a second run on the same machine takes seconds (installed packages, a running
# daemon, and images tagged by recipe are all reused).
# Does not run `npm ci` (.ci/run does, before calling this).
#
# Usage (from the repo root): bash scripts/ci-prepare.sh
# Afterwards `npm test` runs the containers project against this engine.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
export DEBIAN_FRONTEND=noninteractive
began=$SECONDS

is_debian_root || fail "ci-prepare needs root on Debian (apt-get)"

step "System packages (docker.io, docker-compose, debootstrap)"
missing=()
for bin in dockerd:docker.io docker-compose:docker-compose debootstrap:debootstrap; do
  command -v "${bin%%:*}" >/dev/null || missing+=("${bin#*:}")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
ok "installed ($((SECONDS - began)) s)"

step "Docker engine"
ensure_docker

bash "$REPO_ROOT/scripts/prepare-images.sh" users chat
step "CI preparation done in $((SECONDS - began)) s"
