#!/usr/bin/env bash
# The README's `npm start`, checked end to end (for CI, after scripts/ci-prepare.sh): brings the
# kit up exactly as a participant does, then checks what they would use, then `npm run down`.
#   page through nginx, a Socket.IO handshake through nginx, REST through nginx to the users
#   service, and a gRPC health check on the target `npm start` printed.
# Prints one line per check; exits non-zero on the first failure (after stopping the kit).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
trap 'npm run --silent down >/dev/null 2>&1 || true' EXIT

out=$(npm start 2>&1) || { printf '%s\n' "$out" >&2; fail "npm start failed"; }
ok "npm start: $(grep -o 'Ready in [0-9]* s' <<<"$out")"
base="http://127.0.0.1:${NGINX_PORT:-8080}"

curl -fsS "$base/" | grep -qi "<html" || fail "the web client is not served at $base/"
ok "web client at $base/"
curl -fsS "$base/socket.io/?EIO=4&transport=polling" | grep -q '"sid"' || fail "no Socket.IO handshake through nginx"
ok "Socket.IO handshake through nginx"
email="smoke-$RANDOM@example.com"
curl -fsS -X POST -H 'content-type: application/json' -d "{\"name\":\"Smoke\",\"email\":\"$email\"}" "$base/api/users" |
  grep -q "$email" || fail "POST /api/users did not reach the user service"
ok "REST through nginx to the user service"
target=$(grep -oE '(127\.0\.0\.1|localhost):[0-9]+(,127\.0\.0\.1:[0-9]+)*' <<<"$(grep -E 'gRPC' <<<"$out")" | head -1)
[[ -n $target ]] || fail "npm start printed no gRPC target"
npm run --silent grpc -- --target "$target" health >/dev/null || fail "gRPC health check on $target failed"
ok "gRPC health on $target"
