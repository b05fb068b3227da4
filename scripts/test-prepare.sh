#!/usr/bin/env bash
# Runs before `npm test` (and, with --browser, before `npm run e2e`): makes sure what the tests
# spawn is on this machine, so a fresh clone needs nothing but `npm start` and `npm test`.
#   npm dependencies (npm ci when node_modules is missing or older than the lockfile)
#   redis-server and nginx (Debian packages; the tests start their own on free loopback ports)
#   --browser: chromium too (Debian's; Playwright drives it, no browser download)
# As root on Debian it installs what is missing with apt-get and says so on one line; elsewhere it
# names what to install and stops. The Docker engine and images for the containers project come
# from `npm start` (without an engine that project is skipped, or fails when CI=true).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ensure_node_modules

wanted=(redis-server:redis-server nginx:nginx)
[[ ${1:-} == --browser ]] && wanted+=(chromium:chromium)
missing=()
for pair in "${wanted[@]}"; do
  bin=${pair%%:*}
  command -v "$bin" >/dev/null || [[ -x /usr/sbin/$bin ]] || missing+=("${pair#*:}")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  is_debian_root || fail "the tests need: ${missing[*]}. Install them (e.g. 'sudo apt-get install ${missing[*]}') and run again."
  apt_install "${missing[@]}"
  # Debian starts the packaged services; the tests start their own, so keep the ports free.
  for service in nginx redis-server; do
    if [[ " ${missing[*]} " == *" $service "* ]]; then
      systemctl disable --now "$service" >/dev/null 2>&1 || service "$service" stop >/dev/null 2>&1 || true
    fi
  done
fi
