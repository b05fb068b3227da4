#!/usr/bin/env bash
# `npm start -- --check` runs this once the kit is healthy: what a participant would use first,
# checked from the host, one line each; exits non-zero on the first failure.
#   the page and a Socket.IO handshake through nginx, REST through nginx to the users service,
#   and a gRPC health check and a read through the front door npm start printed.
# Env: NGINX_PORT (8080), GRPC_TARGET (the target npm start printed).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
base="http://127.0.0.1:${NGINX_PORT:-8080}"
target=${GRPC_TARGET:?GRPC_TARGET: the gRPC target to check}

curl -fsS "$base/" | grep -qi "<html" || fail "the web client is not served at $base/"
ok "web client at $base/"
curl -fsS "$base/socket.io/?EIO=4&transport=polling" | grep -q '"sid"' || fail "no Socket.IO handshake through nginx"
ok "Socket.IO handshake through nginx"
# 201 when anyone may write, 401 when writes need a login (CHAT_AUTH_SECRET): either way the route
# answered; a 5xx means the chat could not reach the users service.
email="check-$RANDOM@example.com"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d "{\"name\":\"Check\",\"email\":\"$email\"}" "$base/api/users")
[[ $code == 201 || $code == 401 ]] || fail "POST /api/users answered $code (want 201, or 401 when writes need a login)"
ok "REST through nginx to the user service ($code)"
npm run --silent grpc -- --target "$target" health >/dev/null || fail "gRPC health check on $target failed"
npm run --silent grpc -- --target "$target" list >/dev/null || fail "gRPC ListUsers on $target failed"
ok "gRPC health and ListUsers on $target"
