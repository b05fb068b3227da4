#!/usr/bin/env bash
# Installs Docker Compose v2 as a docker CLI plugin (`docker compose`) on Debian bookworm, so CI
# runs the kit with both compose versions participants have: v2 (Docker Desktop, Docker's own
# packages) and 1.29 (Debian bookworm's `docker-compose`, which `npm start` installs here).
# Bookworm has no v2; Debian trixie's `docker-compose` package is v2, a Go program that needs
# only libc >= 2.34 (bookworm has 2.36). It is fetched and checked the way apt would: the signed
# InRelease (Debian's archive keyring) -> Packages.xz hash -> .deb hash. Only the plugin binary
# is unpacked, to /usr/local/lib/docker/cli-plugins: Debian's docker-compose 1.29 stays as it is.
set -euo pipefail
if docker compose version >/dev/null 2>&1; then
  echo "docker compose is already installed: $(docker compose version --short)"
  exit 0
fi
# The Debian mirror apt already uses (DEBIAN_MIRROR overrides): the first main archive URI of its sources.
apt_mirror() {
  { grep -hoE '^URIs:[[:space:]]+[^[:space:]]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hoE '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+' /etc/apt/sources.list 2>/dev/null | awk '{print $NF}'
  } | grep -v -- '-security' | head -1
}
mirror=${DEBIAN_MIRROR:-$(apt_mirror)}
[[ -n $mirror ]] || { echo "install-compose-v2: no Debian mirror in apt's sources (set DEBIAN_MIRROR)" >&2; exit 1; }
suite=trixie
arch=$(dpkg --print-architecture)
dest=/usr/local/lib/docker/cli-plugins
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

curl -fsS "$mirror/dists/$suite/InRelease" -o InRelease
gpgv --quiet --keyring /usr/share/keyrings/debian-archive-keyring.gpg --output Release InRelease 2>/dev/null ||
  { echo "install-compose-v2: $suite's InRelease is not signed by Debian's archive key" >&2; exit 1; }
index="main/binary-$arch/Packages.xz"
index_sum=$(awk -v f="$index" '/^SHA256:/ {s=1; next} /^[^ ]/ {s=0} s && $3 == f {print $1}' Release)
[[ -n $index_sum ]] || { echo "install-compose-v2: $index is not listed in $suite's Release" >&2; exit 1; }
curl -fsS "$mirror/dists/$suite/$index" -o Packages.xz
echo "$index_sum  Packages.xz" | sha256sum --quiet -c -

xz -d Packages.xz
entry=$(awk '/^Package: docker-compose$/ {p=1} p && /^$/ {exit} p' Packages)
file=$(awk '/^Filename:/ {print $2}' <<<"$entry")
sum=$(awk '/^SHA256:/ {print $2}' <<<"$entry")
version=$(awk '/^Version:/ {print $2}' <<<"$entry")
[[ -n $file && -n $sum ]] || { echo "install-compose-v2: no docker-compose in $suite" >&2; exit 1; }
curl -fsS "$mirror/$file" -o compose.deb
echo "$sum  compose.deb" | sha256sum --quiet -c -

dpkg-deb -x compose.deb root
plugin=$(find root -type f -name docker-compose -path '*cli-plugins*' | head -1)
[[ -n $plugin ]] || plugin=$(find root -type f -name docker-compose | head -1)
[[ -n $plugin ]] || { echo "install-compose-v2: no docker-compose binary in $file" >&2; exit 1; }
install -D -m 0755 "$plugin" "$dest/docker-compose"
echo "docker compose $(docker compose version --short) installed from Debian $suite's docker-compose $version"
