#!/usr/bin/env bash
# The tests and the local stack need, besides Node: moto server (local AWS), and for the
# real-client tests the AWS CLI, boto3, rclone and s3cmd. The project's machines have them; elsewhere this
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

# rclone and s3cmd, tools written elsewhere that the helper's tests drive, and Chromium for the
# browser tests (driven by playwright-core, which downloads no browser of its own): Debian's packages.
tools=()
command -v rclone >/dev/null || tools+=(rclone)
command -v s3cmd >/dev/null || tools+=(s3cmd)
[ -x /usr/bin/chromium ] || tools+=(chromium)
if [ ${#tools[@]} -gt 0 ]; then
  echo "Installing ${tools[*]} ..."
  (apt-get update -qq && apt-get install -y -qq "${tools[@]}") >/dev/null
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

# PostgreSQL, for the PostgreSQL store's tests and the multi-replica tests: the project's machines
# run one on 127.0.0.1:5432 (trust auth); start or install one where it is missing, and create the
# test database.
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "Installing PostgreSQL ..."
    (apt-get update -qq && apt-get install -y -qq postgresql) >/dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && break; sleep 0.1; done
fi
PSQL=(psql -h 127.0.0.1 -U postgres -d postgres -tAq)
if ! "${PSQL[@]}" -c "SELECT 1" >/dev/null 2>&1; then
  # A fresh Debian cluster only lets the postgres OS user in: allow local TCP connections without a password (test machine only).
  hba=$(su postgres -c "psql -tAc 'SHOW hba_file'")
  sed -i 's/^\(host\s\+all\s\+all\s\+127.0.0.1\/32\s\+\)\S\+/\1trust/' "$hba"
  su postgres -c "psql -tAc 'SELECT pg_reload_conf()'" >/dev/null
fi
"${PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'broker_test'" | grep -q 1 || "${PSQL[@]}" -c "CREATE DATABASE broker_test"
