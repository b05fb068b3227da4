#!/usr/bin/env bash
# The nginx container's command (compose service `nginx`; the file is mounted, no image change):
#   1. picks the chat's balancing mode from CHAT_LB (ip_hash, hash or cookie; default ip_hash) and
#      refuses anything else by name;
#   2. for ip_hash and hash, writes the `chat` replicas' addresses, sorted, as `server` lines
#      (chat-replicas.conf), starts nginx, and rewrites them + reloads nginx whenever Docker's DNS
#      answers differently, so `--scale chat=N` is followed within seconds.
# Why addresses and not `server chat:3000`: nginx 1.22 resolves an upstream's names once, at
# start, and a name with several addresses gives every peer the same name, which
# `hash ... consistent` uses for its ring points (all peers on one point: one replica gets all).
# Sorted, so a reload with the same replicas maps every client as before.
# cookie mode needs none of this: it resolves `chat` per request (resolver, valid=5s).
set -euo pipefail

mode=${CHAT_LB:-ip_hash}
case $mode in
  ip_hash | hash | cookie) ;;
  *) echo "CHAT_LB=$mode: expected ip_hash, hash or cookie" >&2; exit 64 ;;
esac
src=$(dirname "$(readlink -f "$0")")
conf=${NGINX_RUN_DIR:-/tmp/clusterkit-nginx}
chat_host=${CHAT_HOST:-chat}
chat_port=${CHAT_PORT:-3000}
mkdir -p "$conf"
cp "$src/nginx.conf" "$conf/nginx.conf"
cp "$src/chat-lb/$mode.conf" "$conf/chat-lb.conf"

replicas() { getent ahostsv4 "$chat_host" | awk '{print $1}' | sort -u -t. -k1,1n -k2,2n -k3,3n -k4,4n | paste -sd' ' - || true; }
write_replicas() {
  local line=""
  for address in $1; do line+="server $address:$chat_port;"$'\n'; done
  printf '%s' "$line" >"$conf/chat-replicas.conf.tmp"
  mv "$conf/chat-replicas.conf.tmp" "$conf/chat-replicas.conf"
}

current=""
if [[ $mode != cookie ]]; then
  # compose starts nginx once chat is healthy, but a restart of nginx alone may find none yet.
  until current=$(replicas) && [[ -n $current ]]; do echo "waiting for $chat_host to resolve" >&2; sleep 1; done
  write_replicas "$current"
  echo "CHAT_LB=$mode over: $current" >&2
else
  echo "CHAT_LB=cookie (replicas resolved per request)" >&2
fi

nginx -c "$conf/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
# PID 1 gets compose's stop signal (SIGQUIT: graceful); pass it on and wait for nginx to finish.
trap 'kill -QUIT $nginx_pid 2>/dev/null || true' QUIT
trap 'kill -TERM $nginx_pid 2>/dev/null || true' TERM INT

if [[ $mode != cookie ]]; then
  (
    while sleep "${CHAT_WATCH_INTERVAL:-2}"; do
      next=$(replicas)
      # No answer at all (DNS hiccup, every replica down): keep the last list rather than none.
      [[ -z $next || $next == "$current" ]] && continue
      echo "chat replicas changed: $current -> $next; reloading nginx" >&2
      write_replicas "$next"
      nginx -c "$conf/nginx.conf" -s reload && current=$next
    done
  ) &
  watcher=$!
fi

# `wait` also returns when a trapped signal arrives; wait again until nginx itself has exited.
while :; do
  wait "$nginx_pid" && status=0 || status=$?
  kill -0 "$nginx_pid" 2>/dev/null || break
done
[[ -n ${watcher:-} ]] && kill "$watcher" 2>/dev/null
exit "$status"
