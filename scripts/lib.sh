# Shared by the host scripts (start, down, reset, test-prepare, check-stack, prepare-images). Source it.
# shellcheck shell=bash

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMPOSE_FILE="$REPO_ROOT/compose/compose.yaml"
# One project name for every command, so `down` finds what `start` made.
COMPOSE_PROJECT=${COMPOSE_PROJECT_NAME:-clusterkit}
IMAGES_ENV="$REPO_ROOT/.tmp/images.env"

if [[ -t 1 ]]; then BOLD=$'\033[1m' RED=$'\033[31m' GREEN=$'\033[32m' YELLOW=$'\033[33m' RESET=$'\033[0m'
else BOLD="" RED="" GREEN="" YELLOW="" RESET=""; fi

step() { printf '%s==>%s %s\n' "$BOLD" "$RESET" "$*"; }
info() { printf '    %s\n' "$*"; }
ok() { printf '    %s✓%s %s\n' "$GREEN" "$RESET" "$*"; }
warn() { printf '    %s!%s %s\n' "$YELLOW" "$RESET" "$*"; }
fail() { printf '%s✗ %s%s\n' "$RED" "$*" "$RESET" >&2; exit 1; }

is_debian_root() { [[ $(id -u) == 0 && -r /etc/debian_version ]] && command -v apt-get >/dev/null; }

docker_up() { docker info >/dev/null 2>&1; }

# apt_install PACKAGE...: as root on Debian, installs with one line saying what (no prompt).
apt_install() {
  info "installing $* (apt-get, Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq "$@" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq "$@" >/dev/null || fail "apt-get could not install $*"
  fi
}

# npm ci when node_modules is missing or older than the lockfile (a fresh clone, a pulled change).
ensure_node_modules() {
  if [[ ! -d $REPO_ROOT/node_modules || $REPO_ROOT/package-lock.json -nt $REPO_ROOT/node_modules/.package-lock.json ]]; then
    info "installing npm dependencies (npm ci)"
    mkdir -p "$REPO_ROOT/.tmp"
    (cd "$REPO_ROOT" && npm ci --no-audit --no-fund >.tmp/npm-ci.log 2>&1) || {
      # Another npm major can refuse a lockfile it did not write; install from it without rewriting it.
      warn "npm ci refused the lockfile; installing from it with npm install --no-save instead"
      (cd "$REPO_ROOT" && npm install --no-save --no-audit --no-fund >>.tmp/npm-ci.log 2>&1) || {
        tail -20 "$REPO_ROOT/.tmp/npm-ci.log" >&2
        fail "npm install failed (log: .tmp/npm-ci.log)"
      }
    }
    rm -f "$REPO_ROOT/.tmp/npm-ci.log"
  fi
}

# Finds a running Docker engine; on Debian as root installs and starts one; elsewhere says what to do.
ensure_docker() {
  if docker_up; then ok "Docker engine $(docker info --format '{{.ServerVersion}}' 2>/dev/null) is running"; return; fi
  if ! command -v dockerd >/dev/null || ! { command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1; } ||
     ! command -v debootstrap >/dev/null; then
    if is_debian_root; then
      apt_install docker.io docker-compose debootstrap
    elif ! command -v docker >/dev/null; then
      fail "No Docker engine found. Install Docker Desktop (macOS/Windows) or Docker Engine with the compose plugin (Linux), start it, and run npm start again."
    fi
  fi
  if ! docker_up; then
    if [[ $(id -u) == 0 ]] && command -v dockerd >/dev/null; then
      info "starting dockerd (log: /var/log/clusterkit-dockerd.log)"
      # setsid + nohup: the daemon outlives this script and its terminal.
      setsid nohup dockerd >/var/log/clusterkit-dockerd.log 2>&1 </dev/null &
      for _ in $(seq 1 60); do docker_up && break; sleep 0.5; done
      docker_up || fail "dockerd did not start; see /var/log/clusterkit-dockerd.log"
    else
      fail "Docker is installed but its engine is not running: start Docker (Desktop, or 'sudo systemctl start docker') and run npm start again."
    fi
  fi
  ok "Docker engine $(docker info --format '{{.ServerVersion}}') is running"
  # Compose v2 is what Docker Desktop and Docker's packages ship; bookworm only has 1.29, so as
  # root on Debian add the v2 plugin from the next release's package (checked like apt would).
  # Best effort: the kit also runs on 1.29.
  if ! docker compose version >/dev/null 2>&1 && is_debian_root; then
    info "installing the docker compose v2 plugin (scripts/install-compose-v2.sh)"
    bash "$REPO_ROOT/scripts/install-compose-v2.sh" >/dev/null 2>&1 || warn "could not install compose v2; using docker-compose 1.29"
  fi
}

# `docker compose` (v2) when the plugin is there, else `docker-compose` (1.29).
# CLUSTERKIT_COMPOSE picks one ("docker compose" or "docker-compose"): CI runs the kit with both.
compose_cmd() {
  if [[ -n ${CLUSTERKIT_COMPOSE:-} ]]; then echo "$CLUSTERKIT_COMPOSE"
  elif docker compose version >/dev/null 2>&1; then echo "docker compose"
  elif command -v docker-compose >/dev/null; then echo "docker-compose"
  else fail "neither 'docker compose' nor 'docker-compose' is installed"; fi
}

# Loads the image choices that prepare-images.sh made (REDIS_IMAGE, NGINX_IMAGE, ...).
load_images_env() {
  if [[ -r $IMAGES_ENV ]]; then
    set -a
    # shellcheck disable=SC1090
    . "$IMAGES_ENV"
    set +a
  fi
}

# compose ARGS...: the project's compose file and name, with the image variables loaded.
compose() {
  load_images_env
  # shellcheck disable=SC2046
  $(compose_cmd) -p "$COMPOSE_PROJECT" -f "$COMPOSE_FILE" "$@"
}
