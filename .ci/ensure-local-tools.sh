#!/usr/bin/env bash
# The tests and the local stack need, besides Node: moto server (local AWS), and for the
# real-client tests the AWS CLI and boto3. The project's machines have them; elsewhere this
# installs them into the user's Python with pip.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || { echo "python3 is required (for moto, the local AWS emulator)" >&2; exit 1; }
missing=()
"$PYTHON" -c "import moto.server" 2>/dev/null || missing+=("moto[server]")
"$PYTHON" -c "import boto3" 2>/dev/null || missing+=("boto3")
command -v aws >/dev/null || missing+=("awscli")
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} with pip ..."
  "$PYTHON" -m pip install --user "${missing[@]}"
fi

# Redis, for the tests of rate limits shared by replicas (REDIS_URL). The project's machines run one
# on 127.0.0.1:6379; start or install one where it is missing.
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if ! command -v redis-server >/dev/null; then
    echo "Installing redis-server ..."
    (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done
fi
